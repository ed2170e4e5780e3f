"""Benchmarks for memo, printed as one table of medians. Run from the project root:

    python benchmarks/run.py [--repeat N]

Each row is the median wall time of N runs of a command in a fresh process, as a reviewer would run it.
Targets are noted beside each row; they are figures to watch, not tests.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str], repeat: int, cwd: Path, ok: tuple[int, ...] = (0,)) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if result.returncode not in ok:
            sys.exit(f"benchmark command failed ({result.returncode}): {' '.join(command)}\n{result.stderr}")
    return statistics.median(times)


def monte_carlo_seconds(repeat: int) -> float:
    """The Monte Carlo alone, at a million draws, on the bundled assumptions' ranged inputs."""
    sys.path.insert(0, str(ROOT))
    from memo.build import quantities, read_inputs
    from memo.scenarios import monte_carlo

    assumptions = read_inputs(ROOT / "assumptions.yaml").assumptions
    q = quantities(assumptions)
    targets = assumptions.uncertainty.figures if assumptions.uncertainty else ("valuation.ps_forward",)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        monte_carlo(q, {}, targets, 1_000_000, seed=1)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    memo = [sys.executable, "-m", "memo"]
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="memo-bench-") as tmp:
        work = Path(tmp)
        base, again, edited = work / "base", work / "again", work / "edited"
        for out, extra in ((base, []), (again, []), (edited, ["--set", "users.conversion_rate=0.06"])):
            subprocess.run([*memo, "build", "--out", str(out), *extra], cwd=ROOT, check=True, capture_output=True)
        rows.append(
            (
                "memo diff, two identical builds",
                timed([*memo, "diff", str(base), str(again), "--out", str(work / "d0")], args.repeat, ROOT),
                "well under 1 s",
            )
        )
        rows.append(
            (
                "memo diff, conversion rate edited",
                timed([*memo, "diff", str(base), str(edited), "--out", str(work / "d1")], args.repeat, ROOT, ok=(1,)),
                "under 3 s",
            )
        )
        rows.append(("memo check", timed([*memo, "check"], args.repeat, ROOT), "well under 1 s"))
    rows.append(("Monte Carlo, 1,000,000 draws (in process)", monte_carlo_seconds(args.repeat), "under 0.5 s"))
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"{'benchmark':<40} {'median':>9}  target")
    for name, seconds, target in rows:
        print(f"{name:<40} {seconds:>8.2f}s  {target}")


if __name__ == "__main__":
    main()
