"""Benchmarks for memo, printed as tables of medians. Run from the project root:

    python benchmarks/run.py [--baseline REV] [--repeat N] [--no-scale] [--only compare|current]

The comparison table times a baseline commit (default e09ff21, built once in its own virtual environment under
.memo-bench/) and the current tree alternately in the same run, with ratios; the second table is the current tree
alone. Each row is the median wall time of N runs, each in a fresh process as a user would run it, unless marked
"in process". Both trees' memo package is compiled to bytecode first, as Python's own cache would have it after a
first run (this machine's shell sets PYTHONDONTWRITEBYTECODE). Targets are noted beside each row; they are figures
to watch, not tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from baseline import Comparison, Side, compile_bytecode, prepare_baseline, scaled_project, timed_until
from warm_preview import with_price

ROOT = Path(__file__).resolve().parents[1]
ASSUMPTIONS = ROOT / "assumptions.yaml"
MEMO = [sys.executable, "-m", "memo"]

FLOOR_SCRIPT = """
import json, sys
from pathlib import Path
import vl_convert, weasyprint
from memo import fonts
fonts.register_with_vl_convert()
build = Path(sys.argv[1])
for spec in sorted((build / "charts").glob("*.vl.json")):
    vl_convert.vegalite_to_svg(json.loads(spec.read_text()))
weasyprint.HTML(filename=str(build / "memo.html"), base_url=str(build) + "/").write_pdf(pdf_tags=True)
"""


def run(command: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if result.returncode not in ok:
        sys.exit(f"benchmark command failed ({result.returncode}): {' '.join(command)}\n{result.stderr}")
    return result.stdout + result.stderr


def median_of(repeat: int, once: Callable[[], float]) -> float:
    return statistics.median(once() for _ in range(repeat))


def timed(command: list[str], **kwargs: object) -> float:
    start = time.perf_counter()
    run(command, **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - start


def cold_build(project_args: list[str], work: Path, assumptions: Path = ASSUMPTIONS) -> float:
    """A build with an empty cache into a fresh output directory."""
    out, cache = Path(tempfile.mkdtemp(dir=work)), Path(tempfile.mkdtemp(dir=work))
    return timed(
        [*MEMO, "build", "--assumptions", str(assumptions), "--out", str(out), *project_args],
        env={"MEMO_CACHE_DIR": str(cache)},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per row, of which the median (default: 3)")
    parser.add_argument(
        "--baseline", default="e09ff21", metavar="REV", help="commit to compare with (default: e09ff21)"
    )
    parser.add_argument("--only", choices=("compare", "current"), help="just the comparison, or just the current tree")
    parser.add_argument("--no-scale", action="store_true", help="skip the 10x scale runs (minutes)")
    args = parser.parse_args()
    print(machine(), file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="memo-bench-") as tmp:
        work = Path(tmp)
        tables = []
        if args.only != "current":
            baseline = prepare_baseline(args.baseline, ROOT, work)
            comparison = Comparison(
                baseline, Side("current", Path(sys.executable), ROOT, work / "current"), args.repeat
            )
            comparison.run(scale=not args.no_scale)
            tables.append(comparison.table())
        if args.only != "compare":
            compile_bytecode(Path(sys.executable), ROOT)
            # the scale row is the comparison's when there is one
            tables.append(
                current_table(work / "alone", args.repeat, scale=args.only == "current" and not args.no_scale)
            )
    print(machine())
    for table in tables:
        print()
        print("\n".join(table))


def machine() -> str:
    """The machine's name for the tables' header: platform, CPU model, cores, memory, Python, load."""
    cpu = re.search(r"^model name\s*:\s*(.+)$", read("/proc/cpuinfo"), re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", read("/proc/meminfo"), re.MULTILINE)
    parts = [
        platform.platform(),
        cpu.group(1).strip() if cpu else platform.processor() or platform.machine(),
        f"{os.cpu_count()} cores",
        f"{int(memory.group(1)) / 2**20:.0f} GiB" if memory else "",
        f"{platform.python_implementation()} {platform.python_version()}",
        "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()),
    ]
    return "machine: " + ", ".join(p for p in parts if p)


def read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def current_table(work: Path, n: int, scale: bool) -> list[str]:
    """The current tree alone: the rows this benchmark has always had."""
    work.mkdir()
    rows: list[tuple[str, str, str]] = []

    def row(name: str, seconds: float, target: str) -> None:
        rows.append((name, f"{seconds:.2f} s", target))
        print(f"  {name}: {seconds:.2f} s", file=sys.stderr)

    base = work / "base"
    run([*MEMO, "build", "--out", str(base)])
    floor = median_of(n, lambda: timed([sys.executable, "-c", FLOOR_SCRIPT, str(base)]))
    row("floor: imports + vl-convert charts + WeasyPrint PDF", floor, "")
    cold = median_of(n, lambda: cold_build([], work))
    rows.append(
        (
            "memo build, cold (empty cache, fresh output)",
            f"{cold:.2f} s ({cold / floor:.2f}x floor)",
            "<= 1.2x floor",
        )
    )

    # no-op and one-input rebuilds, in a working copy with a warm cache
    project = work / "edit"
    project.mkdir()
    shutil.copy(ASSUMPTIONS, project / "assumptions.yaml")
    cache = {"MEMO_CACHE_DIR": str(work / "edit-cache")}
    build = [*MEMO, "build", "--assumptions", str(project / "assumptions.yaml"), "--out", str(project / "build")]
    run(build, env=cache)
    row("no-op rebuild (outputs untouched)", median_of(n, lambda: timed(build, env=cache)), "<= 0.5 s")
    prices = iter(range(15, 15 + n * 2))

    def one_input() -> float:
        path = project / "assumptions.yaml"
        path.write_text(with_price(path.read_text(), next(prices)))
        html_at, elapsed, _ = timed_until([*build, "--timings"], "timing: html done", ROOT, env=cache)
        html_times.append(html_at)
        return elapsed

    html_times: list[float] = []
    row("one-input rebuild (token price edited)", median_of(n, one_input), "charts/PDF only if changed")
    row("  of which: HTML ready (from process start)", statistics.median(html_times), "<= 0.5 s")
    row("  in the live preview (warm process): HTML ready", warm_html_seconds(work, n), "<= 0.5 s")
    row("memo --help start-up", median_of(n, lambda: timed([*MEMO, "--help"])), "<= 0.3 s")
    row("memo check", median_of(n, lambda: timed([*MEMO, "check"])), "well under 1 s")
    again, edited = work / "again", work / "edited"
    run([*MEMO, "build", "--out", str(again), "--no-cache"])
    run([*MEMO, "build", "--out", str(edited), "--set", "users.conversion_rate=0.06"])
    identical = [*MEMO, "diff", str(base), str(again), "--out", str(work / "d0")]
    row("memo diff, two identical builds", median_of(n, lambda: timed(identical)), "well under 1 s")
    changed = [*MEMO, "diff", str(base), str(edited), "--out", str(work / "d1")]
    row("memo diff, conversion rate edited", median_of(n, lambda: timed(changed, ok=(1,))), "< 3 s")
    row("Monte Carlo, 1,000,000 draws (in process)", monte_carlo_seconds(n), "< 0.5 s")
    if scale:
        scaled = scaled_project(ROOT, work, 10)
        big = cold_build(["--project", str(scaled)], work)
        one = cold_build(["--project", str(scaled_project(ROOT, work, 1))], work)
        rows.append(("scale: 10x sections and charts, cold", f"{big:.2f} s ({big / one:.1f}x the 1x copy)", "<= 10x"))
    width = max(len(r[0]) for r in rows)
    return [
        f"| {'current tree alone (median of ' + str(n) + ')':<{width}} | median | target |",
        f"|{'-' * (width + 2)}|---|---|",
        *(f"| {name:<{width}} | {value} | {target} |" for name, value, target in rows),
    ]


def warm_html_seconds(work: Path, repeat: int) -> float:
    """In one process, as under memo serve: edit the token price, rebuild, and time until the HTML is ready
    (memo serve shows it then, before the PDF is done)."""
    sys.path.insert(0, str(ROOT))
    from memo.build import build
    from memo.options import BuildOptions
    from memo.project import load_project

    project = load_project(ROOT)
    folder = work / "warm"
    folder.mkdir()
    path = folder / "assumptions.yaml"
    shutil.copy(ASSUMPTIONS, path)
    os.environ["MEMO_CACHE_DIR"] = str(work / "warm-cache")
    build(BuildOptions.of(path, folder / "build", project))
    times = []
    for price in range(20, 20 + repeat):
        path.write_text(with_price(path.read_text(), price))
        times.append(build(BuildOptions.of(path, folder / "build", project)).timings["html"])
    return statistics.median(times)


def monte_carlo_seconds(repeat: int) -> float:
    """The Monte Carlo alone, at a million draws, on the bundled assumptions' ranged inputs."""
    sys.path.insert(0, str(ROOT))
    from memo.inputs import quantities, read_inputs
    from memo.project import load_project
    from memo.scenarios import monte_carlo

    spec = load_project(ROOT).model
    assumptions = read_inputs(ASSUMPTIONS, spec).assumptions
    q = quantities(assumptions)
    targets = assumptions.uncertainty.figures if assumptions.uncertainty else ("valuation.ps_forward",)

    def once() -> float:
        start = time.perf_counter()
        monte_carlo(q, {}, targets, 1_000_000, 1, spec.figures)
        return time.perf_counter() - start

    return median_of(repeat, once)


if __name__ == "__main__":
    main()
