"""The build orchestrator: load -> validate -> compute -> write, gathering everything before writing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from memo import figures as figures_json
from memo import load, model, outputs, validate
from memo.errors import Diagnostic, InputError, MemoError


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    figures: dict[str, model.Figure]
    checks: list[model.Check]
    changed: list[str]


@dataclass(frozen=True)
class Inputs:
    """Everything a build reads, validated."""

    document: load.Document
    assumptions: validate.Assumptions


def read_inputs(assumptions_path: Path, overrides: Sequence[str] = (), display_name: str | None = None) -> Inputs:
    document = load.load_file(assumptions_path, display_name)
    problems: list[Diagnostic] = []
    for index, assignment in enumerate(overrides, start=1):
        try:
            document.override(assignment, index)
        except InputError as exc:
            problems += exc.diagnostics
    names = [definition.name for definition in model.FIGURES]
    try:
        assumptions = validate.validate(document, figure_names=names)
    except InputError as exc:
        problems += exc.diagnostics
    if problems:
        raise InputError(problems)
    return Inputs(document, assumptions)


def quantities(assumptions: validate.Assumptions) -> dict[str, model.Quantity]:
    return {
        name: model.Quantity(item.number, item.low, item.high, item.estimate)
        for name, item in assumptions.inputs.items()
    }


def compute(assumptions: validate.Assumptions) -> tuple[dict[str, model.Figure], list[model.Check]]:
    try:
        figures = model.compute(quantities(assumptions))
    except model.ModelError as exc:
        raise MemoError(f"error: the model cannot be computed: {exc}") from None
    checks = [
        model.check_statement(
            figures[s.figure],
            tolerance=s.tolerance,
            where=s.where,
            value=s.value,
            low=s.low,
            high=s.high,
            below=s.below,
        )
        for s in assumptions.stated
    ]
    return figures, checks


def build(
    assumptions_path: Path,
    out_dir: Path,
    overrides: Sequence[str] = (),
    display_name: str | None = None,
) -> BuildResult:
    inputs = read_inputs(assumptions_path, overrides, display_name)
    figures, checks = compute(inputs.assumptions)
    data = figures_json.payload(
        inputs.assumptions, figures, checks, inputs.document.data, figures_json.library_versions()
    )
    files = {"figures.json": figures_json.dumps(data)}
    changed = outputs.write_outputs(out_dir, files)
    return BuildResult(out_dir, figures, checks, changed)
