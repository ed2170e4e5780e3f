"""Command line: ``memo build``, ``memo schema``. Exit 0 on success, 1 on bad input, 2 on a usage error.

Heavy libraries are imported inside the commands so that ``memo --help`` starts fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from memo import __version__
from memo.errors import MemoError

if TYPE_CHECKING:
    from memo.converter import Converter


def _assignment(text: str) -> str:
    key, sep, _ = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="memo",
        description="Turn one assumptions file into a published investment memo, with every figure traceable.",
    )
    parser.add_argument("--version", action="version", version=f"memo {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    build = commands.add_parser("build", help="validate the assumptions, compute the figures, write the outputs")
    build.add_argument("--assumptions", default="assumptions.yaml", metavar="PATH", help="default: %(default)s")
    build.add_argument("--out", default="build", metavar="DIR", help="output directory (default: %(default)s)")
    build.add_argument(
        "--set",
        action="append",
        type=_assignment,
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override one input for this build, e.g. --set users.conversion_rate=0.06 (repeatable)",
    )
    build.add_argument("--scenario", metavar="NAME", help="build the memo for a named scenario of the assumptions")
    build.add_argument(
        "--base-url", metavar="URL", help="where the site will be served, for the absolute URLs of feeds and cards"
    )
    build.add_argument("--no-cache", action="store_true", help="bypass .memo-cache/ and rebuild every stage")
    build.add_argument("--timings", action="store_true", help="print when each stage finished")
    build.add_argument(
        "--project", metavar="DIR", help="where templates/, charts/ and styles/ are (default: memo's own)"
    )
    build.add_argument(
        "--allow-failing-claims",
        action="store_true",
        help="warn about claims that no longer hold and mark their sentences, instead of failing",
    )
    build.set_defaults(run=_run_build)

    check = commands.add_parser("check", help="validate the assumptions and evaluate the claims, without rendering")
    check.add_argument("--assumptions", default="assumptions.yaml", metavar="PATH", help="default: %(default)s")
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
            "Exit status: 0 no differences, 1 differences, 2 trouble."
        ),
    )
    diff.add_argument("sides", nargs="*", metavar="OLD NEW", help="build directories, assumptions files or PDFs")
    diff.add_argument("--rev", action="append", default=[], metavar="REV", help="a git revision (repeatable)")
    diff.add_argument("--out", default="build/diff", metavar="DIR", help="review page folder (default: %(default)s)")
    diff.set_defaults(run=_run_diff)

    publish = commands.add_parser("publish", help="add the current build to a site kept across publishes")
    publish.add_argument("--site", default="public", metavar="DIR", help="the published site (default: %(default)s)")
    publish.add_argument("--label", metavar="LABEL", help="the version's name in its URL (default: the as-of date)")
    publish.add_argument("--build", default="build", metavar="DIR", help="the build to publish (default: %(default)s)")
    publish.add_argument("--base-url", metavar="URL", help="where the site is served, for feed and sitemap URLs")
    publish.set_defaults(run=_run_publish)

    serve = commands.add_parser("serve", help="build, serve on 127.0.0.1, rebuild and reload on every change")
    serve.add_argument("--assumptions", default="assumptions.yaml", metavar="PATH", help="default: %(default)s")
    serve.add_argument("--out", default="build", metavar="DIR", help="output directory (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="default: %(default)s (0 picks a free port)")
    serve.set_defaults(run=_run_serve)

    reference = commands.add_parser("schema", help="print the assumptions file reference (Markdown)")
    reference.set_defaults(run=_run_schema)
    return parser


def _run_build(args: argparse.Namespace) -> int:
    from memo.converter import Worker

    with Worker.start() as converter:  # first, so that vl-convert warms up while the build imports and computes
        return _build_with(args, converter)


def _build_with(args: argparse.Namespace, converter: Converter) -> int:
    from memo.build import Project, build

    result = build(
        Path(args.assumptions),
        Path(args.out),
        args.overrides,
        display_name=args.assumptions,
        scenario=args.scenario,
        allow_failing_claims=args.allow_failing_claims,
        base_url=args.base_url,
        use_cache=not args.no_cache,
        project=Project(Path(args.project).resolve()) if args.project else None,
        on_stage=_print_timing if args.timings else None,
        converter=converter,
    )
    if result.up_to_date:
        print(f"memo: {result.out_dir} is up to date")
        return 0
    for claim in result.analysis.claims if result.analysis else []:
        if not claim.holds:
            print(f"{claim.diagnostic()}".replace(": error: ", ": warning: ", 1), file=sys.stderr)
    differing = [c for c in result.checks if not c.holds]
    print(
        f"memo: {len(result.figures)} figures computed; "
        f"{len(result.checks) - len(differing)} of {len(result.checks)} source statements agree with the model"
    )
    for check in differing:
        print(f"memo: note: the source's figure for {check.figure} differs from the model ({check.where})")
    for relative in sorted(result.changed):
        print(f"memo: wrote {result.out_dir / relative}")
    if not result.changed:
        print(f"memo: {result.out_dir} is up to date")
    return 0


def _print_timing(stage: str, seconds: float) -> None:
    print(f"memo: timing: {stage} done at {seconds:.3f} s", file=sys.stderr, flush=True)


def _run_diff(args: argparse.Namespace) -> int:
    from memo import review

    sides = [(rev, "rev") for rev in args.rev] + [(path, "path") for path in args.sides]
    if len(args.rev) == 1 and not args.sides:
        sides.append(("working tree", "worktree"))
    if len(sides) != 2:
        raise MemoError(
            "usage: memo diff OLD NEW | --rev REV [NEW] | --rev OLD --rev NEW: name exactly two sides", exit_status=2
        )
    out_dir = Path(args.out)
    try:
        changes = review.run(sides, out_dir)
    except MemoError as exc:
        raise MemoError(str(exc), exit_status=2) from None
    sys.stdout.write(review.summary(changes, out_dir if changes.any else None))
    return 1 if changes.any else 0


def _run_check(args: argparse.Namespace) -> int:
    from memo.build import check
    from memo.claims import enforce, unfalsifiable

    result = check(Path(args.assumptions), args.overrides, display_name=args.assumptions, scenario=args.scenario)
    enforce(result.claims, allow_failing=False)
    for claim in unfalsifiable(result.assumptions):
        print(
            f"{claim.file}:{claim.line}:{claim.column}: warning: claims.{claim.id}: held for every input tried; "
            "a claim that cannot fail guards nothing",
            file=sys.stderr,
        )
    differing = sum(1 for c in result.checks if not c.holds)
    print(
        f"memo: {args.assumptions} is valid; {len(result.figures)} figures; "
        f"{len(result.claims)} claims hold; {differing} source statements differ from the model"
    )
    return 0


def _run_publish(args: argparse.Namespace) -> int:
    from memo.publish import publish

    result = publish(Path(args.build), Path(args.site), args.label, args.base_url)
    print(f"memo: {result.reason}")
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    from memo.build import Project, build
    from memo.serve import State, serve

    project = Project()
    out = Path(args.out)

    def rebuild(state: State) -> None:
        build(Path(args.assumptions), out, display_name=args.assumptions, project=project, on_html=state.show_early)

    watched = [Path(args.assumptions), *project.source_roots]
    serve(rebuild, out / "site", watched, args.port, ready=lambda line: print(line, flush=True))
    return 0


def _run_schema(args: argparse.Namespace) -> int:
    from memo.reference import markdown

    sys.stdout.write(markdown())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except MemoError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("memo: interrupted; the previous build's outputs are unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
