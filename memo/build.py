"""The build orchestrator: load -> validate -> compute -> analyse -> charts -> render -> pdf -> site -> write.

Each step is a call into its stage; everything is gathered in memory first, and only a build that succeeded end to
end touches the output directory.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from memo import charts as charts_stage
from memo import claims as claims_stage
from memo import figures as figures_json
from memo import fonts, model, outdir, outputs, pdf, pdfworker, quick, render, site, stamp, validate
from memo.analysis import Analysis, analyse, compute
from memo.cache import Cache, code_digest
from memo.cache import key as cache_key
from memo.converter import Converter
from memo.inputs import Inputs, assumptions_source, read_inputs, with_scenario
from memo.options import BuildOptions
from memo.pdfworker import PdfWorker
from memo.project import Project

STAMP = stamp.STAMP
STAGES = ("load and validate", "compute", "charts", "html", "pdf", "site", "write")  # in the order they run


def cache_dir() -> Path:
    return Path(os.environ.get("MEMO_CACHE_DIR", ".memo-cache"))


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
    pages: int = 0  # in the PDF
    charts: int = 0
    files: int = 0  # the build's files, written or found unchanged
    warnings: tuple[str, ...] = ()  # one line each, for the user (memo: warning: ...)


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
class RenderedMemo:
    """A build up to its HTML: the inputs, every figure and analysis, the charts and the rendered pages."""

    project: Project
    inputs: Inputs
    assumptions: validate.Assumptions  # the inputs this memo is built on (with --set and --scenario applied)
    figures: dict[str, model.Figure]
    checks: list[model.Check]
    analysis: Analysis
    charts: dict[str, charts_stage.Chart]
    document: render.Document
    html: str

    @cached_property
    def index_html(self) -> str:
        """The site's landing page, rendered when first asked for: a build asks once the PDF is under way."""
        return render.render_html(self.project.templates, self.document, template="site/index.html.j2", page="")


def render_memo(
    options: BuildOptions,
    store: Cache | None = None,
    converter: Converter | None = None,
    timings: Timings | None = None,
) -> RenderedMemo:
    """load -> validate -> compute -> analyse -> charts -> render: everything a reader sees, before the PDF."""
    project, timings = options.project, timings or Timings()
    fmt_units(project)
    inputs = read_inputs(options.assumptions, project.model, options.overrides, options.display_name)
    assumptions = with_scenario(inputs.assumptions, options.scenario)
    css = _stylesheet(project)
    timings.mark("load and validate")
    figures, checks = compute(assumptions, inputs.as_filed)
    analysis = analyse(assumptions, figures, inputs.assumptions, project.settings.tornado)
    claims_stage.enforce(analysis.claims, options.allow_failing_claims)
    timings.mark("compute")
    all_figures = {**figures, **analysis.extra_figures}
    all_inputs = {**assumptions.inputs, **analysis.extra_inputs}
    content = render.load_content(project.templates)
    compiling = render.compile_meanwhile(project.templates)
    charts = charts_stage.build_all(
        project.charts, all_figures, all_inputs, content, analysis, store, converter, project
    )
    timings.mark("charts")
    compiling.join()
    document = render.Document(
        assumptions,
        all_figures,
        checks,
        charts,
        content,
        css=css,
        inputs=all_inputs,
        analysis=analysis,
        scenario=options.scenario,
        base_url=options.base_url,
        filed=inputs.as_filed.inputs,
    )
    html = render.render_html(project.templates, document, cache=store)
    timings.mark("html")
    return RenderedMemo(project, inputs, assumptions, figures, checks, analysis, charts, document, html)


def build(
    options: BuildOptions,
    on_html: Callable[[dict[str, bytes]], None] | None = None,
    on_stage: Callable[[str, float], None] | None = None,
    converter: Converter | None = None,
    renderer: PdfWorker | None = None,
) -> BuildResult:
    """Build everything, or nothing: outputs are switched in whole at the end (:mod:`memo.outputs`), into a
    folder checked before any work and locked against a second build into it (:mod:`memo.outdir`). ``on_html`` receives the site's
    HTML pages as soon as they are rendered (before the PDF), for the live preview to show them at once;
    ``on_stage`` hears the end of each stage (name, seconds since the build started) as it happens. vl-convert
    runs in this process unless a ``converter`` (a worker process, as ``memo build`` starts one) is given, and
    WeasyPrint unless a ``renderer`` is (:mod:`memo.pdfworker`)."""
    out = outdir.build_folder(options)
    with outdir.locked(out):
        outputs.clean_leftovers(out)  # of a killed build, even when this one finds nothing to do
        return _build(options, out, on_html, on_stage, converter, renderer)


def _build(
    options: BuildOptions,
    out: Path,
    on_html: Callable[[dict[str, bytes]], None] | None,
    on_stage: Callable[[str, float], None] | None,
    converter: Converter | None,
    renderer: PdfWorker | None,
) -> BuildResult:
    store = Cache(cache_dir() if options.use_cache else None)
    build_key = options.cache_key()
    if options.use_cache and stamp.up_to_date(out, build_key):
        return BuildResult(options.out_dir, {}, [], [], None, up_to_date=True, warnings=site.warnings(options.base_url))
    timings = Timings(on_stage)
    if renderer is None:
        pdf.start_renderer()  # WeasyPrint is imported in a thread while the charts are drawn in another process
    memo = render_memo(options, store, converter, timings)
    bundle = site.start_vega_bundle(store, converter)  # in another process, while the PDF renders
    if on_html is not None:
        on_html({"memo.html": memo.html.encode("utf-8"), "index.html": memo.index_html.encode("utf-8")})
    pdf_bytes = _marked(_start_pdf(memo, options, store, renderer), timings, "pdf")  # waits for the PDF
    pdf.page_counter()  # loaded while the PDF is made in the worker: the summary line counts its pages
    artefacts = site.slow_artefacts(
        memo.assumptions.memo, memo.figures, store, bundle, converter, options.scenario,
        options.project.settings, options.project.assets,
    )  # fmt: skip
    rebuild_from = assumptions_source(options.assumptions, memo.inputs.document, options.overrides)
    files = outputs.files_of(memo, figures_json.of_build(memo), pdf_bytes, artefacts, rebuild_from)
    files[STAMP] = stamp.record(build_key, files, _quick_record(options))
    timings.mark("site")
    changed = [c for c in outputs.switch_whole(out, files, "build") if c != STAMP]
    timings.mark("write")
    return BuildResult(
        options.out_dir, memo.figures, memo.checks, changed, memo.analysis, cache=store, timings=timings.stages,
        pages=pdf.page_count(files["memo.pdf"]), charts=len(memo.charts), files=len(files) - 1,
        warnings=site.warnings(options.base_url),
    )  # fmt: skip


def _quick_record(options: BuildOptions) -> dict[str, object] | None:
    """What :mod:`memo.quick` re-reads to say "up to date" before the engine is imported: what the build key was
    made of (:meth:`BuildOptions.cache_key`) that can change on disk."""
    from importlib import metadata

    from memo.cache import engine_files

    if options.request is None:
        return None
    project = options.project
    libraries = {}
    for name in figures_json.OUTPUT_LIBRARIES:
        try:
            found = getattr(metadata.distribution(name), "_path", None)
        except metadata.PackageNotFoundError:
            found = None
        libraries[name] = str(found) if found is not None else None
    folders = [root for root in project.source_roots if root.is_dir()] + [Path(quick.__file__).parent]  # memo's
    files = [options.assumptions, *project.source_files(), *engine_files(), *(f.path for f in fonts.font_files())]
    return quick.record(options.request, files, folders, libraries, fonts.font_tools(), site.warnings(options.base_url))


def _start_pdf(
    memo: RenderedMemo, options: BuildOptions, store: Cache, renderer: PdfWorker | None
) -> Callable[[], bytes]:
    """Start the PDF; the returned function waits for it. It comes from the cache when the final HTML, the renderer,
    memo's code (which patches and drives it), the fonts and the project's files are the same; else from the
    ``renderer``'s process, or made here at once."""
    pdf_key = cache_key(memo.html, pdf.renderer_versions(), code_digest(), fonts.digest(), options.project_digest)
    arguments = {"out_dir": options.out_dir, "project_dir": options.project.root, "as_of": memo.assumptions.memo.as_of}
    making = renderer or pdfworker.InProcess()
    return store.later("pdf", pdf_key, lambda: making.submit(memo.html, store=store, **arguments))


def _marked(wait: Callable[[], bytes], timings: Timings, stage: str) -> Callable[[], bytes]:
    """``wait``, with the end of ``stage`` marked when it returns."""

    def waited() -> bytes:
        body = wait()
        timings.mark(stage)
        return body

    return waited


def _stylesheet(project: Project) -> str:
    """The project's stylesheet, read like every project file: a regular file, bounded, UTF-8."""
    from memo.load import decode, read_bounded
    from memo.project import display

    name = display(project.stylesheet)
    return decode(read_bounded(project.stylesheet, name), name)


def fmt_units(project: Project) -> None:
    """Numbers print in the project's units from here on."""
    from memo import format as fmt

    fmt.use_units(project.model.units)


@dataclass(frozen=True)
class CheckResult:
    assumptions: validate.Assumptions
    figures: dict[str, model.Figure]
    checks: list[model.Check]
    claims: list[claims_stage.Result]


def check(options: BuildOptions) -> CheckResult:
    """Validate the inputs and evaluate the claims, rendering nothing (``memo check``)."""
    fmt_units(options.project)
    inputs = read_inputs(options.assumptions, options.project.model, options.overrides, options.display_name)
    assumptions = with_scenario(inputs.assumptions, options.scenario)
    figures, checks = compute(assumptions, inputs.as_filed)
    return CheckResult(assumptions, figures, checks, claims_stage.evaluate(assumptions.claims, figures))
