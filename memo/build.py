"""The build orchestrator: load -> validate -> compute -> charts -> render -> pdf -> write.

Everything is gathered in memory first; only a build that succeeded end to end touches the output directory.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo import charts as charts_stage
from memo import claims as claims_stage
from memo import figures as figures_json
from memo import fonts, load, model, outputs, pdf, render, scenarios, site, validate
from memo.cache import Cache, code_digest, files_digest
from memo.cache import key as cache_key
from memo.converter import Converter
from memo.errors import Diagnostic, InputError, MemoError

PROJECT_DIR = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Project:
    """Where a memo's templates, charts and styles live."""

    root: Path = PROJECT_DIR

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def charts(self) -> Path:
        return self.root / "charts"

    @property
    def stylesheet(self) -> Path:
        return self.root / "styles" / "memo.css"

    @property
    def source_roots(self) -> tuple[Path, ...]:
        """The folders the build reads besides the assumptions (and the live preview watches)."""
        return (self.templates, self.charts, self.stylesheet.parent, self.root / "assets")

    def source_files(self) -> list[Path]:
        return sorted(
            p
            for root in self.source_roots
            if root.is_dir()
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )

    def source_digest(self) -> str:
        return files_digest(self.source_files(), self.root)


STAMP = ".memo-build.json"


def cache_dir() -> Path:
    return Path(os.environ.get("MEMO_CACHE_DIR", ".memo-cache"))


def build_key(
    assumptions_path: Path,
    overrides: Sequence[str],
    project: Project,
    project_digest: str,
    scenario: str | None,
    allow_failing_claims: bool,
    base_url: str | None,
) -> str | None:
    """Everything a build's outputs depend on: inputs, options, project files, memo's own code, library versions."""
    try:
        source = assumptions_path.read_bytes()
    except OSError:
        return None
    return cache_key(
        source,
        json.dumps([list(overrides), scenario, allow_failing_claims, base_url, str(project.root)]),
        project_digest,
        code_digest(),
        json.dumps(figures_json.library_versions(), sort_keys=True),
        fonts.digest(),
    )


def stamp(build: str | None, files: dict[str, bytes]) -> bytes:
    digests = {path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())}
    return (json.dumps({"build": build, "outputs": digests}, indent=1) + "\n").encode("utf-8")


def up_to_date(out_dir: Path, build: str | None) -> bool:
    """True when the last build here had the same key and its outputs are all still there, byte for byte."""
    if build is None:
        return False
    try:
        recorded = json.loads((out_dir / STAMP).read_text(encoding="utf-8"))
        if recorded.get("build") != build:
            return False
        for path, digest in recorded["outputs"].items():
            if hashlib.sha256((out_dir / path).read_bytes()).hexdigest() != digest:
                return False
    except (OSError, ValueError, KeyError, AttributeError):
        return False
    return True


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    figures: dict[str, model.Figure]
    checks: list[model.Check]
    changed: list[str]
    analysis: Analysis | None = None
    up_to_date: bool = False  # nothing had changed: no stage ran, no file was touched
    cache: Cache | None = None
    timings: dict[str, float] = dataclasses.field(default_factory=dict)  # seconds since the start, per stage


class Timings:
    """Seconds from the start of a build to the end of each stage, for --timings and the benchmark; ``report``
    hears of each stage as it ends."""

    def __init__(self, report: Callable[[str, float], None] | None = None) -> None:
        self.start = time.perf_counter()
        self.stages: dict[str, float] = {}
        self.report = report

    def mark(self, stage: str) -> None:
        self.stages[stage] = time.perf_counter() - self.start
        if self.report is not None:
            self.report(stage, self.stages[stage])


@dataclass(frozen=True)
class Inputs:
    """Everything a build reads, validated: the assumptions with ``--set`` applied, and the file as it stands
    (``as_filed``), whose sourced inputs are the values the source gives."""

    document: load.Document
    assumptions: validate.Assumptions
    as_filed: validate.Assumptions


def read_inputs(assumptions_path: Path, overrides: Sequence[str] = (), display_name: str | None = None) -> Inputs:
    document = load.load_file(assumptions_path, display_name)
    as_filed = copy.deepcopy(document) if overrides else document
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
    filed = assumptions if as_filed is document else validate.validate(as_filed, figure_names=names)
    return Inputs(document, assumptions, filed)


def with_scenario(assumptions: validate.Assumptions, name: str | None) -> validate.Assumptions:
    """The assumptions with a named scenario's replacements made the inputs themselves (``--scenario``)."""
    if name is None:
        return assumptions
    if name not in assumptions.scenarios:
        known = ", ".join(assumptions.scenarios) or "none defined"
        raise MemoError(f"error: unknown scenario {name!r} (scenarios: {known})")
    scenario = assumptions.scenarios[name]
    inputs = dict(assumptions.inputs)
    for key, value in scenario.overrides.items():
        note = f"Set by the {name} scenario: {scenario.rationale}"
        inputs[key] = dataclasses.replace(inputs[key], base=value, low=None, high=None, note=note)
    return dataclasses.replace(assumptions, inputs=inputs)


def scenario_inputs(assumptions: validate.Assumptions) -> dict[str, validate.Input]:
    """Each scenario's replaced inputs, named scenario.NAME.INPUT, for provenance."""
    out = {}
    for name, scenario in assumptions.scenarios.items():
        for key, value in scenario.overrides.items():
            item = assumptions.inputs[key]
            out[f"scenario.{name}.{key}"] = dataclasses.replace(
                item,
                name=f"scenario.{name}.{key}",
                base=value,
                low=None,
                high=None,
                source=None,
                note=f"{name} scenario: {scenario.rationale}",
            )
    return out


@dataclass(frozen=True)
class Analysis:
    """The model run many times in one build: scenarios, sensitivity grids, tornado, Monte Carlo, claims."""

    scenario_figures: dict[str, dict[str, model.Figure]]
    grids: dict[str, scenarios.GridResult]
    tornado: dict[str, list[scenarios.Swing]]
    simulation: scenarios.Simulation | None
    claims: list[claims_stage.Result]
    extra_figures: dict[str, model.Figure]  # scenario.* and uncertainty.*, published beside the base figures
    extra_inputs: dict[str, validate.Input]


TORNADO_TARGETS = ("valuation.ps_forward",)


def analyse(
    assumptions: validate.Assumptions, figures: dict[str, model.Figure], base: validate.Assumptions | None = None
) -> Analysis:
    """Grids, tornado and Monte Carlo around this build's inputs; every scenario from ``base`` (the inputs before
    ``--scenario``), so the scenario table is the same whichever scenario the memo is built for."""
    q = quantities(assumptions)
    per_scenario = scenarios.run_scenarios(quantities(base or assumptions), assumptions.scenarios)
    extra: dict[str, model.Figure] = {}
    for name, scenario_figures in per_scenario.items():
        extra |= scenarios.scoped_figures(name, scenario_figures, assumptions.scenarios[name].overrides)
    simulation = None
    if assumptions.uncertainty is not None:
        u = assumptions.uncertainty
        distributions = {name: item.distribution for name, item in assumptions.inputs.items()}
        simulation = scenarios.monte_carlo(q, distributions, u.figures, u.draws, u.seed)
        extra |= scenarios.percentile_figures(simulation, figures)
    return Analysis(
        scenario_figures=per_scenario,
        grids={g.name: scenarios.sweep(q, g) for g in assumptions.sensitivity},
        tornado={t: scenarios.tornado(q, t) for t in TORNADO_TARGETS},
        simulation=simulation,
        claims=claims_stage.evaluate(assumptions.claims, figures),
        extra_figures=extra,
        extra_inputs=scenario_inputs(assumptions),
    )


def quantities(assumptions: validate.Assumptions) -> dict[str, model.Quantity]:
    return {
        name: model.Quantity(item.number, item.low, item.high, item.estimate)
        for name, item in assumptions.inputs.items()
    }


def compute(
    assumptions: validate.Assumptions, as_filed: validate.Assumptions | None = None
) -> tuple[dict[str, model.Figure], list[model.Check]]:
    """The build's figures, and the source checks: each stated figure against the model run on the inputs as
    filed (so the count of the source's slips never moves with ``--set`` or ``--scenario``), with this build's
    own figure beside it."""
    figures = _model(assumptions)
    filed = figures if as_filed is None or as_filed.inputs == assumptions.inputs else _model(as_filed)
    return figures, [_check(s, filed).with_build(_check(s, figures)) for s in assumptions.stated]


def _model(assumptions: validate.Assumptions) -> dict[str, model.Figure]:
    try:
        return model.compute(quantities(assumptions))
    except model.ModelError as exc:
        raise MemoError(f"error: the model cannot be computed: {exc}") from None


def _check(statement: validate.Statement, figures: dict[str, model.Figure]) -> model.Check:
    s = statement
    return model.check_statement(
        figures[s.figure],
        tolerance=s.tolerance,
        where=s.where,
        value=s.value,
        low=s.low,
        high=s.high,
        below=s.below,
        above=s.above,
    )


@dataclass(frozen=True)
class RenderedMemo:
    """A build up to its HTML: the inputs, every figure and analysis, the charts and the rendered pages."""

    inputs: Inputs
    assumptions: validate.Assumptions  # the inputs this memo is built on (with --set and --scenario applied)
    figures: dict[str, model.Figure]
    checks: list[model.Check]
    analysis: Analysis
    charts: dict[str, charts_stage.Chart]
    document: render.Document
    html: str
    index_html: str


def render_memo(
    assumptions_path: Path,
    overrides: Sequence[str] = (),
    *,
    display_name: str | None = None,
    project: Project | None = None,
    scenario: str | None = None,
    allow_failing_claims: bool = False,
    base_url: str | None = None,
    store: Cache | None = None,
    converter: Converter | None = None,
    timings: Timings | None = None,
) -> RenderedMemo:
    """load -> validate -> compute -> analyse -> charts -> render: everything a reader sees, before the PDF."""
    project = project or Project()
    timings = timings or Timings()
    inputs = read_inputs(assumptions_path, overrides, display_name)
    assumptions = with_scenario(inputs.assumptions, scenario)
    timings.mark("load and validate")
    figures, checks = compute(assumptions, inputs.as_filed)
    analysis = analyse(assumptions, figures, base=inputs.assumptions)
    claims_stage.enforce(analysis.claims, allow_failing_claims)
    timings.mark("compute")
    all_figures = {**figures, **analysis.extra_figures}
    all_inputs = {**assumptions.inputs, **analysis.extra_inputs}
    content = render.load_content(project.templates)
    charts = charts_stage.build_all(
        project.charts, all_figures, all_inputs, content, analysis, cache=store, converter=converter
    )
    timings.mark("charts")
    document = render.Document(
        assumptions,
        all_figures,
        checks,
        charts,
        content,
        css=project.stylesheet.read_text(encoding="utf-8"),
        inputs=all_inputs,
        analysis=analysis,
        scenario=scenario,
        base_url=base_url,
        filed=inputs.as_filed.inputs,
    )
    html = render.render_html(project.templates, document, cache=store)
    index_html = render.render_html(project.templates, document, template="site/index.html.j2", page="", cache=store)
    timings.mark("html")
    return RenderedMemo(inputs, assumptions, figures, checks, analysis, charts, document, html, index_html)


def build(
    assumptions_path: Path,
    out_dir: Path,
    overrides: Sequence[str] = (),
    display_name: str | None = None,
    project: Project | None = None,
    scenario: str | None = None,
    allow_failing_claims: bool = False,
    base_url: str | None = None,
    use_cache: bool = True,
    on_html: Callable[[dict[str, bytes]], None] | None = None,
    on_stage: Callable[[str, float], None] | None = None,
    converter: Converter | None = None,
) -> BuildResult:
    """Build everything, or nothing: outputs are written together at the end. ``on_html`` receives the site's
    HTML pages as soon as they are rendered (before the PDF), for the live preview to show them at once;
    ``on_stage`` hears the end of each stage (name, seconds since the build started) as it happens. vl-convert
    runs in this process unless a ``converter`` (a worker process, as ``memo build`` starts one) is given."""
    project = project or Project()
    store = Cache(cache_dir() if use_cache else None)
    project_digest = project.source_digest()
    stamp_key = build_key(
        assumptions_path, overrides, project, project_digest, scenario, allow_failing_claims, base_url
    )
    if use_cache and up_to_date(out_dir, stamp_key):
        return BuildResult(out_dir, {}, [], [], None, up_to_date=True)
    timings = Timings(on_stage)
    memo = render_memo(
        assumptions_path,
        overrides,
        display_name=display_name,
        project=project,
        scenario=scenario,
        allow_failing_claims=allow_failing_claims,
        base_url=base_url,
        store=store,
        converter=converter,
        timings=timings,
    )
    bundle = site.start_vega_bundle(store, converter)  # in another process, while the PDF renders
    if on_html is not None:
        on_html({"memo.html": memo.html.encode("utf-8"), "index.html": memo.index_html.encode("utf-8")})
    pdf_key = cache_key(memo.html, pdf.renderer_versions(), fonts.digest(), project_digest)
    pdf_bytes = store.through(
        "pdf",
        pdf_key,
        lambda: pdf.write_pdf(memo.html, out_dir=out_dir, project_dir=project.root, as_of=memo.assumptions.memo.as_of),
    )
    timings.mark("pdf")
    artefacts = site.slow_artefacts(memo.assumptions.memo, memo.figures, store, bundle, converter, scenario)
    rebuild_from = assumptions_source(assumptions_path, memo.inputs.document, overrides)
    files = output_files(memo, figures_payload(memo), pdf_bytes, artefacts, rebuild_from)
    files[STAMP] = stamp(stamp_key, files)
    timings.mark("site")
    changed = outputs.write_outputs(out_dir, files)
    timings.mark("write")
    changed = [c for c in changed if c != STAMP]
    return BuildResult(out_dir, memo.figures, memo.checks, changed, memo.analysis, cache=store, timings=timings.stages)


def figures_payload(memo: RenderedMemo) -> dict[str, Any]:
    """The figures.json contract: every figure, input, source check, analysis and chart of this build."""
    document, charts = memo.document, memo.charts
    data = figures_json.payload(
        memo.assumptions,
        document.figures,
        memo.checks,
        memo.inputs.document.data,
        figures_json.library_versions(),
        document.inputs,
        sourced=document.sourced,
    )
    data["memo"]["scenario"] = document.scenario or "base"
    data |= figures_json.analysis_entries(memo.assumptions, memo.analysis)
    data["charts"] = {
        name: {
            "title": chart.title,
            "number": document.chart_numbers[name],
            "figures": list(chart.reads),
            "content": [f"templates/content/{key}.yaml" for key in chart.content_reads],
            "analysis": list(chart.analysis_reads),
        }
        for name, chart in sorted(charts.items(), key=lambda item: document.chart_numbers[item[0]])
    }
    return data


def output_files(
    memo: RenderedMemo, data: dict[str, Any], pdf_bytes: bytes, artefacts: dict[str, bytes], assumptions_yaml: bytes
) -> dict[str, bytes]:
    """Every file a build writes, by path in the output directory (the site under site/)."""
    figures_bytes = figures_json.dumps(data)
    chart_svgs = {name: chart.svg.encode("utf-8") for name, chart in memo.charts.items()}
    font_files = {font.name: font.path.read_bytes() for font in fonts.font_files()} | fonts.licenses()
    site_files = site.files(
        meta=memo.assumptions.memo,
        figures=memo.figures,
        memo_html=memo.html,
        index_html=memo.index_html,
        pdf_bytes=pdf_bytes,
        payload=data,
        figures_json=figures_bytes,
        chart_svgs=chart_svgs,
        font_files=font_files,
        assumptions_yaml=assumptions_yaml,
        base_url=memo.document.base_url,
        artefacts=artefacts,
        scenario=memo.document.scenario,
    )
    return {
        "figures.json": figures_bytes,
        "memo.html": memo.html.encode("utf-8"),
        "memo.pdf": pdf_bytes,
        **{f"charts/{name}.vl.json": chart.spec_json for name, chart in memo.charts.items()},
        **{f"charts/{name}.svg": svg for name, svg in chart_svgs.items()},
        **{f"fonts/{name}": data for name, data in font_files.items()},
        **{path: site_files[path] for path in site_files if path.startswith("assets/")},
        **{name: site_files[name] for name in ("favicon.svg", "social.png", "feed.xml")},
        **{f"site/{path}": data for path, data in site_files.items()},
    }


def assumptions_source(path: Path, document: load.Document, overrides: Sequence[str]) -> bytes:
    """The assumptions a reader needs to rebuild this memo: the file itself, or, when --set changed it, the file
    as changed (comments are lost in that case, the values are not)."""
    if not overrides:
        return path.read_bytes()
    import yaml

    header = "# " + path.name + " with " + ", ".join(f"--set {o}" for o in overrides) + "\n"
    return (header + yaml.safe_dump(document.data, sort_keys=False, allow_unicode=True)).encode("utf-8")


@dataclass(frozen=True)
class CheckResult:
    assumptions: validate.Assumptions
    figures: dict[str, model.Figure]
    checks: list[model.Check]
    claims: list[claims_stage.Result]


def check(
    assumptions_path: Path, overrides: Sequence[str] = (), display_name: str | None = None, scenario: str | None = None
) -> CheckResult:
    """Validate the inputs and evaluate the claims, rendering nothing (``memo check``)."""
    inputs = read_inputs(assumptions_path, overrides, display_name)
    assumptions = with_scenario(inputs.assumptions, scenario)
    figures, checks = compute(assumptions, inputs.as_filed)
    return CheckResult(assumptions, figures, checks, claims_stage.evaluate(assumptions.claims, figures))
