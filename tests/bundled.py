"""The bundled project (the repository root) as the tests use it: its model, and the build stages called with its
project, so a test can build an assumptions file kept anywhere (a copy in tmp_path) against the bundled templates."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memo import analysis, inputs, model
from memo import build as build_stage
from memo.options import BuildOptions
from memo.project import load_project

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "assumptions.yaml"
PROJECT = load_project(ROOT)
MODEL = PROJECT.model
DEFINITIONS = MODEL.figures

quantities = inputs.quantities
with_scenario = inputs.with_scenario
compute = analysis.compute


def options(assumptions: Path = BUNDLED, out: Path | None = None, overrides: Sequence[str] = (), **kw: Any):
    return BuildOptions.of(assumptions, out or ROOT / "build", PROJECT, overrides=tuple(overrides), **kw)


def build(assumptions: Path, out: Path, overrides: Sequence[str] = (), **kw: Any) -> build_stage.BuildResult:
    hooks = {k: kw.pop(k) for k in ("on_html", "on_stage", "converter") if k in kw}
    build_stage.fmt_units(PROJECT)
    return build_stage.build(options(assumptions, out, overrides, **kw), **hooks)


def render_memo(assumptions: Path, overrides: Sequence[str] = (), **kw: Any) -> build_stage.RenderedMemo:
    hooks = {k: kw.pop(k) for k in ("store", "converter", "timings") if k in kw}
    return build_stage.render_memo(options(assumptions, None, overrides, **kw), **hooks)


def check(assumptions: Path, overrides: Sequence[str] = (), **kw: Any) -> build_stage.CheckResult:
    return build_stage.check(options(assumptions, None, overrides, **kw))


def read_inputs(path: Path, overrides: Sequence[str] = (), display_name: str | None = None) -> inputs.Inputs:
    build_stage.fmt_units(PROJECT)
    return inputs.read_inputs(path, MODEL, overrides, display_name)


def analyse(assumptions, figures, base=None) -> analysis.Analysis:
    return analysis.analyse(assumptions, figures, base, PROJECT.settings.tornado)


def compute_model(quantities: dict[str, model.Quantity]) -> dict[str, model.Figure]:
    return model.compute(quantities, DEFINITIONS)


def evaluate(values, targets=None):
    return model.evaluate(values, targets, definitions=DEFINITIONS)
