"""The build orchestrator: load -> validate -> compute -> charts -> render -> pdf -> write.

Everything is gathered in memory first; only a build that succeeded end to end touches the output directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from memo import charts as charts_stage
from memo import figures as figures_json
from memo import fonts, load, model, outputs, pdf, render, validate
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
    project: Project | None = None,
) -> BuildResult:
    project = project or Project()
    inputs = read_inputs(assumptions_path, overrides, display_name)
    assumptions = inputs.assumptions
    figures, checks = compute(assumptions)
    content = render.load_content(project.templates)
    charts = charts_stage.build_all(project.charts, figures, assumptions.inputs, content)
    document = render.Document(
        assumptions, figures, checks, charts, content, css=project.stylesheet.read_text(encoding="utf-8")
    )
    html = render.render_html(project.templates, document)
    pdf_bytes = pdf.write_pdf(html, out_dir=out_dir, project_dir=project.root, as_of=assumptions.memo.as_of)
    data = figures_json.payload(assumptions, figures, checks, inputs.document.data, figures_json.library_versions())
    data["charts"] = {
        name: {
            "title": chart.title,
            "number": document.chart_numbers[name],
            "figures": list(chart.reads),
            "content": [f"templates/content/{key}.yaml" for key in chart.content_reads],
        }
        for name, chart in sorted(charts.items(), key=lambda item: document.chart_numbers[item[0]])
    }
    files = {
        "figures.json": figures_json.dumps(data),
        "memo.html": html.encode("utf-8"),
        "memo.pdf": pdf_bytes,
        **{f"charts/{name}.vl.json": chart.spec_json for name, chart in charts.items()},
        **{f"charts/{name}.svg": chart.svg.encode("utf-8") for name, chart in charts.items()},
        **{f"fonts/{font.name}": font.path.read_bytes() for font in fonts.font_files()},
        **{f"fonts/{name}": text for name, text in fonts.licenses().items()},
    }
    changed = outputs.write_outputs(out_dir, files)
    return BuildResult(out_dir, figures, checks, changed)
