"""What the commands print: a line per stage and a summary by default, every file with -v, errors only with -q,
and a live line that redraws only on a terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pypdfium2
import pytest

from memo.build import STAGES
from memo.progress import CLEAR_LINE
from tests.conftest import ROOT, memo

STAGE_LINE = re.compile(r"memo: (.+?) +(\d+\.\d\d) s")
SUMMARY = re.compile(
    r"memo: built (\S+) in ([\d.]+) s: (\d+) pages?, (\d+) charts?, (\d+) figures?, (\d+) of (\d+) source "
    r"statements differs? from the model; (?:wrote (\d+) of (\d+) files?|no file changed)"
)


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("starter")
    assert memo("new", "memo", cwd=root, bundled=False).returncode == 0
    return root / "memo"


def _build(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return memo("build", *args, cwd=project, bundled=False)


@pytest.fixture(scope="module")
def runs(starter: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """One build per verbosity: the default into a pipe (every stage run), -v, and -q with an input edited."""
    return {
        "piped": _build(starter, "--out", "piped", "--no-cache"),
        "verbose": _build(starter, "--out", "loud", "-v"),
        "quiet": _build(starter, "--out", "hushed", "--set", "customers.seats=125000", "-q"),
    }


def test_a_line_per_stage_and_a_summary_that_matches_the_outputs(starter: Path, runs: dict) -> None:
    result = runs["piped"]
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout and "\x1b" not in result.stdout  # a pipe gets no animation
    *stages, summary = result.stdout.splitlines()
    assert [STAGE_LINE.fullmatch(line).group(1) for line in stages] == list(STAGES)  # type: ignore[union-attr]
    seconds = sum(float(STAGE_LINE.fullmatch(line).group(2)) for line in stages)  # type: ignore[union-attr]
    found = SUMMARY.fullmatch(summary)
    assert found, summary
    folder, total, pages, charts, figures, slips, statements, wrote, files = found.groups()
    out = starter / "piped"
    data = json.loads((out / "figures.json").read_text())
    assert folder == "piped" and float(total) >= seconds - 0.1
    assert int(pages) == len(pypdfium2.PdfDocument(out / "memo.pdf"))
    assert int(charts) == len(data["charts"]) > 0
    model_figures = [n for n in data["figures"] if not n.startswith(("scenario.", "uncertainty."))]  # not analysis
    assert int(figures) == len(model_figures)
    assert int(statements) == len(data["source_checks"])
    assert int(slips) == sum(1 for c in data["source_checks"] if not c["holds"])
    written = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".memo-")]
    assert int(wrote) == int(files) == len(written)
    assert "wrote" not in result.stdout.replace(summary, "")  # no line per file by default


def test_verbose_lists_every_file_written_and_quiet_prints_nothing(starter: Path, runs: dict) -> None:
    verbose = runs["verbose"]
    assert verbose.returncode == 0, verbose.stderr
    listed = set(re.findall(r"^memo: wrote (\S+)$", verbose.stdout, re.M))
    on_disk = {
        str(p.relative_to(starter)) for p in (starter / "loud").rglob("*") if p.is_file() and ".memo-" not in p.name
    }
    assert listed == on_disk and len(listed) > 20

    again = _build(starter, "--out", "loud")
    assert again.returncode == 0 and again.stdout == "memo: loud is up to date\n"
    quiet = runs["quiet"]
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", ""), quiet
    assert (starter / "hushed" / "memo.pdf").is_file()
    for before in (("-q", "build"), ("build", "--quiet")):  # either side of the command
        hushed = memo(*before, "--out", "hushed", "--set", "customers.seats=125000", cwd=starter, bundled=False)
        assert (hushed.returncode, hushed.stdout, hushed.stderr) == (0, "", "")


DIFF_STAGE = re.compile(r"memo diff: (old side|new side|compare|pages|write) +\d+\.\d\d s")


def test_diff_prints_its_stages_its_report_and_a_closing_line(starter: Path, runs: dict) -> None:
    result = memo("diff", "piped", "hushed", "--out", "review", cwd=starter, bundled=False)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    stages = [m.group(1) for m in map(DIFF_STAGE.fullmatch, lines) if m]
    assert stages == ["old side", "new side", "compare", "pages", "write"] and lines[len(stages)].startswith(
        "memo diff: OLD (piped)"
    )
    closing = re.fullmatch(
        r"memo diff: compared in [\d.]+ s: (\d+) figures?, (\d+) sentences? and (\d+) of (\d+) pages? changed; "
        r"wrote review",
        lines[-1],
    )
    assert closing, lines[-1]
    data = json.loads((starter / "review" / "changes.json").read_text())
    shown = [f for f in data["figures"] if not f["below_display_precision"]]
    assert int(closing.group(1)) == len(shown) > 0
    assert int(closing.group(2)) == sum(len(v) for v in data["prose"].values()) > 0
    assert int(closing.group(3)) == len(data["pages"]["changed"])
    assert "memo diff: wrote" not in result.stdout

    verbose = memo("diff", "piped", "hushed", "--out", "review2", "-v", cwd=starter, bundled=False)
    listed = set(re.findall(r"^memo diff: wrote review2/(\S+)$", verbose.stdout, re.M))
    on_disk = {str(p.relative_to(starter / "review2")) for p in (starter / "review2").rglob("*") if p.is_file()}
    assert listed == on_disk - {".memo-output.json"} and {"index.html", "changes.json", "diff.pdf"} <= listed
    quiet = memo("diff", "piped", "hushed", "--out", "review3", "-q", cwd=starter, bundled=False)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (1, "", "")
    assert (starter / "review3" / "diff.pdf").is_file()


def test_quiet_still_prints_errors(starter: Path) -> None:
    result = _build(starter, "--out", "bad", "-q", "--set", "no.such_input=1")
    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "no.such_input" in line and not (starter / "bad" / "memo.pdf").exists()
    both = _build(starter, "-q", "-v")
    assert both.returncode == 2 and "not allowed with" in both.stderr


def _on_a_terminal(cwd: Path, *args: str) -> tuple[int, str]:
    """Run memo with stdout and stderr on a pseudo-terminal; the raw bytes it drew."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm"}
    child = subprocess.Popen([sys.executable, "-m", "memo", *args], cwd=cwd, env=env, stdout=terminal, stderr=terminal)
    os.close(terminal)
    drawn = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    os.close(controller)
    return child.wait(timeout=300), drawn.decode()


def _screen(drawn: str) -> list[str]:
    """The lines a terminal ends up showing: each redraw (carriage return, clear line) replaces its line."""
    lines = []
    for line in drawn.replace("\r\n", "\n").split("\n"):
        lines.append(line.rsplit(CLEAR_LINE, 1)[-1])
    return [line for line in lines if line]


def test_a_terminal_sees_a_live_line_that_leaves_the_same_lines(starter: Path) -> None:
    status, drawn = _on_a_terminal(starter, "build", "--out", "tty", "--no-cache")
    assert status == 0, drawn
    live = re.findall(r"\r\x1b\[Kmemo: (\w[\w ]*?) [|/\\-] (\d+\.\d) s", drawn)
    assert "pdf" in {stage for stage, _ in live}  # the longest stage is shown while it runs
    screen = _screen(drawn)
    warnings = [line for line in screen if line.startswith("memo: warning: no --base-url")]  # the starter has none
    screen = [line for line in screen if line not in warnings]
    assert len(warnings) == 1, warnings
    assert [STAGE_LINE.fullmatch(line).group(1) for line in screen[:-1]] == list(STAGES)  # type: ignore[union-attr]
    assert SUMMARY.fullmatch(screen[-1]), screen[-1]


# ---------------------------------------------------------------- the quick up-to-date check


QUICK_PROBE = """
import sys
from memo.cli import main
status = main(sys.argv[1:])
heavy = sorted(m for m in ("numpy", "jinja2", "yaml", "memo.build", "memo.project") if m in sys.modules)
print("imported:", ",".join(heavy))
sys.exit(status)
"""


def _probe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", QUICK_PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_nothing_changed_is_answered_before_the_engine_is_imported(starter: Path, runs: dict) -> None:
    assert runs["verbose"].returncode == 0
    quick = _probe(starter, "build", "--out", "loud")
    assert quick.returncode == 0, quick.stderr
    assert quick.stdout.splitlines() == ["memo: loud is up to date", "imported: "]
    assert quick.stderr.count("memo: warning: no --base-url") == 1  # the build's warning, said again


def test_any_edit_sends_the_build_down_the_full_path(starter: Path, runs: dict) -> None:
    """Each edit the build key depends on makes the quick check decline (the full path then decides); undone, the
    quick check answers again."""
    from memo import quick

    assert runs["verbose"].returncode == 0
    asked = {"project": None, "assumptions": None, "out": "loud", "overrides": [], "scenario": None}
    asked |= {"base_url": None, "allow_failing_claims": False}
    out = starter / "loud"
    assert quick.up_to_date(out, quick.request(starter, **asked)) is not None
    assert quick.up_to_date(out, quick.request(starter / "charts", **asked)) is None  # asked from elsewhere
    edits = {"overrides": ["customers.seats=1"], "scenario": "bear", "base_url": "https://example.org/"}
    for key, value in edits.items():
        assert quick.up_to_date(out, quick.request(starter, **(asked | {key: value}))) is None, key
    page = next((starter / "templates").rglob("*.j2"))
    for path, edited in [
        (page, page.read_bytes() + b"\n"),
        (starter / "assumptions.yaml", (starter / "assumptions.yaml").read_bytes() + b"# a comment\n"),
        (starter / "model.yaml", (starter / "model.yaml").read_bytes() + b"\n"),
        (out / "memo.html", b"<p>edited by hand</p>"),
        (starter / "charts" / "unused.py", b""),  # a new file in a folder the build reads
    ]:
        before = path.read_bytes() if path.exists() else None
        path.write_bytes(edited)
        assert quick.up_to_date(out, quick.request(starter, **asked)) is None, path
        if before is None:
            path.unlink()
        else:
            path.write_bytes(before)
        assert quick.up_to_date(out, quick.request(starter, **asked)) is not None, path
