"""Hostile and careless input to memo diff (issue 13): PDFs are bounded before any page is drawn, a build folder's
figures.json is checked for the shape memo writes, chart names stay inside the folder, and every refusal is one
line with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memo.cli import main
from memo.review import pages
from memo.review.sides import DiffTrouble, Side, load_side
from tests.conftest import ROOT
from tests.test_hostile_serve import _build, _figures

MEASURED = """
import resource, sys
from memo.cli import main
status = main(sys.argv[1:])
print(f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
sys.exit(status)
"""


def _measured(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """memo run in a fresh process, and its peak resident memory in KB."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", MEASURED, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    peak = int(result.stderr.rsplit("peak ", 1)[1])
    result.stderr = result.stderr.rsplit("peak ", 1)[0]
    return result, peak


def _pdf(path: Path, width: float, height: float, count: int = 1) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(width=width, height=height)
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def _diff(capsys: pytest.CaptureFixture[str], tmp_path: Path, old: Path, new: Path) -> tuple[int, str]:
    status = main(["diff", str(old), str(new), "--out", str(tmp_path / "review")])
    captured = capsys.readouterr()
    return status, captured.err


# ---------------------------------------------------------------- PDFs


def test_two_tiny_pdfs_with_huge_pages_are_refused_before_drawing(tmp_path: Path) -> None:
    old, new = _pdf(tmp_path / "old.pdf", 14400, 14400), _pdf(tmp_path / "new.pdf", 14400, 14400, 2)
    result, peak = _measured("diff", str(old), str(new), "--out", "review", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"memo diff: {old}: page 1 is 14400 x 14400 pt, over the 3600 pt a side memo diff draws"
    )
    assert peak < 500 * 1024, peak  # it used 8 GB
    assert not (tmp_path / "review").exists()


def test_too_many_pages_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    many = _pdf(tmp_path / "many.pdf", 100, 100, pages.MAX_PAGES + 1)
    status, err = _diff(capsys, tmp_path, many, _pdf(tmp_path / "a4.pdf", 595, 842))
    assert status == 2 and err.strip() == f"memo diff: {many}: 301 pages, over the 300 memo diff compares"


def test_too_many_pixels_in_all_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "MAX_PIXELS", 2_000_000)  # three A3 pages at 90 dpi are 4.7 million pixels
    big = _pdf(tmp_path / "a3.pdf", 842, 1191, 3)
    with pytest.raises(DiffTrouble, match=r"its pages come to 5 million pixels, over the 2 million memo diff draws"):
        pages.compare(big, big)


def test_pages_within_the_bounds_are_drawn_two_at_a_time(tmp_path: Path) -> None:
    old, new = _pdf(tmp_path / "old.pdf", 595, 842, 3), _pdf(tmp_path / "new.pdf", 842, 595, 2)
    report = pages.compare(old, new, images=False)
    assert (report.old_pages, report.new_pages) == (3, 2)
    assert len(pages.read_pages(old)) == 3 and pages.read_pages(old)[0].image.shape == (1053, 744, 3)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not a pdf", "is not a PDF"), (b"%PDF-1.7\nbroken", "cannot read PDF")],
)
def test_a_file_that_is_not_a_pdf_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(content)
    status, err = _diff(capsys, tmp_path, bad, _pdf(tmp_path / "a4.pdf", 595, 842))
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_fifo_is_refused_without_blocking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "fifo.pdf"
    os.mkfifo(fifo)
    status, err = _diff(capsys, tmp_path, fifo, _pdf(tmp_path / "a4.pdf", 595, 842))
    assert status == 2 and err.strip() == f"memo diff: OLD ({fifo}): {fifo} is not a regular file"
    build = _build(tmp_path / "b", _figures())
    (build / "figures.json").unlink()
    os.mkfifo(build / "figures.json")
    with pytest.raises(DiffTrouble, match="is not a regular file"):
        load_side(build, "OLD")


# ---------------------------------------------------------------- build folders with a crafted figures.json


CRAFTED = [
    ("[]", "the file must be an object"),
    ("{}", "figures must be an object"),
    ('{"figures": []}', "figures must be an object"),
    ('{"figures": {"a": 1}}', "figures.a must be an object"),
    ('{"figures": {"a": {"unit": "users"}}}', "figures.a.value must be given"),
    ('{"figures": {"a": {"value": "x", "unit": "users"}}}', "figures.a.value must be a finite number"),
    ('{"figures": {"a": {"value": true, "unit": "users"}}}', "figures.a.value must be a finite number"),
    ('{"figures": {"a": {"value": NaN, "unit": "users"}}}', "is not valid JSON (NaN is not a JSON number)"),
    ('{"figures": {"a": {"value": 1e999, "unit": "users"}}}', "figures.a.value must be a finite number"),
    ('{"figures": {"a": {"value": 1e308, "unit": "users"}}}', "figures.a.value must be a number between"),
    ('{"figures": {"a": {"value": 1}}}', "figures.a.unit must be a text"),
    ('{"figures": {"a": {"value": 1, "unit": 5}}}', "figures.a.unit must be a text"),
    ('{"figures": {"a": {"value": 1, "unit": "u", "low": 0}}}', "figures.a.low and .high must be given together"),
    ('{"figures": {"a": {"value": 1, "unit": "u", "inputs": "b"}}}', "figures.a.inputs must be a list of texts"),
    ('{"figures": {"a": {"value": 1, "unit": "u", "label": []}}}', "figures.a.label must be a text"),
    ('{"figures": {}, "inputs": {"i": {"value": [], "unit": "u"}}}', "inputs.i.value must be a finite number"),
    ('{"figures": {}, "inputs": {"i": {"value": 1, "unit": "u", "sourced": 3}}}', "inputs.i.sourced must be an"),
    ('{"figures": {}, "charts": []}', "charts must be an object"),
    ('{"figures": {}, "charts": {"../../secret": {}}}', "charts name '../../secret' must be letters"),
    ('{"figures": {}, "charts": {"a": {"figures": [1]}}}', "charts.a.figures must be a list of texts"),
    ('{"figures": {}, "claims": {}}', "claims must be a list of objects"),
    ('{"figures": {}, "claims": [1]}', "claims must be a list of objects"),
    ('{"figures": {}, "claims": [{"text": "t"}]}', "claims[0].id must be a text"),
    ('{"figures": {}, "build": []}', "build.versions must be an object"),
    ('{"figures": {}, "build": {"versions": {"a": 1}}}', "build.versions must be an object of texts"),
    ('{"figures": {}, "units": []}', "units must be an object"),
    ("{not json", "is not valid JSON"),
    ("[" * 200_000 + "]" * 200_000, "is not valid JSON (nested too deeply)"),
    ('{"figures": {"' + "a" * 300 + '": {}}}', "at most 200"),
]


@pytest.mark.parametrize(("text", "message"), CRAFTED, ids=[m for _, m in CRAFTED])
def test_a_crafted_figures_json_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    good = _build(tmp_path / "good", _figures())
    crafted = _build(tmp_path / "crafted", text)
    for old, new in ((crafted, good), (good, crafted)):
        status, err = _diff(capsys, tmp_path, old, new)
        assert status == 2, err
        assert message in err and "figures.json" in err and len(err.strip().splitlines()) == 1, err


def test_a_figures_json_over_the_size_cap_is_refused_unread(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _build(tmp_path / "good", _figures())
    big = _build(tmp_path / "big", _figures())
    with open(big / "figures.json", "r+b") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: no time or disk spent
    status, err = _diff(capsys, tmp_path, good, big)
    assert status == 2 and "17,825,792 bytes, over the 16,777,216 memo diff reads" in err


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ({"value": 1e300}, "1e+300"),
        ({"value": 1.0, "low": 1e300, "high": -1e300}, "1e+300"),
    ],
)
def test_huge_and_tiny_numbers_are_compared_and_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], values: dict[str, float], shown: str
) -> None:
    """Numbers at the ends of the float range print in scientific notation: the diff reports them, no trouble."""
    old = _build(tmp_path / "old", _figures(value=1e-300))
    crafted = _figures()
    crafted["figures"]["a.x"].update(values)  # type: ignore[index]
    crafted["figures"]["a.x"]["unit"] = "date"  # type: ignore[index]
    new = _build(tmp_path / "new", crafted)
    status = main(["diff", str(old), str(new), "--out", str(tmp_path / "review")])
    captured = capsys.readouterr()
    assert status == 1, captured.err
    assert "Traceback" not in captured.out + captured.err
    assert shown in (tmp_path / "review" / "index.html").read_text(encoding="utf-8")


def test_the_cli_gives_one_line_for_a_crafted_build(tmp_path: Path) -> None:
    """The issue's case: build folders whose figures.json has values of the wrong types (7 tracebacks, exit 1)."""
    good = _build(tmp_path / "good", _figures())
    crafted = _figures()
    crafted["figures"] = {"a.x": {"value": "1", "unit": ["users"]}}
    crafted["inputs"] = {"a.x": {"value": {}, "unit": None}}
    crafted["claims"] = "all of them"
    _build(tmp_path / "crafted", crafted)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "memo", "diff", str(good), str(tmp_path / "crafted"), "--out", "review"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"memo diff: NEW ({tmp_path / 'crafted'}): {tmp_path / 'crafted' / 'figures.json'}: figures.a.x.value must "
        "be a finite number; is it a figures.json memo wrote?"
    )


# ---------------------------------------------------------------- chart names stay inside the build folder


def test_a_chart_name_cannot_read_an_svg_outside_the_build(tmp_path: Path) -> None:
    secret = tmp_path / "secret.svg"
    secret.write_text("<svg>secret</svg>")
    build = _build(tmp_path / "b", _figures())
    side = Side("OLD", build)
    assert side.file("charts/../../secret.svg") is None
    assert side.file(str(secret)) is None  # an absolute name
    (build / "charts").mkdir()
    (build / "charts" / "linked.svg").symlink_to(secret)
    assert side.file("charts/linked.svg") is None  # a link out of the folder
    (build / "charts" / "own.svg").write_text("<svg/>")
    assert side.file("charts/own.svg") == (build / "charts" / "own.svg").resolve()


def test_a_crafted_chart_name_is_refused_and_no_outside_svg_reaches_the_review(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "secret.svg").write_text("<svg>secret</svg>")
    good = _build(tmp_path / "good", _figures(charts={"a": {"title": "A"}}))
    crafted = _build(tmp_path / "crafted", _figures(charts={"../../secret": {"title": "A"}}))
    status, err = _diff(capsys, tmp_path, good, crafted)
    assert status == 2 and "charts name '../../secret' must be letters" in err
    assert not any("secret" in p.read_text(errors="replace") for p in tmp_path.joinpath("review").rglob("*.html"))


def test_a_chart_svg_linked_out_of_the_build_is_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "secret.svg").write_text("<svg>secret</svg>")
    old = _build(tmp_path / "old", _figures(charts={"a": {"title": "A"}}))
    new = _build(tmp_path / "new", _figures(charts={"a": {"title": "A"}}, value=2.0))
    for build in (old, new):
        (build / "charts").mkdir()
    (old / "charts" / "a.svg").write_text("<svg>old</svg>")
    (new / "charts" / "a.svg").symlink_to(tmp_path / "secret.svg")
    status, err = _diff(capsys, tmp_path, old, new)
    assert status == 1, err
    review = json.loads((tmp_path / "review" / "changes.json").read_text())
    assert "secret" not in json.dumps(review)


def test_a_deep_or_tangled_reference_graph_is_followed_or_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def chain(value: float, depth: int, cycle: bool = False) -> dict[str, object]:
        figures = {
            f"f{i}": {"value": value, "unit": "users", "inputs": [f"f{i + 1}" if i + 1 < depth else "in.x"]}
            for i in range(depth)
        }
        if cycle:
            figures[f"f{depth - 1}"]["inputs"] = ["f0", "in.x"]
        return _figures(figures=figures, inputs={"in.x": {"value": value, "unit": "users"}})

    old = _build(tmp_path / "old", chain(1.0, 3000))  # deeper than Python's recursion limit
    new = _build(tmp_path / "new", chain(2.0, 3000, cycle=True))
    status, err = _diff(capsys, tmp_path, old, new)
    assert status == 1, err
    changes = json.loads((tmp_path / "review" / "changes.json").read_text())
    assert {tuple(f["caused_by"]) for f in changes["figures"]} == {("in.x",)}
    from memo.review import changes as changes_module

    monkeypatch.setattr(changes_module._Causes, "BUDGET", 1000)
    status, err = _diff(capsys, tmp_path, old, new)
    assert (
        status == 2
        and err.strip() == f"memo diff: NEW ({new}): figures.json's figures refer to each other too much to follow"
    )
