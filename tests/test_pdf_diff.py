"""memo diff on two PDFs alone (a word diff that reflow does not fool) and the annotated diff.pdf."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from memo.review import compare, run, write
from memo.review.annotate import SummaryJob, render_summary, start_summary
from memo.review.sides import load_side, use_recorded_units
from memo.review.words import normalised
from tests.bundled import build
from tests.conftest import BUNDLED, memo

PAGE = """@page { size: A5; margin: 20mm 18mm; @top-left { content: "A running head on every page" }
  @bottom-center { content: "Page " counter(page) " of " counter(pages) } }
body { font: 11pt/1.4 serif; hyphens: auto } p { margin: 0 0 8pt; text-align: justify }"""
PLACES = ["valley", "delta", "ridge", "harbour", "forest", "plain", "marsh", "terrace", "island", "canyon", "lake"]
THINGS = ["silt", "timber", "salt", "wool", "grain", "copper", "reeds", "stone", "olives", "honey", "flax"]


def _paragraph(k: int) -> str:
    """A paragraph of its own words (a text that repeats itself would make any diff guess)."""
    place, thing = PLACES[k % 11], THINGS[(k * 3) % 11]
    other, more = PLACES[(k + 4) % 11], THINGS[(k * 5 + 2) % 11]
    return (
        f"Paragraph {k}. The people of the {place} traded {thing} for {more} with their neighbours in the {other}, "
        f"and the {thing} went down the river on flat boats that took {k + 2} days to reach the coast. Merchants "
        f"kept ledgers of every {more} cargo and every toll paid at the {place} bridges, and those ledgers, read "
        f"centuries later, show how the {other} grew rich while the {place} stayed poor. Travellers wrote that "
        f"the road from the {place} to the {other} was lined with inns, shrines and markets selling {thing}."
    )


INSERTED = "This sentence was added to the first paragraph so that everything after it moves down the page."


def _document(grown: bool, changed: bool) -> str:
    paragraphs = [f"<p>{_paragraph(k)} {_paragraph(k + 11)}</p>" for k in range(1, 12)]
    if grown:
        paragraphs[0] = paragraphs[0].replace("</p>", f" {INSERTED}</p>")
    word = "orchards" if changed else "vineyards"
    paragraphs[9] = paragraphs[9].replace("</p>", f" The last of the {word} lies below the ridge.</p>")
    return f"<html lang='en'><head><style>{PAGE}</style></head><body>{''.join(paragraphs)}</body></html>"


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import weasyprint

    root = tmp_path_factory.mktemp("pdfs")
    out = {}
    for name, grown, changed in (("old", False, False), ("same", False, False), ("new", True, True)):
        out[name] = root / f"{name}.pdf"
        weasyprint.HTML(string=_document(grown, changed)).write_pdf(out[name])
    return out


def _text_in(path: Path, page: int, box: list[float]) -> str:
    document = pdfium.PdfDocument(str(path))
    try:
        textpage = document[page - 1].get_textpage()
        x0, y0, x1, y1 = box
        return textpage.get_text_bounded(left=x0, bottom=y0, right=x1, top=y1).strip()
    finally:
        document.close()


def _body_start(path: Path, page: int) -> str:
    document = pdfium.PdfDocument(str(path))
    try:
        lines = document[page - 1].get_textpage().get_text_bounded().splitlines()
        return lines[1]  # the line after the running head
    finally:
        document.close()


def _page_of(path: Path, needle: str) -> int:
    document = pdfium.PdfDocument(str(path))
    try:
        for index in range(len(document)):
            if needle in document[index].get_textpage().get_text_bounded().replace("\r\n", " "):
                return index + 1
    finally:
        document.close()
    raise AssertionError(needle)


def test_only_the_inserted_sentence_and_the_changed_word_are_reported(pdfs: dict[str, Path], tmp_path: Path) -> None:
    # the grown paragraph pushed the rest on: every later page starts with other words than before
    for page in (2, 3, 4):
        assert _body_start(pdfs["old"], page) != _body_start(pdfs["new"], page)
    changes = compare(load_side(pdfs["old"], "OLD"), load_side(pdfs["new"], "NEW"))
    assert changes.any
    words = changes.pages.words
    assert [(c.kind, c.old_text, c.new_text) for c in words] == [
        ("added", "", INSERTED),
        ("replaced", "vineyards", "orchards"),
    ]
    write(changes, tmp_path / "review")
    data = json.loads((tmp_path / "review" / "changes.json").read_text())
    entries = data["words"]
    assert entries[0]["page"] == _page_of(pdfs["new"], "This sentence was added")
    assert entries[1]["page"] == _page_of(pdfs["new"], "orchards") and entries[1]["page"] > 1
    assert entries[1]["old_page"] == _page_of(pdfs["old"], "vineyards")
    assert entries[1]["page_size"] == [pytest.approx(419.53, abs=0.1), pytest.approx(595.28, abs=0.1)]
    # the boxes lie on the words: the PDF's own text inside each box is the changed word or sentence
    assert _text_in(pdfs["new"], entries[1]["page"], entries[1]["boxes"][0]) == "orchards"
    inserted = " ".join(_text_in(pdfs["new"], entries[0]["page"], box) for box in entries[0]["boxes"])
    assert normalised(" ".join(inserted.split())) == normalised(INSERTED)
    html = (tmp_path / "review" / "index.html").read_text()
    assert "Text changed (2)" in html and "<ins>orchards</ins>" in html and "<del>vineyards</del>" in html
    assert (tmp_path / "review" / "diff.pdf").is_file()


def test_hyphenation_ligatures_and_page_numbers_are_no_change() -> None:
    assert normalised("\ufb01rst") == "first"  # the fi ligature
    assert normalised("privacy-first") == normalised("privacyfirst") == normalised("privacy\u00adfirst")
    assert normalised("\u22125%") != normalised("5%")  # a minus sign is a change


def test_two_identical_pdfs_are_no_difference(pdfs: dict[str, Path], tmp_path: Path) -> None:
    result = memo("diff", str(pdfs["old"]), str(pdfs["same"]), "--out", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no differences" in result.stdout
    assert json.loads((tmp_path / "d" / "changes.json").read_text())["words"] == []


def test_the_cli_prints_the_changed_words_and_exits_1(pdfs: dict[str, Path], tmp_path: Path) -> None:
    result = memo("diff", str(pdfs["old"]), str(pdfs["new"]), "--out", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Text changed: 2 changes" in result.stdout
    assert "[-vineyards-] {+orchards+}" in result.stdout and "{+This sentence was added" in result.stdout
    assert "Annotated PDF:" in result.stdout


# ---------------------------------------------------------------- diff.pdf of two builds


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("builds") / "new"
    build(BUNDLED, out, overrides=["users.conversion_rate=0.06"])
    return out


@pytest.fixture(scope="module")
def review(bundled_build: Path, edited: Path) -> Path:
    out = edited.parent / "review"
    run([(str(bundled_build), "path"), (str(edited), "path")], out)
    return out


def test_the_summary_pages_are_laid_out_in_a_second_process_with_the_same_bytes(
    bundled_build: Path, edited: Path
) -> None:
    old, new = load_side(bundled_build, "OLD"), load_side(edited, "NEW")
    use_recorded_units(old, new)
    started: list[SummaryJob | None] = []
    changes = compare(old, new, before_pages=lambda found: started.append(start_summary(found)))
    [job] = started
    assert job is not None and changes.pages is not None  # started before the pages were compared
    made = job.result()
    assert job.child.returncode == 0 and made.startswith(b"%PDF-")  # by the child, not the fallback
    assert made == render_summary(job.page)
    assert "Bear scenario" in job.page and "users.conversion_rate" in job.page


def _annotations(reader: PdfReader, index: int) -> list[dict]:
    found = reader.pages[index].get("/Annots") or []
    return [a.get_object() for a in found if a.get_object()["/Subtype"] != "/Link"]


def test_every_word_change_is_an_annotation_on_its_page(review: Path) -> None:
    data = json.loads((review / "changes.json").read_text())
    reader = PdfReader(review / "diff.pdf")
    offset = len(reader.pages) - data["pages"]["new_pages"]  # the summary pages in front
    assert offset >= 1 and reader.page_labels[offset] == "1"
    assert data["words"]
    by_page: dict[int, list[dict]] = {}
    for k, entry in enumerate(data["words"]):
        by_page.setdefault(entry["page"], []).append(entry)
        notes = {a["/NM"]: a for a in _annotations(reader, offset + entry["page"] - 1)}
        note = notes[f"memo-diff-{entry['page']}-{k + 1}"]  # on its page
        rect = [float(v) for v in note["/Rect"]]
        if entry["kind"] == "removed":
            x0, y0, x1, _ = entry["boxes"][0]
            assert note["/Subtype"] == "/Text" and rect[0] <= (x0 + x1) / 2 <= rect[2] and rect[1] <= y0 <= rect[3]
            assert note["/Contents"].startswith(f"removed: {entry['old']}")
            continue
        assert note["/Subtype"] == "/Highlight" and _covers(rect, entry["boxes"]), entry
        assert len(note["/QuadPoints"]) == 8 * len(entry["boxes"])
        expected = f"was: {entry['old']}" if entry["kind"] == "replaced" else "added"
        assert note["/Contents"].startswith(expected), (note["/Contents"], entry)
    figure_notes = [a["/Contents"] for p in by_page for a in _annotations(reader, offset + p - 1)]
    assert any("(arr.current), caused by users.conversion_rate" in n for n in figure_notes)


def _covers(rect: list[float], boxes: list[list[float]]) -> bool:
    x0, y0, x1, y1 = min(rect[0], rect[2]), min(rect[1], rect[3]), max(rect[0], rect[2]), max(rect[1], rect[3])
    return all(x0 - 0.01 <= b[0] and y0 - 0.01 <= b[1] and b[2] <= x1 + 0.01 and b[3] <= y1 + 0.01 for b in boxes)


def test_the_outline_leads_to_the_summary_and_every_changed_page(review: Path) -> None:
    data = json.loads((review / "changes.json").read_text())
    reader = PdfReader(review / "diff.pdf")
    offset = len(reader.pages) - data["pages"]["new_pages"]
    outline = reader.outline
    assert outline[0].title == "What changed" and reader.get_destination_page_number(outline[0]) == 0
    assert outline[1].title.startswith("Changed pages")
    children = outline[2]
    targets = {reader.get_destination_page_number(item) - offset + 1 for item in children}
    changed = {e["page"] for e in data["words"]} | {c["new"] for c in data["pages"]["changed"] if c["new"]}
    assert targets == changed
    assert all(
        item.title.startswith(f"Page {reader.get_destination_page_number(item) - offset + 1}:") for item in children
    )
    assert any(not isinstance(item, list) and item.title == "Contents" for item in outline[3:])  # the memo's own


def test_the_first_page_lists_the_changed_figures_with_their_causes(review: Path) -> None:
    first = subprocess.run(
        ["pdftotext", "-layout", "-f", "1", "-l", "1", str(review / "diff.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "What changed" in first and "Figures changed" in first
    assert "users.paid" in first and "150,000" in first and "180,000" in first
    assert "users.conversion_rate" in first  # the cause
    image = subprocess.run(
        ["pdftoppm", "-png", "-r", "20", "-f", "1", "-l", "2", str(review / "diff.pdf")],
        capture_output=True,
        check=True,
    )
    assert image.stdout.startswith(b"\x89PNG")


def test_the_same_diff_gives_the_same_diff_pdf(bundled_build: Path, review: Path, tmp_path: Path) -> None:
    run([(str(bundled_build), "path"), (str(review.parent / "new"), "path")], tmp_path / "again")
    assert (tmp_path / "again" / "diff.pdf").read_bytes() == (review / "diff.pdf").read_bytes()
