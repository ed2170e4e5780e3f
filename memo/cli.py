"""Command line: ``memo build``, ``check``, ``diff``, ``publish``, ``serve``, ``schema``, ``new``. Exit 0 on success,
1 on bad input, 2 on a usage error (``memo diff``: 0 no differences, 1 differences, 2 trouble).

Heavy libraries are imported inside the commands so that ``memo --help`` starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from memo import __version__
from memo.errors import MemoError

if TYPE_CHECKING:
    from collections.abc import Callable

    from memo.build import BuildResult
    from memo.converter import Converter
    from memo.options import BuildOptions
    from memo.pdfworker import PdfWorker
    from memo.progress import Reporter

PROJECT_FILE = "memo.yml"  # memo.schema.PROJECT_FILE, not imported so that --help stays fast


def _assignment(text: str) -> str:
    key, sep, _ = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return text


DEBUG_HELP = "on an unexpected error, print its traceback (for a bug report)"


def _verbosity_options(command: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    """-q and -v, accepted before the command (memo -q build) and after it (memo build -q)."""
    group = command.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", default=default, help="print errors only")
    group.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="also list every file written and each note"
    )


def _project_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    _verbosity_options(command)
    command.add_argument(
        "--project",
        metavar="DIR",
        help=f"the memo project: the folder holding {PROJECT_FILE} (default: the nearest one at or above the "
        "working directory)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="memo",
        description="Turn one assumptions file into a published investment memo, with every figure traceable.",
    )
    parser.add_argument("--version", action="version", version=f"memo {__version__}")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    _verbosity_options(parser, default=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    build = commands.add_parser("build", help="validate the assumptions, compute the figures, write the outputs")
    _project_option(build)
    build.add_argument("--assumptions", metavar="PATH", help="default: the project's (memo.yml assumptions:)")
    build.add_argument("--out", metavar="DIR", help="output directory (default: build/ in the project folder)")
    build.add_argument(
        "--set",
        action="append",
        type=_assignment,
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override one input for this build, e.g. --set group.name=0.06 (repeatable)",
    )
    build.add_argument("--scenario", metavar="NAME", help="build the memo for a named scenario of the assumptions")
    build.add_argument(
        "--base-url",
        metavar="URL",
        help="where the site will be served, for sitemap and card URLs (default: memo.yml's base_url)",
    )
    build.add_argument("--no-cache", action="store_true", help="bypass .memo-cache/ and rebuild every stage")
    build.add_argument("--timings", action="store_true", help="print when each stage finished")
    build.add_argument(
        "--allow-failing-claims",
        action="store_true",
        help="warn about claims that no longer hold and mark their sentences, instead of failing",
    )
    build.set_defaults(run=_run_build)

    check = commands.add_parser("check", help="validate the assumptions and evaluate the claims, without rendering")
    _project_option(check)
    check.add_argument("--assumptions", metavar="PATH", help="default: the project's (memo.yml assumptions:)")
    check.add_argument("--set", action="append", type=_assignment, default=[], metavar="KEY=VALUE", dest="overrides")
    check.add_argument("--scenario", metavar="NAME", help="check a named scenario")
    check.set_defaults(run=_run_check)

    diff = commands.add_parser(
        "diff",
        help="show what changed between two builds: inputs, figures, prose, charts and PDF pages",
        description=(
            "Each of OLD and NEW is a build directory, an assumptions file (built on the fly) or a PDF (two PDFs are "
            "compared page by page). --rev REV builds a git revision of the project instead; revisions come before "
            "paths, and a lone --rev is compared with the working tree (memo diff --rev HEAD). "
            "Exit status: 0 no differences, 1 differences, 2 trouble. A figure whose change does not show at the "
            "memo's display precision is listed apart and is not a difference unless --strict is given."
        ),
    )
    _project_option(diff)
    diff.add_argument("sides", nargs="*", metavar="OLD NEW", help="build directories, assumptions files or PDFs")
    diff.add_argument("--rev", action="append", default=[], metavar="REV", help="a git revision (repeatable)")
    diff.add_argument("--out", metavar="DIR", help="review page folder (default: build/diff in the project folder)")
    diff.add_argument(
        "--strict",
        action="store_true",
        help="count figures changed below display precision (2.6x -> 2.6x) as differences in the exit status",
    )
    diff.set_defaults(run=_run_diff)

    publish = commands.add_parser("publish", help="add the current build to a site kept across publishes")
    _project_option(publish)
    publish.add_argument("--site", metavar="DIR", help="the published site (default: public/ in the project folder)")
    publish.add_argument(
        "--label", metavar="LABEL", help="the version's name in its URL (default: the as-of date, then DATE-2, DATE-3)"
    )
    publish.add_argument("--build", metavar="DIR", help="the build to publish (default: build/ in the project folder)")
    publish.add_argument(
        "--base-url", metavar="URL", help="where the site is served, for its sitemap (default: memo.yml's base_url)"
    )
    publish.set_defaults(run=_run_publish)

    serve = commands.add_parser("serve", help="build, serve on 127.0.0.1, rebuild and reload on every change")
    _project_option(serve)
    serve.add_argument("--assumptions", metavar="PATH", help="default: the project's (memo.yml assumptions:)")
    serve.add_argument("--out", metavar="DIR", help="output directory (default: build/ in the project folder)")
    serve.add_argument("--port", type=int, default=8000, help="default: %(default)s (0 picks a free port)")
    serve.set_defaults(run=_run_serve)

    reference = commands.add_parser("schema", help="print a project file's reference (Markdown)")
    _project_option(reference)
    reference.add_argument(
        "file",
        nargs="?",
        choices=("assumptions", "project"),
        default="assumptions",
        help="assumptions: the project's assumptions file, its inputs and figures (default); project: the project "
        "file and the model file, for any project",
    )
    reference.set_defaults(run=_run_schema)

    new = commands.add_parser("new", help="start a new memo project: a small, complete memo that builds as it is")
    new.add_argument("dir", nargs="?", metavar="DIR", help="the folder to create (it must not exist or be empty)")
    _project_option(new)
    new.set_defaults(run=_run_new)
    return parser


def _options(args: argparse.Namespace, **settings: object) -> BuildOptions:
    """The build options the command line gives, with the project found as git and mkdocs find theirs."""
    from memo.options import BuildOptions
    from memo.project import Project, find, locate

    assumptions = Path(args.assumptions) if getattr(args, "assumptions", None) else None
    if args.project is None and assumptions is not None:  # outside any project: the one holding the assumptions
        project = Project(find(Path.cwd()) or locate(None, assumptions.parent))
    else:
        project = Project(locate(args.project))
    out = Path(args.out) if getattr(args, "out", None) else None
    return BuildOptions.of(assumptions, out, project, overrides=getattr(args, "overrides", ()), **settings)


def _run_build(args: argparse.Namespace) -> int:
    from memo import quick

    asked = quick.request(
        Path.cwd(),
        project=args.project,
        assumptions=args.assumptions,
        out=args.out,
        overrides=args.overrides,
        scenario=args.scenario,
        base_url=args.base_url,
        allow_failing_claims=args.allow_failing_claims,
    )
    if not args.no_cache and _quickly_up_to_date(args, asked):
        return 0
    from memo.converter import Worker
    from memo.outdir import build_folder
    from memo.pdfworker import PdfWorker, languages_of

    # vl-convert warms up and WeasyPrint is imported, each in a process of its own, from here on: the options are
    # read meanwhile (a third of a second of imports), and a refused project or --out stops them unused
    out = _likely_out(args)
    languages = languages_of(out / "memo.html") if out is not None else []
    with Worker.start() as converter, PdfWorker.start(languages) as renderer:
        options = _options(
            args,
            scenario=args.scenario,
            allow_failing_claims=args.allow_failing_claims,
            base_url=args.base_url,
            use_cache=not args.no_cache,
            request=asked,
        )
        build_folder(options)
        return _build_with(options, args, converter, renderer)


def _likely_out(args: argparse.Namespace) -> Path | None:
    """The output folder as found before the project is read (memo.quick's way): the stamp's folder for the quick
    check, the last build's language for the PDF worker. None when no project is found from here (an --assumptions
    file elsewhere), which the full path finds."""
    from memo import quick

    root = Path(args.project) if args.project is not None else quick.find_project(Path.cwd())
    if root is None:
        return None
    return Path(args.out) if args.out else root / "build"


def _quickly_up_to_date(args: argparse.Namespace, asked: dict[str, object]) -> bool:
    """Say "up to date" from the last build's stamp, before the engine is imported (:mod:`memo.quick`)."""
    from memo import quick
    from memo.progress import Reporter
    from memo.terminal import display

    out = _likely_out(args)
    if out is None:
        return False  # an --assumptions file outside any project: the full path finds its project
    warnings = quick.up_to_date(out, asked)
    if warnings is None:
        return False
    reporter = Reporter("memo", _verbosity(args))
    for warning in warnings:
        reporter.warning(warning)
    reporter.info(f"{display(out)} is up to date")
    return True


def _build_with(options: BuildOptions, args: argparse.Namespace, converter: Converter, renderer: PdfWorker) -> int:
    from memo.build import STAGES, build
    from memo.progress import Reporter

    reporter = Reporter("memo", _verbosity(args), STAGES)
    with reporter.running():
        result = build(options, on_stage=_stage_hearers(reporter, args.timings), converter=converter, renderer=renderer)
    _report_build(reporter, result)
    return 0


def _verbosity(args: argparse.Namespace) -> int:
    from memo.progress import NORMAL, QUIET, VERBOSE

    if args.quiet and args.verbose:
        raise MemoError("memo: -q and -v ask for opposite things: give one of them", exit_status=2)
    return QUIET if args.quiet else VERBOSE if args.verbose else NORMAL


def _stage_hearers(reporter: Reporter, timings: bool) -> Callable[[str, float], None]:
    def heard(stage: str, seconds: float) -> None:
        reporter.stage_done(stage)
        if timings:
            _print_timing(stage, seconds)

    return heard


def _report_build(reporter: Reporter, result: BuildResult) -> None:
    from memo.progress import VERBOSE, plural
    from memo.project import display

    for warning in result.warnings:
        reporter.warning(warning)
    if result.up_to_date:
        reporter.info(f"{display(result.out_dir)} is up to date")
        return
    for claim in result.analysis.claims if result.analysis else []:
        if not claim.holds:
            reporter.diagnostic(str(claim.diagnostic()).replace(": error: ", ": warning: ", 1))
    slips = [c for c in result.checks if not c.holds]
    for check in slips:
        reporter.info(f"note: the source's figure for {check.figure} differs from the model ({check.where})", VERBOSE)
    for relative in sorted(result.changed):
        reporter.wrote(display(result.out_dir / relative))
    written = f"wrote {len(result.changed)} of {plural(result.files, 'file')}" if result.changed else "no file changed"
    reporter.info(
        f"built {display(result.out_dir)} in {reporter.elapsed():.1f} s: {plural(result.pages, 'page')}, "
        f"{plural(result.charts, 'chart')}, {plural(len(result.figures), 'figure')}, "
        f"{len(slips)} of {len(result.checks)} source statements {'differs' if len(slips) == 1 else 'differ'} from the "
        f"model; {written}"
    )


def _print_timing(stage: str, seconds: float) -> None:
    print(f"memo: timing: {stage} done at {seconds:.3f} s", file=sys.stderr, flush=True)


def _run_diff(args: argparse.Namespace) -> int:
    from memo import review
    from memo.progress import NORMAL, Reporter, plural

    sides = [(rev, "rev") for rev in args.rev] + [(path, "path") for path in args.sides]
    if len(args.rev) == 1 and not args.sides:
        sides.append(("working tree", "worktree"))
    if len(sides) != 2:
        raise MemoError(
            "usage: memo diff OLD NEW | --rev REV [NEW] | --rev OLD --rev NEW: name exactly two sides", exit_status=2
        )
    root = _project_root(args, needed=False)
    out_dir = Path(args.out) if args.out else (root or Path.cwd()) / "build" / "diff"
    reporter = Reporter("memo diff", _verbosity(args), review.STAGES)  # errors alone go to stderr, in one line
    try:
        with reporter.running():
            changes, written = review.run(sides, out_dir, root, on_stage=reporter.stage_done)
    except MemoError as exc:
        raise MemoError(str(exc), exit_status=2) from None
    differs = changes.differs(args.strict)
    shown_dir = out_dir if differs or changes.hidden_figures else None
    if reporter.verbosity >= NORMAL:
        sys.stdout.write(review.summary(changes, shown_dir, strict=args.strict))
    for name in written:
        reporter.wrote(str(out_dir / name))
    pages = changes.pages
    changed_pages = f"{len(pages.changes)} of {plural(pages.new_pages, 'page')}" if pages else "no page"
    if changes.old.figures_data is not None:  # builds: figures and sentences; two PDFs alone: their words
        sentences = plural(sum(len(v) for v in changes.prose.values()), "sentence")
        what = f"{plural(len(changes.shown_figures), 'figure')}, {sentences}"
    else:
        what = plural(len(pages.words) if pages else 0, "text change")
    reporter.info(f"compared in {reporter.elapsed():.1f} s: {what} and {changed_pages} changed; wrote {out_dir}")
    return 1 if differs else 0


def _run_check(args: argparse.Namespace) -> int:
    from memo.build import check
    from memo.claims import enforce, unfalsifiable
    from memo.progress import Reporter

    reporter = Reporter("memo", _verbosity(args))
    options = _options(args, scenario=args.scenario)
    result = check(options)
    enforce(result.claims, allow_failing=False)
    for claim in unfalsifiable(result.assumptions):
        reporter.diagnostic(
            f"{claim.file}:{claim.line}:{claim.column}: warning: claims.{claim.id}: held for every input tried; "
            "a claim that cannot fail guards nothing"
        )
    differing = sum(1 for c in result.checks if not c.holds)
    reporter.info(
        f"{options.display_name} is valid; {len(result.figures)} figures; "
        f"{len(result.claims)} claims hold; {differing} source statements differ from the model"
    )
    return 0


def _project_root(args: argparse.Namespace, needed: bool) -> Path | None:
    """The project folder, when a command's defaults need one (or --project names it)."""
    from memo.project import find, locate

    if args.project is not None or needed:
        return locate(args.project)
    return find(Path.cwd())


def _run_publish(args: argparse.Namespace) -> int:
    from memo.progress import Reporter, plural
    from memo.project import display
    from memo.publish import STAGES, publish

    root = _project_root(args, needed=args.build is None or args.site is None)
    build_dir = Path(args.build) if args.build else root / "build"  # type: ignore[operator]
    site_dir = Path(args.site) if args.site else root / "public"  # type: ignore[operator]
    reporter = Reporter("memo", _verbosity(args), STAGES)
    with reporter.running():
        result = publish(build_dir, site_dir, args.label, args.base_url, on_stage=reporter.stage_done)
    for warning in result.warnings:
        reporter.warning(warning)
    for path in result.written:
        reporter.wrote(display(site_dir / path))
    if result.label is None:
        reporter.info(result.reason)
        return 0
    since = (
        f"{plural(result.figures_changed, 'figure')} changed since {result.previous}"
        if result.previous
        else "the site's first version"
    )
    reporter.info(
        f"{result.reason} in {display(site_dir)} in {reporter.elapsed():.1f} s: {since}; "
        f"wrote {plural(len(result.written), 'file')}"
    )
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    from memo.build import build
    from memo.outdir import build_folder
    from memo.serve import State, bind, serve

    server = bind(args.port)  # a bad or busy port is refused before anything is built
    options = _options(args)
    build_folder(options)  # refused before serving, not shown as a build error

    def rebuild(state: State) -> None:
        from memo.project import Project

        # the project file and the model are read again on each change, like every other project file
        build(dataclasses.replace(options, project=Project(options.project.root)), on_html=state.show_early)

    project = options.project
    watched = [options.assumptions, project.project_file, project.model_file, *project.source_roots]
    serve(rebuild, options.out_dir / "site", watched, server, ready=lambda line: print(line, flush=True))
    return 0


def _run_schema(args: argparse.Namespace) -> int:
    from memo import reference

    if args.file == "project":
        sys.stdout.write(reference.project_markdown())
        return 0
    from memo.project import Project, locate

    sys.stdout.write(reference.markdown(Project(locate(args.project))))
    return 0


def _run_new(args: argparse.Namespace) -> int:
    from memo.scaffold import create

    target = args.dir or args.project
    if target is None:
        raise MemoError("usage: memo new DIR: name the folder to create", exit_status=2)
    created = create(Path(target))
    print(f"memo: created a memo project in {created}; next: cd {target} && memo build")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command. Whatever happens, the user sees lines of text and an exit status, never a traceback
    (``--debug`` adds the traceback of an unexpected error, for a bug report)."""
    from memo.terminal import guard_streams

    streams = guard_streams()
    try:
        return _main(argv)
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
        sys.stdout, sys.stderr = streams


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    debug = getattr(args, "debug", False) or bool(os.environ.get("MEMO_DEBUG"))
    try:
        return args.run(args)
    except MemoError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("memo: interrupted; the previous build's outputs are unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:  # memo build | head: the reader left; say nothing more, like any Unix tool
        _silence_stdout()
        return 141
    except Exception as exc:  # the last line of defence: one line and the documented exit status
        if debug:
            traceback.print_exc()
        print(_unexpected(exc, args, debug), file=sys.stderr)
        return 2 if args.command == "diff" else 1


def _unexpected(exc: BaseException, args: argparse.Namespace, debug: bool) -> str:
    if isinstance(exc, MemoryError):
        return f"memo {args.command}: out of memory; the previous outputs are unchanged"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return f"memo {args.command}: {where}{exc.strerror}; the previous outputs are unchanged"
    hint = "" if debug else " (run again with --debug for the traceback, and please report it)"
    return f"memo {args.command}: unexpected error: {type(exc).__name__}: {exc}{hint}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit cannot raise BrokenPipeError again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
