"""The PDF laid out in two parts at once (memo.pdf.parts) is the PDF laid out whole, to a reader: the same pages,
pixels, text, links, outline and named destinations; and its bytes depend on the HTML alone."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
from PIL import ImageChops

from memo import pdf
from memo.cache import Cache
from memo.pdf import part, parts, split
from tests.bundled import ROOT

AS_OF = dt.date(2026, 5, 16)

STYLE = """
@page { size: A5; margin: 18mm 14mm;
  @top-left { content: string(section); font-size: 7pt }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 7pt } }
@page :first { @top-left { content: none } @bottom-right { content: none } }
body { font: 10pt/1.4 serif }
section.chapter { break-before: page }
nav { break-before: page }
h2 { string-set: section content(text) }
nav a::after { content: leader(". ") target-counter(attr(href), page) }
a.xref::after { content: " (page " target-counter(attr(href), page) ")" }
.fn-body { float: footnote }
"""


def chapter(number: int, refs: list[int]) -> str:
    paragraphs = "".join(
        f"<p>Paragraph {i} of chapter {number}, which runs on for a while so that the chapter fills some pages of its "
        f"own; it is text, and only text, to be laid out the same way either way.</p>"
        for i in range(14 + 6 * number)
    )
    links = "".join(f'<p>See <a class="xref" href="#ch{r}">chapter {r}</a>.</p>' for r in refs)
    note = f'<p>A claim<span class="fn"><span class="fn-body">The note of chapter {number}.</span></span> sourced.</p>'
    return (
        f'<section class="chapter" id="ch{number}"><h2>Chapter {number}</h2>{links}{note}'
        f'<h3 id="ch{number}-detail">Detail of {number}</h3>{paragraphs}</section>'
    )


def document(style: str = STYLE) -> str:
    contents = "".join(f'<li><a href="#ch{n}">Chapter {n}</a></li>' for n in range(1, 5))
    # each kind of reference on a page of its own: forward within a part, forward and back across the cut
    chapters = chapter(1, [2]) + chapter(2, [3]) + chapter(3, [4]) + chapter(4, [1])
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Two parts</title><style>{style}</style>'
        f'</head><body><div class="cover"><h1>Two parts</h1></div><nav><h2>Contents</h2><ul>{contents}</ul></nav>'
        f"{chapters}</body></html>"
    )


def write(html: str, out: Path, project: Path | None = None) -> bytes:
    return pdf.write_pdf(html, out_dir=out, project_dir=project or out, as_of=AS_OF)


def whole(html: str, out: Path, monkeypatch: pytest.MonkeyPatch, project: Path | None = None) -> bytes:
    with monkeypatch.context() as patched:
        patched.setenv("MEMO_PDF_PARTS", "0")
        return write(html, out, project)


def in_parts(html: str, out: Path, store: Cache | None = None, project: Path | None = None) -> bytes:
    made = parts.write(pdf.for_print(html), out_dir=out, project_dir=project or out, as_of=AS_OF, store=store)
    assert made is not None, "the page was not laid out in parts"
    return made


def reading(data: bytes) -> dict[str, object]:
    """What a reader gets: each page's text, the outline, the links and the named destinations (by page number)."""
    document = pikepdf.open(io.BytesIO(data))
    number = {page.obj.objgen: i for i, page in enumerate(document.pages)}

    def target(destination: pikepdf.Array) -> tuple[int, list[float]]:
        return number[destination[0].objgen], [round(float(v), 2) for v in list(destination)[2:4]]

    names = list(document.Root.Names.Dests.Names)
    outline: list[tuple[int, str, object]] = []
    with document.open_outline() as tree:

        def walk(items: list[pikepdf.OutlineItem], depth: int) -> None:
            for item in items:
                outline.append((depth, item.title, target(item.destination)))
                walk(item.children, depth + 1)

        walk(tree.root, 0)
    links = [
        (
            i,
            [round(float(v), 1) for v in annotation.Rect],
            str(annotation.get("/Dest")),
            str(annotation.get("/Contents")),
        )
        for i, page in enumerate(document.pages)
        for annotation in page.obj.get("/Annots", ())
    ]
    rendered = pypdfium2.PdfDocument(data)
    texts = [rendered[i].get_textpage().get_text_range() for i in range(len(rendered))]
    return {
        "texts": texts,
        "outline": outline,
        "links": links,
        "destinations": {str(n): target(d) for n, d in zip(names[::2], names[1::2], strict=True)},
    }


def assert_same_pixels(first: bytes, second: bytes) -> None:
    a, b = pypdfium2.PdfDocument(first), pypdfium2.PdfDocument(second)
    assert len(a) == len(b)
    for i in range(len(a)):
        left = a[i].render(scale=70 / 72).to_pil().convert("RGB")
        right = b[i].render(scale=70 / 72).to_pil().convert("RGB")
        assert ImageChops.difference(left, right).getbbox() is None, f"page {i + 1} differs"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    out = tmp_path_factory.mktemp("parts")
    return out, in_parts(document(), out)


def test_a_small_document_in_parts_reads_and_looks_as_it_does_whole(
    small: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, data = small
    laid_whole = whole(document(), out, monkeypatch)
    assert reading(data) == reading(laid_whole)
    assert_same_pixels(data, laid_whole)
    texts = reading(data)["texts"]
    assert len(texts) > 8 and "Chapter 3" in texts[1]  # a contents page that lists the second part's chapters
    pages = len(texts)
    assert all(f"Page {n} of {pages}" in text for n, text in enumerate(texts, 1) if n > 1)


def test_the_cut_falls_before_a_chapter_near_the_middle() -> None:
    page = split.page(document())
    assert page is not None
    forced = [unit.html.startswith(("<section", "<nav")) for unit in page.units]
    first, second = page.halves(forced)  # type: ignore[misc]
    assert second.html.count('class="chapter"') in (1, 2) and first.html.count('class="chapter"') in (2, 3)
    assert first.footnotes + second.footnotes == 4 and "counter-reset: footnote" in second.html


def test_the_bytes_do_not_depend_on_the_plan_the_parts_start_from(small: tuple[Path, bytes], tmp_path: Path) -> None:
    out, data = small
    store = Cache(tmp_path / "cache")
    page = split.page(pdf.for_print(document()))
    assert page is not None
    wrong = {"": 1, **{f"ch{n}": 40 - n for n in range(1, 5)}}
    store.put("pdf-plan", parts._plan_key(page), json.dumps(wrong).encode())
    assert in_parts(document(), out, store) == data
    settled = json.loads(store.get("pdf-plan", parts._plan_key(page)) or b"{}")
    assert settled != wrong and in_parts(document(), out, store) == data  # the settled plan, kept for the next build


@pytest.mark.parametrize(
    "rule",
    [
        "@page :left { margin-left: 20mm }",
        "@page chapter:blank { }",
        "section.chapter { break-before: right }",
        "p::after { content: counter(page) }",
        "h2 { counter-increment: chapter }",
        "h2 { position: running(title) }",
    ],
)
def test_a_stylesheet_that_ties_pages_to_their_place_is_laid_out_whole(rule: str, tmp_path: Path) -> None:
    assert not split.cuttable(STYLE + rule)
    html = document(STYLE + rule)
    assert (
        split.page(html) is None
        and parts.write(html, out_dir=tmp_path, project_dir=tmp_path, as_of=AS_OF, store=None) is None
    )


def test_page_counters_in_the_margins_and_left_aligned_text_do_not_stop_the_cut() -> None:
    assert split.cuttable(STYLE + "p { text-align:left } @page { @bottom-left { content: counter(page) } }")


def test_a_failed_part_falls_back_to_the_whole_document(
    small: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = small
    make = part.make

    def failing(html: str, state: part.PartState, **kwargs: object) -> part.Made:
        if state.second:
            raise RuntimeError("the helper broke")
        return make(html, state, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(part, "make", failing)  # the forked helper inherits it
    assert parts.write(pdf.for_print(document()), out_dir=out, project_dir=out, as_of=AS_OF, store=None) is None
    assert write(document(), out) == whole(document(), out, monkeypatch)


def test_the_bundled_memo_in_parts_is_the_memo_laid_out_whole(
    bundled_build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = (bundled_build / "memo.html").read_text(encoding="utf-8")
    built = (bundled_build / "memo.pdf").read_bytes()
    assert in_parts(html, bundled_build, project=ROOT) == built  # the build's PDF is the parts' (without a plan too)
    laid_whole = whole(html, bundled_build, monkeypatch, ROOT)
    assert reading(built) == reading(laid_whole)
    assert_same_pixels(built, laid_whole)


class _Box:
    def __init__(self, text: str) -> None:
        self.text = text

    def descendants(self) -> list[_Box]:
        return [self]


class _Lookup:
    """A content lookup as WeasyPrint keeps it: where its box was laid out, what it printed, and how to print again."""

    def __init__(self, box: _Box, page: int | None, reprinted: str) -> None:
        self.box, self.page_maker_index, self.reprinted = box, page, reprinted
        self.missing_target_counters = {None: ["page"]}  # an attr() reference: WeasyPrint keeps no anchor name
        self.cached_page_counter_values: dict[str, list[int]] = {}

    def parse_again(self, values: dict[str, list[int]]) -> None:
        self.box.text = self.reprinted


def test_a_reference_whose_printed_page_changes_marks_its_page_to_be_made_again() -> None:
    moved, kept, unplaced = _Box("page 12"), _Box("page 3"), _Box("page 0")
    lookups = {
        (moved, "content"): _Lookup(moved, 1, "page 15"),
        (kept, "content"): _Lookup(kept, 2, "page 3"),
        (unplaced, "content"): _Lookup(unplaced, None, "page 9"),
    }
    collector = type("Collector", (), {"counter_lookup_items": lookups})()
    page_maker = [(None, None, None, None, {"content_changed": False}) for _ in range(4)]
    part._reprint(collector, page_maker)
    assert [entry[-1]["content_changed"] for entry in page_maker] == [False, True, False, False]
    assert (moved.text, kept.text, unplaced.text) == ("page 15", "page 3", "page 0")
