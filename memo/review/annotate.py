"""diff.pdf: the new PDF with every change marked as a PDF annotation, for reviewers who pass PDFs around.

Each changed word of the text diff is a /Highlight (its /QuadPoints on the words) whose note gives the old text
("was: 6.6x") or says "added"; removed words are a /Text note drawn as a red caret where they were, the removed
text in its note; a region whose pixels changed away from any word (a chart, a rule, an image) is a /Square. In
front go summary pages (WeasyPrint, in the memo's fonts): for two builds the changed figures with their causes and
the inputs and claims that changed (laid out in a second process while the pages are compared,
:class:`SummaryJob`); for two PDFs the changed words and the pages changed. The outline leads to the summary and to
every changed page, saying what changed there. Every annotation carries its own appearance stream, so every viewer
draws the same thing, and nothing in the file comes from the clock or a random source: the same diff gives the same
bytes.
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memo.review.sides import MAX_PDF, read_capped
from memo.review.words import Box, WordChange

if TYPE_CHECKING:
    from memo.review.changes import Changes

AUTHOR = "memo diff"
MAX_NOTE = 2000  # characters of old text in one note
SUMMARY_WORDS = 60  # word changes listed on the summary pages of a diff of two PDFs (each is marked on its page)
A4 = (595.28, 841.89)  # points: the summary's page size when the new PDF has no page
COLOURS = {  # fill or stroke, RGB 0..1: the review page's colours
    "replaced": (1.0, 0.84, 0.25),
    "added": (0.55, 0.88, 0.62),
    "removed": (0.84, 0.15, 0.1),
    "region": (0.84, 0.37, 0.0),
}


def note(change: WordChange, figures: Sequence[Any] = ()) -> str:
    """What an annotation's note says: the old text, or that the words were added; the figure a number is, when
    the change is a changed figure's value."""
    where = "running head or foot: " if change.margin else ""
    old = change.old_text if len(change.old_text) <= MAX_NOTE else change.old_text[: MAX_NOTE - 3] + "..."
    text = where + {"replaced": f"was: {old}", "added": "added", "removed": f"removed: {old}"}[change.kind]
    found = _figures_shown(change, figures)
    if found:
        text += "\n" + "\n".join(found)
    return text


def _bare(text: str) -> str:
    return text.strip(" ,.;:()[]")


def _figures_shown(change: WordChange, figures: Sequence[Any]) -> list[str]:
    """The changed figures whose old and new values, as printed, are the change's old and new words."""
    if change.kind != "replaced" or len(change.new) > 3:
        return []
    old, new = _bare(change.old_text), _bare(change.new_text)
    out = []
    for figure in figures:
        if figure.old is None or figure.new is None:
            continue
        if _bare(figure.text("old").split(" (")[0]) == old and _bare(figure.text("new").split(" (")[0]) == new:
            causes = ", ".join(figure.caused_by) or "a tool or formula"
            out.append(f"{figure.label} ({figure.name}), caused by {causes}")
    return out[:3]


# ---------------------------------------------------------------- annotations (pdfium)


def _wide(text: str) -> Any:
    import ctypes

    import pypdfium2.raw as raw

    buffer = ctypes.create_string_buffer((text + "\0").encode("utf-16-le"))
    return ctypes.cast(buffer, raw.FPDF_WIDESTRING), buffer  # the buffer must outlive the call


def _union(boxes: Sequence[Box], pad: float = 0.0) -> Box:
    return (
        min(b[0] for b in boxes) - pad,
        min(b[1] for b in boxes) - pad,
        max(b[2] for b in boxes) + pad,
        max(b[3] for b in boxes) + pad,
    )


def _rgb(colour: tuple[float, ...], stroke: bool = False) -> str:
    return " ".join(f"{c:.3f}" for c in colour) + (" RG" if stroke else " rg")


def _add(
    page: Any,
    subtype: int,
    rect: Box,
    contents: str,
    name: str,
    colour: tuple[float, ...],
    alpha: float,
    drawing: str,
    quads: Sequence[Box] = (),
) -> None:
    """One annotation on a pdfium page, with its note, author, name, colour and appearance stream (in page
    coordinates: pdfium gives the stream the annotation's rectangle as its bounding box, and an ExtGState named GS
    with the colour's opacity, which a highlight's drawing selects so that the text under it shows through)."""
    import pypdfium2.raw as raw

    annotation = raw.FPDFPage_CreateAnnot(page.raw, subtype)
    try:
        x0, y0, x1, y1 = rect
        raw.FPDFAnnot_SetRect(annotation, raw.FS_RECTF(x0, y1, x1, y0))
        for qx0, qy0, qx1, qy1 in quads:
            raw.FPDFAnnot_AppendAttachmentPoints(annotation, raw.FS_QUADPOINTSF(qx0, qy1, qx1, qy1, qx0, qy0, qx1, qy0))
        r, g, b = (round(c * 255) for c in colour)
        raw.FPDFAnnot_SetColor(annotation, raw.FPDFANNOT_COLORTYPE_Color, r, g, b, round(alpha * 255))
        raw.FPDFAnnot_SetFlags(annotation, raw.FPDF_ANNOT_FLAG_PRINT)
        for key, value in ((b"Contents", contents), (b"T", AUTHOR), (b"NM", name)):
            pointer, _buffer = _wide(value)
            raw.FPDFAnnot_SetStringValue(annotation, key, pointer)
        pointer, _buffer = _wide(drawing)
        raw.FPDFAnnot_SetAP(annotation, raw.FPDF_ANNOT_APPEARANCEMODE_NORMAL, pointer)
    finally:
        raw.FPDFPage_CloseAnnot(annotation)


def _highlight(page: Any, change: WordChange, contents: str, name: str) -> None:
    import pypdfium2.raw as raw

    colour = COLOURS[change.kind]
    boxes = change.boxes
    fills = " ".join(f"{x0:.2f} {y0:.2f} {x1 - x0:.2f} {y1 - y0:.2f} re" for x0, y0, x1, y1 in boxes)
    _add(
        page,
        raw.FPDF_ANNOT_HIGHLIGHT,
        _union(boxes, 0.5),
        contents,
        name,
        colour,
        0.4,
        f"/GS gs {_rgb(colour)} {fills} f",
        boxes,
    )


def _removal(page: Any, change: WordChange, contents: str, name: str) -> None:
    """A removal: a note (/Text) drawn as a small red caret under the place the words were."""
    import pypdfium2.raw as raw

    x0, y0, x1, y1 = change.boxes[0]
    x = (x0 + x1) / 2
    size = max(min(y1 - y0, 12.0), 6.0)
    rect = (x - size / 2, y0 - size / 3, x + size / 2, y0 + size * 2 / 3)
    path = f"{rect[0]:.2f} {rect[1]:.2f} m {rect[2]:.2f} {rect[1]:.2f} l {x:.2f} {rect[3]:.2f} l h f"
    colour = COLOURS["removed"]
    _add(page, raw.FPDF_ANNOT_TEXT, rect, contents, name, colour, 1.0, f"{_rgb(colour)} {path}")


def _square(page: Any, box: Box, name: str) -> None:
    import pypdfium2.raw as raw

    colour = COLOURS["region"]
    rect = (box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1)
    width, height = box[2] - box[0], box[3] - box[1]
    drawing = f"{_rgb(colour, stroke=True)} 1.5 w {box[0]:.2f} {box[1]:.2f} {width:.2f} {height:.2f} re S"
    contents = "changed: a drawn part of the page (a chart, a rule or an image), not its text"
    _add(page, raw.FPDF_ANNOT_SQUARE, rect, contents, name, colour, 1.0, drawing)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _annotate(document: Any, changes: Changes) -> None:
    report = changes.pages
    word_changes = report.words if report else []
    marked: dict[int, list[Box]] = {}
    loaded: dict[int, Any] = {}  # pdfium loads a page anew on each document[i]: once per page

    def page_of(number: int) -> Any:
        if number not in loaded:
            loaded[number] = document[number - 1]
        return loaded[number]

    for k, change in enumerate(word_changes):
        page = page_of(change.page)
        name = f"memo-diff-{change.page}-{k + 1}"
        if change.new:
            _highlight(page, change, note(change, changes.figures), name)
        elif change.boxes:
            _removal(page, change, note(change, changes.figures), name)
        marked.setdefault(change.page, []).extend(change.boxes)
    for change in report.changes if report else []:
        if change.new is None:
            continue
        for k, region in enumerate(change.regions):
            if not any(_overlaps(region, box) for box in marked.get(change.new, [])):
                _square(page_of(change.new), region, f"memo-diff-{change.new}-region-{k + 1}")


# ---------------------------------------------------------------- summary pages


STYLE = """
@page { size: %(width).2fpt %(height).2fpt; margin: 16mm 15mm 16mm 15mm;
  @bottom-right { content: "Changes " counter(page); font: 8pt 'IBM Plex Sans'; color: #52606d } }
body { font: 9pt/1.35 'IBM Plex Sans', sans-serif; color: #1f2933 }
h1 { font-size: 17pt; margin: 0 0 2pt } h2 { font-size: 11pt; margin: 12pt 0 4pt; border-bottom: 1pt solid #1f2933 }
.meta { color: #52606d; margin: 0 0 6pt } .none { color: #52606d }
table { border-collapse: collapse; width: 100%%; table-layout: fixed } td, th { overflow-wrap: anywhere }
col.figure { width: 36%% } col.value { width: 15%% } col.change { width: 12%% } col.cause { width: 22%% } th, td { text-align: left; padding: 2pt 4pt; vertical-align: top;
  border-bottom: 0.5pt solid #cbd2d9 } th { font-weight: 600 } .num { text-align: right }
code { font-size: 8pt } del { background: #fde2dd; color: #8a1c0a } ins { background: #d7f5e3; color: #0b5e2f;
  text-decoration: none } tr { break-inside: avoid }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _page_rows(changes: Changes) -> list[tuple[int, str]]:
    """(new page, what changed there) for every page with a change, in page order."""
    report = changes.pages
    if report is None:
        return []
    counts: dict[int, dict[str, int]] = {}
    for change in report.words:
        counts.setdefault(change.page, {}).setdefault(change.kind, 0)
        counts[change.page][change.kind] += 1
    for change in report.changes:
        if change.new is not None:
            counts.setdefault(change.new, {})
            if change.regions:
                counts[change.new]["regions"] = len(change.regions)
            if change.status == "inserted":
                counts[change.new]["inserted"] = 1
    rows = []
    for page in sorted(counts):
        found = counts[page]
        parts = [f"{found[k]} {k}" for k in ("replaced", "added", "removed") if found.get(k)]
        if found.get("regions"):
            parts.append(f"{found['regions']} drawn region{'s' if found['regions'] != 1 else ''}")
        if found.get("inserted"):
            parts.insert(0, "a new page")
        rows.append((page, ", ".join(parts) or "pixels only (the same words, laid out again)"))
    return rows


def summary_html(changes: Changes, size: tuple[float, float]) -> str:
    from memo import fonts

    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>What changed</title><style>",
        fonts.font_face_css("fonts/"),
        STYLE % {"width": size[0], "height": size[1]},
        "</style></head><body>",
        "<h1>What changed</h1>",
        f"<p class='meta'>{_e(changes.old.label)} \u2192 {_e(changes.new.label)}</p>",
        "<p class='meta'>The pages after these are the new PDF, every change marked: a highlight on changed words "
        "(its note gives the old text), a caret where words were removed, a box around a changed drawing.</p>",
    ]
    if changes.old.figures_data is not None:
        # two builds: figures, inputs and claims, known before the pages are compared (the outline lists the pages)
        parts += _figures_section(changes)
        parts.append("</body></html>")
        return "\n".join(parts)
    parts += _text_section(changes)
    parts.append("<h2>Pages changed</h2>")
    rows = _page_rows(changes)
    if rows:
        parts.append("<table><thead><tr><th>Page</th><th>What changed</th></tr></thead><tbody>")
        parts += [f"<tr><td>page {page}</td><td>{_e(what)}</td></tr>" for page, what in rows]
        parts.append("</tbody></table>")
    removed = [c.old for c in (changes.pages.changes if changes.pages else []) if c.status == "removed"]
    if removed:
        parts.append(f"<p>Old pages removed: {', '.join(str(n) for n in removed)}.</p>")
    if not rows and not removed:
        parts.append("<p class='none'>No page of the PDF changed.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _by_scenario(figures: Sequence[Any]) -> tuple[list[Any], dict[str, list[Any]]]:
    """The figures of the build itself, and each scenario's (``scenario.NAME.figure``) apart, in order."""
    base: list[Any] = []
    scenarios: dict[str, list[Any]] = {}
    for f in figures:
        prefix, _, rest = f.name.partition(".")
        if prefix == "scenario" and "." in rest:
            scenarios.setdefault(rest.split(".", 1)[0], []).append(f)
        else:
            base.append(f)
    return base, scenarios


def _causes(names: Sequence[str]) -> str:
    return ", ".join(f"<code>{_e(c)}</code>" for c in names) or "<span class='none'>tool or formula</span>"


def _figures_section(changes: Changes) -> list[str]:
    from memo.review.report import _input_text
    from memo.site import scenario_label

    shown = changes.shown_figures
    parts = [f"<h2>Figures changed ({len(shown)})</h2>"]
    if shown:
        parts.append(
            "<table><colgroup><col class='figure'><col class='value'><col class='value'><col class='change'>"
            "<col class='cause'></colgroup><thead><tr><th>Figure</th><th class='num'>Old</th><th class='num'>New</th>"
            "<th class='num'>Change</th><th>Caused by</th></tr></thead><tbody>"
        )
        base, scenarios = _by_scenario(shown)
        for f in base:
            parts.append(
                f"<tr><td>{_e(f.label)}<br><code>{_e(f.name)}</code></td><td class='num'>{_e(f.text('old'))}</td>"
                f"<td class='num'>{_e(f.text('new'))}</td><td class='num'>{_e(f.change_text())}</td>"
                f"<td>{_causes(f.caused_by)}</td></tr>"
            )
        for name, figures in scenarios.items():  # a scenario's copies of the figures: one row, listed in changes.json
            causes = sorted({c for f in figures for c in f.caused_by})
            parts.append(
                f"<tr><td>{_e(scenario_label(name))}<br><code>scenario.{_e(name)}.*</code></td>"
                f"<td class='num' colspan='3'>{len(figures)} of its figures changed</td><td>{_causes(causes)}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append("<p class='none'>No figure changed.</p>")
    hidden = changes.hidden_figures
    if hidden:
        names = ", ".join(f"<code>{_e(f.name)}</code>" for f in hidden)
        parts.append(f"<p class='none'>Changed below display precision ({len(hidden)}): {names}.</p>")
    if changes.inputs:
        parts.append(f"<h2>Inputs changed ({len(changes.inputs)})</h2>")
        parts.append(
            "<table><thead><tr><th>Input</th><th class='num'>Old</th><th class='num'>New</th></tr></thead><tbody>"
        )
        parts += [
            f"<tr><td><code>{_e(c['name'])}</code></td><td class='num'>{_e(_input_text(c['old'], c['unit']))}</td>"
            f"<td class='num'>{_e(_input_text(c['new'], c['unit']))}</td></tr>"
            for c in changes.inputs
        ]
        parts.append("</tbody></table>")
    if changes.claims:
        from memo.review.report import _claim_line

        parts.append(f"<h2>Claims changed ({len(changes.claims)})</h2><ul>")
        parts += [f"<li>{_e(_claim_line(c))}</li>" for c in changes.claims]
        parts.append("</ul>")
    return parts


def _text_section(changes: Changes) -> list[str]:
    words = changes.pages.words if changes.pages else []
    parts = [f"<h2>Text changed ({len(words)})</h2>"]
    if not words:
        return [*parts, "<p class='none'>No word changed.</p>"]
    parts.append("<table><thead><tr><th>Page</th><th>Old</th><th>New</th></tr></thead><tbody>")
    for change in words[:SUMMARY_WORDS]:
        old = f"<del>{_e(_short(change.old_text))}</del>" if change.old else "<span class='none'>(added)</span>"
        new = f"<ins>{_e(_short(change.new_text))}</ins>" if change.new else "<span class='none'>(removed)</span>"
        parts.append(f"<tr><td>page {change.page}</td><td>{old}</td><td>{new}</td></tr>")
    parts.append("</tbody></table>")
    if len(words) > SUMMARY_WORDS:
        parts.append(f"<p class='none'>... and {len(words) - SUMMARY_WORDS} more, each marked on its page.</p>")
    return parts


def _short(text: str) -> str:
    return text if len(text) <= 160 else text[:157] + "..."


def summary_pdf(changes: Changes, size: tuple[float, float]) -> bytes:
    """The summary pages, laid out by WeasyPrint with the memo's fonts (read from the installed font packages)."""
    return render_summary(summary_html(changes, size))


def render_summary(page: str) -> bytes:
    import weasyprint

    from memo.pdf import _source_date, font_configuration, make_fetcher, patch_weasyprint

    patch_weasyprint()
    base = Path("/memo-diff-summary")  # a folder that is never read: only the font files resolve
    fetcher = make_fetcher([], base / "fonts")
    document = weasyprint.HTML(string=page, base_url=str(base) + "/", url_fetcher=fetcher)
    with _source_date(0):
        return document.write_pdf(font_config=font_configuration(), pdf_identifier=True)


CHILD = "import sys; from memo.review.annotate import render_summary; sys.stdout.buffer.write(render_summary(sys.stdin.read()))"


class SummaryJob:
    """The summary pages of a diff of two builds, laid out in a second process while this one compares the PDFs'
    pages (WeasyPrint's import and layout take a second or two; the pages take longer). The child runs the same
    code as :func:`summary_pdf`, so the bytes are the same; if it fails, they are made here instead."""

    def __init__(self, changes: Changes) -> None:
        import subprocess
        import sys
        import threading

        import memo

        assert changes.new.pdf is not None
        self.page = summary_html(changes, page_size(changes.new.pdf))
        home = str(Path(memo.__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [home, os.environ.get("PYTHONPATH")]))}
        self.child = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.output = b""
        self.talk = threading.Thread(target=self._talk, name="memo-diff-summary", daemon=True)
        self.talk.start()

    def _talk(self) -> None:
        self.output, _ = self.child.communicate(self.page.encode("utf-8"))

    def result(self) -> bytes:
        self.talk.join()
        if self.child.returncode == 0 and self.output.startswith(b"%PDF-"):
            return self.output
        return render_summary(self.page)

    def cancel(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
        self.talk.join()


def start_summary(changes: Changes) -> SummaryJob | None:
    """A :class:`SummaryJob` when the summary can be laid out before the pages are compared: two builds that
    differ already in what :func:`memo.review.changes.compare` found first, with a new PDF. None otherwise."""
    if changes.old.figures_data is None or changes.new.pdf is None or not changes.any:
        return None
    return SummaryJob(changes)


def page_size(pdf: Path) -> tuple[float, float]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(read_capped(pdf, MAX_PDF, "NEW"))
    try:
        return _first_page_size(document)
    finally:
        document.close()


def _first_page_size(document: Any) -> tuple[float, float]:
    """An open pdfium document's first page size in points (A4 for a document without pages)."""
    return document.get_page_size(0) if len(document) else A4


# ---------------------------------------------------------------- the file


def annotated(changes: Changes, summary: SummaryJob | None = None) -> bytes:
    """diff.pdf's bytes for a diff whose new side has a PDF: pdfium adds the annotations and the summary pages and
    writes the file; an incremental update then adds the outline, the page labels and the document's title (which
    pdfium cannot write), so no PDF library has to parse the whole document in Python."""
    import pypdfium2 as pdfium

    new_pdf = changes.new.pdf
    assert new_pdf is not None
    data = read_capped(new_pdf, MAX_PDF, changes.new.label)
    document = pdfium.PdfDocument(data)
    try:
        front = pdfium.PdfDocument(
            summary.result() if summary is not None else summary_pdf(changes, _first_page_size(document))
        )
        try:
            count = len(front)
            _annotate(document, changes)
            document.import_pages(front, index=0)
        finally:
            front.close()
        buffer = io.BytesIO()
        document.save(buffer)
    finally:
        document.close()
    word_notes = (
        "\n".join(f"{c.page} {c.kind} {c.old_text} {c.new_text}" for c in changes.pages.words) if changes.pages else ""
    )
    digest = hashlib.md5(data + word_notes.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    body = _stable_id(buffer.getvalue(), digest)
    return body + _update(body, changes, count, digest)


_TRAILER_ID = re.compile(rb"(/ID\s*\[\s*(?:\([^)]*\)|<[0-9A-Fa-f]*>)\s*)<([0-9A-Fa-f]{32})>(\s*\])")


def _stable_id(body: bytes, digest: str) -> bytes:
    """pdfium gives the saved file a random second identifier; this one is the digest of what the file shows
    (the same length, so no offset moves)."""
    matches = list(_TRAILER_ID.finditer(body))
    if not matches:
        return body
    last = matches[-1]
    return body[: last.start(2)] + digest.encode("ascii") + body[last.end(2) :]


def _update(body: bytes, changes: Changes, count: int, digest: str) -> bytes:
    """An incremental update (PDF 7.5.6) after ``body``: the outline (the summary, then each changed page, before
    the document's own bookmarks), page labels ("Changes 1" ..., then the document's pages from 1) and a title."""
    from pypdf import PdfReader
    from pypdf.generic import (
        ArrayObject,
        ByteStringObject,
        DictionaryObject,
        IndirectObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    reader = PdfReader(io.BytesIO(body))
    pages = [page.indirect_reference for page in reader.pages]
    size = int(reader.trailer["/Size"])
    objects: dict[int, Any] = {}

    def new(obj: Any) -> Any:
        number = size + len([n for n in objects if n >= size])
        objects[number] = obj
        return IndirectObject(number, 0, None)

    def destination(index: int) -> Any:
        return ArrayObject([pages[index], NameObject("/Fit")])

    catalog_ref = reader.trailer.raw_get("/Root")
    catalog = DictionaryObject({k: v for k, v in reader.trailer["/Root"].items() if k != "/Metadata"})
    old_ref = catalog.raw_get("/Outlines") if "/Outlines" in catalog else None
    old = old_ref.get_object() if old_ref is not None else None
    root_ref = old_ref if isinstance(old_ref, IndirectObject) else new(DictionaryObject())
    rows = _page_rows(changes)
    top = DictionaryObject({NameObject("/Title"): TextStringObject("What changed"), NameObject("/Parent"): root_ref})
    top[NameObject("/Dest")] = destination(0)
    items = [new(top)]
    if rows:
        parent = DictionaryObject(
            {NameObject("/Title"): TextStringObject(f"Changed pages ({len(rows)})"), NameObject("/Parent"): root_ref}
        )
        parent[NameObject("/Dest")] = destination(count + rows[0][0] - 1)
        parent_ref = new(parent)
        children = []
        for page, what in rows:
            child = DictionaryObject(
                {NameObject("/Title"): TextStringObject(f"Page {page}: {what}"), NameObject("/Parent"): parent_ref}
            )
            child[NameObject("/Dest")] = destination(count + page - 1)
            children.append((new(child), child))
        for k, (_, child) in enumerate(children):
            if k > 0:
                child[NameObject("/Prev")] = children[k - 1][0]
            if k + 1 < len(children):
                child[NameObject("/Next")] = children[k + 1][0]
        parent[NameObject("/First")], parent[NameObject("/Last")] = children[0][0], children[-1][0]
        parent[NameObject("/Count")] = NumberObject(len(children))
        top[NameObject("/Next")] = parent_ref
        parent[NameObject("/Prev")] = items[0]
        items.append(parent_ref)
    root = DictionaryObject({NameObject("/Type"): NameObject("/Outlines")})
    old_first = old.raw_get("/First") if old is not None and "/First" in old else None
    last = items[-1]
    if isinstance(old_first, IndirectObject):
        first_item = DictionaryObject(old_first.get_object())
        first_item[NameObject("/Prev")] = last
        objects[old_first.idnum] = first_item
        objects[last.idnum][NameObject("/Next")] = old_first
        root[NameObject("/Last")] = old.raw_get("/Last")
    else:
        root[NameObject("/Last")] = last
    root[NameObject("/First")] = items[0]
    visible = int(old.get("/Count", 0)) if old is not None else 0
    root[NameObject("/Count")] = NumberObject(max(visible, 0) + len(items) + (len(rows) if rows else 0))
    objects[root_ref.idnum] = root
    catalog[NameObject("/Outlines")] = root_ref
    catalog[NameObject("/PageMode")] = NameObject("/UseOutlines")
    labels = ArrayObject(
        [
            NumberObject(0),
            DictionaryObject({NameObject("/S"): NameObject("/D"), NameObject("/P"): TextStringObject("Changes ")}),
        ]
    )
    if len(pages) > count:
        labels += [NumberObject(count), DictionaryObject({NameObject("/S"): NameObject("/D")})]
    catalog[NameObject("/PageLabels")] = DictionaryObject({NameObject("/Nums"): labels})
    objects[catalog_ref.idnum] = catalog
    info_ref = reader.trailer.raw_get("/Info") if "/Info" in reader.trailer else None
    info = DictionaryObject(info_ref.get_object()) if info_ref is not None else DictionaryObject()
    title = str(info.get("/Title") or "memo")
    info[NameObject("/Title")] = TextStringObject(f"Changes: {title}")
    info[NameObject("/Producer")] = TextStringObject("memo diff (pdfium)")
    if info_ref is None:
        info_ref = new(info)
    objects[info_ref.idnum] = info
    first_id = reader.trailer["/ID"][0] if "/ID" in reader.trailer else ByteStringObject(bytes.fromhex(digest))
    trailer = DictionaryObject(
        {
            NameObject("/Size"): NumberObject(max(max(objects) + 1, size)),
            NameObject("/Root"): catalog_ref,
            NameObject("/Info"): info_ref,
            NameObject("/Prev"): NumberObject(_startxref(body)),
            NameObject("/ID"): ArrayObject([first_id, ByteStringObject(bytes.fromhex(digest))]),
        }
    )
    return _serialised(objects, trailer, len(body))


def _startxref(body: bytes) -> int:
    return int(re.findall(rb"startxref\s+(\d+)", body)[-1])


def _serialised(objects: dict[int, Any], trailer: Any, offset: int) -> bytes:
    out = io.BytesIO()
    out.write(b"\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = offset + out.tell()
        out.write(f"{number} 0 obj\n".encode("ascii"))
        objects[number].write_to_stream(out)
        out.write(b"\nendobj\n")
    xref = offset + out.tell()
    out.write(b"xref\n")
    for number in sorted(offsets):
        out.write(f"{number} 1\n{offsets[number]:010d} 00000 n\r\n".encode("ascii"))
    out.write(b"trailer\n")
    trailer.write_to_stream(out)
    out.write(f"\nstartxref\n{xref}\n%%EOF\n".encode("ascii"))
    return out.getvalue()
