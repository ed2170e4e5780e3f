"""The benchmark's comparison with a baseline commit: the commit built in its own virtual environment (cached under
``.memo-bench/``), then both trees timed alternately in the same run, each command in a fresh process as a user
runs ``memo build``, with a cache folder of its own per side."""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

WARM_PREVIEW = Path(__file__).with_name("warm_preview.py")
TIMING = re.compile(r"timing: (.+) done at ([\d.]+) s")
BASE_PRICE = 14  # token.price in both trees' assumptions.yaml; any other value is an edit


@dataclass(frozen=True)
class Side:
    """A tree of memo (engine and bundled project) and the Python that runs it."""

    name: str
    python: Path
    root: Path
    work: Path  # this side's output and cache folders during the run

    def memo(self, *args: str) -> list[str]:
        return [str(self.python), "-m", "memo", *args]

    def env(self, cache: Path | None = None) -> dict[str, str]:
        # PYTHONPATH names this tree, so a baseline process never imports the current tree's memo
        return {**os.environ, "PYTHONPATH": str(self.root), "MEMO_CACHE_DIR": str(cache or self.work / "cache")}


# ------------------------------------------------------------------ running and timing one command


def fail(command: list[str], code: int, output: str) -> None:
    sys.exit(f"benchmark command failed ({code}): {' '.join(command)}\n{output}")


def stage_times(text: str) -> dict[str, float]:
    """The --timings lines memo prints on stderr: seconds since the start at the end of each stage."""
    return {m.group(1): float(m.group(2)) for m in TIMING.finditer(text)}


def measured(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """Run ``command`` in a fresh process: wall seconds, peak resident bytes of its process tree (the largest of it
    and the processes it waited for, as wait4 reports) and its stderr (tests/conftest.py's run_measured)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    if (code := os.waitstatus_to_exitcode(status)) != 0:
        fail(command, code, text)
    return elapsed, usage.ru_maxrss * 1024, text


def timed_until(
    command: list[str], marker: str, cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, dict[str, float]]:
    """Seconds from starting ``command`` until a line containing ``marker`` appears on its stderr (memo prints
    --timings there as each stage ends; its stage lines go to stdout), until it exits, and its --timings."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    seen, lines = None, []
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        if seen is None and marker in line:
            seen = time.perf_counter() - start
    if process.wait() != 0 or seen is None:
        fail(command, process.returncode, "".join(lines))
    return seen, time.perf_counter() - start, stage_times("".join(lines))  # type: ignore[return-value]


# ------------------------------------------------------------------ the baseline's tree and virtual environment


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def prepare_baseline(rev: str, root: Path, work: Path) -> Side:
    """The commit ``rev`` as a tree with a virtual environment of its own, made once per commit and Python under
    ``.memo-bench/COMMIT/`` and reused after."""
    try:
        commit = git(root, "rev-parse", "--verify", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        sys.exit(f"benchmark: no commit {rev!r} in {root}")
    home = root / ".memo-bench" / commit[:12]
    tree, venv = home / "tree", home / "venv"
    python = venv / "bin" / "python"
    marker, made_by = home / "installed", f"{commit} {sys.version}"
    if not (marker.is_file() and marker.read_text() == made_by and python.exists()):
        print(f"  baseline {rev}: unpacking {commit[:12]} and installing it in {venv} (once) ...", file=sys.stderr)
        shutil.rmtree(home, ignore_errors=True)
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", commit], cwd=root, capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = [str(python), "-m", "pip", "install", "--quiet", str(tree)]
        result = subprocess.run(install, capture_output=True, text=True)
        if result.returncode != 0:
            fail(install, result.returncode, result.stdout + result.stderr)
        marker.write_text(made_by)
    link_sources(tree, root)
    return Side(f"baseline {rev}", python, tree, work / "baseline")


def compile_bytecode(python: Path, root: Path) -> None:
    """Both trees' memo package compiled to bytecode before any timing, as Python caches it by default after a
    tree's first run: a shell with PYTHONDONTWRITEBYTECODE set (this machine's has) would otherwise compile every
    module from source in every run, on both sides (a tenth of a second or more, larger for the larger tree)."""
    subprocess.run([str(python), "-m", "compileall", "-q", str(root / "memo")], check=True, capture_output=True)


def link_sources(copy: Path, original: Path) -> None:
    """Make the folders ``copy``'s memo.yml names by relative path (``sources: [../shared]``) resolve where they do
    for ``original``, by links beside the copy."""
    project_file = copy / "memo.yml"
    if not project_file.is_file():
        return
    for source in (yaml.safe_load(project_file.read_text()) or {}).get("sources", []):
        here, there = copy / source, (original / source).resolve()
        if not Path(source).is_absolute() and not here.exists() and there.exists():
            here.resolve().parent.mkdir(parents=True, exist_ok=True)
            here.resolve().symlink_to(there, target_is_directory=True)


# what a copy of a section names: its charts, tables, cross-references and section anchors get the copy's suffix
NAMED = re.compile(r"\b((?:chart|chart_svg|table_caption|ref)\(')([\w.:-]+)'")
ANCHOR = re.compile(r'\bid="([A-Za-z][\w-]*)"')


def renamed(template: str, k: int) -> str:
    """A section's template for its ``k``-th copy, naming that copy's charts, tables and sections."""
    template = NAMED.sub(lambda m: f"{m.group(1)}{m.group(2)}_{k}'", template)
    return ANCHOR.sub(lambda m: f'id="{m.group(1)}_{k}"', template)


def scaled_project(root: Path, work: Path, factor: int) -> Path:
    """A copy of ``root``'s project whose memo has ``factor`` times the sections and charts."""
    target = work / f"scaled-{factor}"
    for name in ("styles", "assets", "templates"):
        shutil.copytree(root / name, target / name)
    for name in ("memo.yml", "model.yaml"):
        if (root / name).is_file():
            shutil.copy(root / name, target / name)
    link_sources(target, root)
    (target / "charts").mkdir()
    charts = [p.stem for p in (root / "charts").glob("*.py") if not p.name.startswith("_")]
    sections = sorted((root / "templates" / "sections").glob("*.j2"))
    includes = []
    for k in range(factor):
        for chart in charts:
            shutil.copy(root / "charts" / f"{chart}.py", target / "charts" / f"{chart}_{k}.py")
        folder = target / "templates" / f"sections_{k}"
        folder.mkdir()
        for section in sections:
            (folder / section.name).write_text(renamed(section.read_text(), k))
            includes.append(f'{{% include "sections_{k}/{section.name}" %}}')
    memo = (target / "templates" / "memo.html.j2").read_text()
    memo = re.sub(r'(\{% include "sections/[^"]+" %\}\n)+', "\n".join(includes) + "\n", memo)
    (target / "templates" / "memo.html.j2").write_text(memo)
    index = (target / "templates" / "site" / "index.html.j2").read_text()
    (target / "templates" / "site" / "index.html.j2").write_text(
        index.replace("chart_svg('arr_bridge')", "chart_svg('arr_bridge_0')")
    )
    return target


# ------------------------------------------------------------------ the comparison


@dataclass
class Samples:
    """Every measurement of one side, by row."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, row: str, value: float) -> None:
        self.values.setdefault(row, []).append(value)

    def median(self, row: str) -> float | None:
        return statistics.median(self.values[row]) if self.values.get(row) else None


# the rows' keys, and their labels in the order of the table
COLD, COLD_HTML, COLD_PDF = "cold", "cold.html", "cold.pdf"
EDIT, EDIT_HTML, EDIT_PDF = "edit", "edit.html", "edit.pdf"
PREVIEW, NOOP, MEMORY, SCALE_1, SCALE_10 = "preview", "noop", "memory", "scale.1", "scale.10"
LABELS = {
    COLD: "cold build (--no-cache, fresh output)",
    COLD_HTML: "  of which: HTML ready (from process start)",
    COLD_PDF: "  of which: PDF stage alone (pdf done - html done)",
    EDIT: "one-input rebuild (--set token.price=..., warm cache, existing build)",
    EDIT_HTML: "  of which: HTML ready (from process start)",
    EDIT_PDF: "  of which: PDF stage alone (pdf done - html done)",
    PREVIEW: "HTML ready in the live preview (warm process, token price edited)",
    NOOP: "no-op rebuild (nothing changed)",
    MEMORY: "peak memory, cold build (process tree)",
    SCALE_1: "scale: the 1x memo, cold (empty cache, one run)",
    SCALE_10: "scale: 10x sections and charts, cold (empty cache, one run)",
}
TARGETS = {COLD: ("ratio", 0.6), EDIT: ("ratio", 0.5), NOOP: ("seconds", 0.3), MEMORY: ("mb", 1500)}


class Comparison:
    """Both sides measured alternately (baseline, current, baseline, current ...), ``repeat`` times each."""

    def __init__(self, baseline: Side, current: Side, repeat: int) -> None:
        self.sides = (baseline, current)
        self.repeat = repeat
        self.samples = {side.name: Samples() for side in self.sides}
        self.pages: dict[str, int] = {}
        # each side gets the same sequence of fresh prices, so every edit is a real one on both sides
        self.prices: dict[str, Iterator[int]] = {side.name: itertools.count(BASE_PRICE + 1) for side in self.sides}
        self.last_price: dict[str, int] = {}

    def alternately(self, measure: Callable[[Side, int], None]) -> None:
        for k in range(self.repeat):
            for side in self.sides:
                measure(side, k)

    def run(self, scale: bool) -> None:
        for side in self.sides:
            side.work.mkdir(parents=True)
            compile_bytecode(side.python, side.root)
            self.setup_edit_build(side)
        self.alternately(self.cold)
        self.alternately(self.one_input)
        self.alternately(self.noop)
        self.alternately(self.preview)
        if scale:
            for factor, row in ((1, SCALE_1), (10, SCALE_10)):
                for side in self.sides:
                    self.scale(side, factor, row)

    def log(self, side: Side, row: str, value: float, unit: str = "s") -> None:
        self.samples[side.name].add(row, value)
        print(f"  {side.name}: {LABELS[row].strip()}: {value:.2f} {unit}", file=sys.stderr)

    def cold(self, side: Side, k: int) -> None:
        out = side.work / f"cold-{k}"
        command = side.memo("build", "--no-cache", "--timings", "--out", str(out))
        elapsed, peak, stderr = measured(command, side.root, side.env(side.work / f"cold-cache-{k}"))
        stages = stage_times(stderr)
        self.log(side, COLD, elapsed)
        self.log(side, COLD_HTML, stages["html"])
        self.log(side, COLD_PDF, stages["pdf"] - stages["html"])
        self.log(side, MEMORY, peak / 1e6, "MB")
        self.pages[side.name] = pdf_pages(out / "memo.pdf")

    def edit_command(self, side: Side, price: int | None = None) -> list[str]:
        settings = ["--set", f"token.price={price}"] if price is not None else []
        return side.memo("build", "--timings", "--out", str(side.work / "edit"), *settings)

    def setup_edit_build(self, side: Side) -> None:
        """A warm cache and an existing build for the one-input and no-op rebuilds."""
        result = subprocess.run(self.edit_command(side), cwd=side.root, env=side.env(), capture_output=True, text=True)
        if result.returncode != 0:
            fail(self.edit_command(side), result.returncode, result.stderr)

    def one_input(self, side: Side, k: int) -> None:
        self.last_price[side.name] = next(self.prices[side.name])
        html_at, elapsed, stages = timed_until(
            self.edit_command(side, self.last_price[side.name]), "timing: html done", side.root, side.env()
        )
        self.log(side, EDIT, elapsed)
        self.log(side, EDIT_HTML, html_at)
        self.log(side, EDIT_PDF, stages["pdf"] - stages["html"])

    def noop(self, side: Side, k: int) -> None:
        """The last one-input rebuild's command again: nothing changed since."""
        elapsed, _, _ = measured(self.edit_command(side, self.last_price[side.name]), side.root, side.env())
        self.log(side, NOOP, elapsed)

    def preview(self, side: Side, k: int) -> None:
        """As under memo serve: a warm process rebuilds after the token price is edited; seconds until its HTML."""
        folder = side.work / f"preview-{k}"
        prices = [str(next(self.prices[side.name])) for _ in range(2)]
        command = [str(side.python), str(WARM_PREVIEW), str(side.root), str(folder), *prices]
        result = subprocess.run(command, cwd=side.root, env=side.env(), capture_output=True, text=True)
        if result.returncode != 0:
            fail(command, result.returncode, result.stderr)
        self.log(side, PREVIEW, float(result.stdout.split()[-1]))

    def scale(self, side: Side, factor: int, row: str) -> None:
        project = scaled_project(side.root, side.work, factor)
        out = side.work / f"scaled-{factor}-build"
        command = side.memo("build", "--assumptions", str(side.root / "assumptions.yaml"), "--out", str(out))
        elapsed, _, _ = measured([*command, "--project", str(project)], side.root, side.env(side.work / f"sc-{factor}"))
        self.log(side, row, elapsed)

    # -------------------------------------------------------------- the table

    def table(self) -> list[str]:
        baseline, current = (self.samples[side.name] for side in self.sides)
        names = [side.name for side in self.sides]
        rows = [f"| benchmark (median of {self.repeat}) | {names[0]} | {names[1]} | current / baseline | target |"]
        rows.append("|---|---|---|---|---|")
        for row, label in LABELS.items():
            old, new = baseline.median(row), current.median(row)
            if old is None or new is None:
                continue
            unit = " MB" if row == MEMORY else " s"
            digits = 0 if row == MEMORY else 2
            rows.append(
                f"| {label} | {old:.{digits}f}{unit} | {new:.{digits}f}{unit} | {new / old:.2f}x | {target(row, old, new)} |"
            )
        if baseline.median(SCALE_10) is not None:
            old = baseline.median(SCALE_10) / baseline.median(SCALE_1)  # type: ignore[operator]
            new = current.median(SCALE_10) / current.median(SCALE_1)  # type: ignore[operator]
            rows.append(f"| scale: 10x / 1x | {old:.1f}x | {new:.1f}x | | <= 10x: {met(new <= 10)} |")
        rows.append(f"| PDF pages | {self.pages[names[0]]} | {self.pages[names[1]]} | | report both |")
        return rows


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def target(row: str, old: float, new: float) -> str:
    kind, bound = TARGETS.get(row, ("", 0.0))
    if kind == "ratio":
        return f"<= {bound}x: {met(new / old <= bound)}"
    if kind == "seconds":
        return f"<= {bound} s: {met(new <= bound)}"
    if kind == "mb":
        return f"< 1.5 GB: {met(new < bound)}"
    return ""


def pdf_pages(path: Path) -> int:
    from memo.pdf import page_count

    return page_count(path)
