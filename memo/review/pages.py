"""PDF page diff: align the pages of two PDFs by their text, then compare aligned pages pixel by pixel, and the
two documents' words as one stream each (:mod:`memo.review.words`).

Aligning first means a page inserted, or a chapter that grew by a page, marks only the pages that really differ;
everything after them is compared with its true counterpart, not with whatever now sits at the same page number.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memo.review import words as text
from memo.review.sides import DiffTrouble

SCALE = 1.25  # 90 dpi: enough to read a figure, small enough to compare in milliseconds
PIXEL_TOLERANCE = 48  # a channel must move this much (of 255) to count; absorbs anti-aliasing
CELL = 8  # changed pixels are grouped into cells of this many pixels a side
MIN_CHANGED_PIXELS = 2  # fewer than this in a cell is noise
MATCH_THRESHOLD = 0.3  # pages less similar than this are never paired
FOOTER_BAND = 0.08  # the bottom of the page, where the running footer numbers pages
PAGE_NUMBER = re.compile(r"\bPage \d+ of \d+\b")
# What memo diff rasterises, at most, checked on the page sizes before any page is drawn (the bundled memo: 27 A4
# pages, 0.8 million pixels each). Pages are drawn two at a time, as they are compared.
MAX_PAGES = 300  # per PDF
MAX_PAGE_SIDE = 3600.0  # points (50 inches), width or height; A0 is 2384 x 3370
MAX_PIXELS = 250_000_000  # per PDF, at SCALE: about 320 A4 pages


@dataclass
class Page:
    number: int  # 1-based
    words: list[str]
    draw: Callable[[], np.ndarray] | None = None  # renders the page (H x W x 3, uint8) when it is first needed
    _image: np.ndarray | None = None
    text: text.PageText | None = None  # the words with their boxes
    crop: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # the crop box drawn, in points
    scale: float = SCALE

    def to_pixels(self, box: text.Box, pad: float = 1.0) -> tuple[int, int, int, int]:
        """A box in PDF points as pixels of the drawn page (y down from the top)."""
        left, _, _, top = self.crop
        x0, y0, x1, y1 = box
        s = self.scale
        return (
            math.floor((x0 - left - pad) * s),
            math.floor((top - y1 - pad) * s),
            math.ceil((x1 - left + pad) * s),
            math.ceil((top - y0 + pad) * s),
        )

    def to_points(self, box: tuple[int, int, int, int]) -> text.Box:
        left, _, _, top = self.crop
        x0, y0, x1, y1 = box
        s = self.scale
        return (round(left + x0 / s, 2), round(top - y1 / s, 2), round(left + x1 / s, 2), round(top - y0 / s, 2))

    @property
    def image(self) -> np.ndarray:
        if self._image is None:
            assert self.draw is not None
            self._image = self.draw()
        return self._image

    def release(self) -> None:
        """Drop the drawn image (it is drawn again if needed): only the pages being compared stay in memory."""
        if self.draw is not None:
            self._image = None


@dataclass
class PageChange:
    status: str  # "changed", "inserted" (only in new), "removed" (only in old)
    old: int | None
    new: int | None
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # x0, y0, x1, y1 on the shown page
    images: dict[str, bytes] = field(default_factory=dict)  # "old", "new", "highlighted" -> PNG
    regions: list[text.Box] = field(default_factory=list)  # changed pixels away from any word, in PDF points


@dataclass
class PageReport:
    old_pages: int
    new_pages: int
    pairs: list[tuple[int | None, int | None]]  # the alignment, 1-based
    changes: list[PageChange]
    words: list[text.WordChange] = field(default_factory=list)  # the text diff, in the new document's order
    sizes: dict[int, tuple[float, float]] = field(default_factory=dict)  # new page -> width, height in points


def check_bounds(document: Any, path: Path, scale: float = SCALE) -> None:
    """Refuse a PDF whose pages memo diff should not draw: too many, too large, or too many pixels in all."""
    count = len(document)
    if count > MAX_PAGES:
        raise DiffTrouble(f"memo diff: {path}: {count} pages, over the {MAX_PAGES} memo diff compares")
    pixels = 0.0
    for index in range(count):
        width, height = document.get_page_size(index)
        if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
            raise DiffTrouble(f"memo diff: {path}: page {index + 1} has no size ({width} x {height} pt)")
        if max(width, height) > MAX_PAGE_SIDE:
            raise DiffTrouble(
                f"memo diff: {path}: page {index + 1} is {width:.0f} x {height:.0f} pt, over the "
                f"{MAX_PAGE_SIDE:.0f} pt a side memo diff draws"
            )
        pixels += math.ceil(width * scale) * math.ceil(height * scale)
    if pixels > MAX_PIXELS:
        raise DiffTrouble(
            f"memo diff: {path}: its pages come to {pixels / 1e6:.0f} million pixels, over the "
            f"{MAX_PIXELS / 1e6:.0f} million memo diff draws"
        )


@contextmanager
def opened(path: Path, scale: float = SCALE) -> Iterator[list[Page]]:
    """The pages of a PDF, with their words read and their images drawn when first used; refused before anything
    is drawn when past the bounds (:func:`check_bounds`)."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
    except (pdfium.PdfiumError, OSError) as exc:
        raise DiffTrouble(f"memo diff: {path}: cannot read PDF ({exc})") from None
    try:
        check_bounds(document, path, scale)
        pages = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            bounded = PAGE_NUMBER.sub("Page # of #", textpage.get_text_bounded())
            words = text.read_page(textpage, index + 1, (page.get_width(), page.get_height()))

            def draw(index: int = index) -> np.ndarray:
                return np.asarray(document[index].render(scale=scale).to_pil().convert("RGB"))

            found = Page(index + 1, re.findall(r"\S+", bounded), draw, text=words, crop=page.get_cropbox(), scale=scale)
            pages.append(found)
        yield pages
    except pdfium.PdfiumError as exc:
        raise DiffTrouble(f"memo diff: {path}: cannot read PDF ({exc})") from None
    finally:
        document.close()


def read_pages(path: Path, scale: float = SCALE) -> list[Page]:
    """Every page of a PDF, drawn (within the bounds of :func:`check_bounds`)."""
    with opened(path, scale) as pages:
        for page in pages:
            page._image = page.image
            page.draw = None
        return pages


def _signature(words: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(words)) or {(w, "") for w in words}


def similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """Jaccard similarity of the pages' word pairs: 1 for the same text, near 0 for unrelated pages."""
    sa, sb = _signature(a), _signature(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def align(old: Sequence[Page], new: Sequence[Page]) -> list[tuple[int | None, int | None]]:
    """Pair pages in order, maximising total text similarity; unpaired pages were inserted or removed."""
    n, m = len(old), len(new)
    sim = [[similarity(o.words, p.words) for p in new] for o in old]
    best = np.zeros((n + 1, m + 1))
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            options = [best[i + 1, j], best[i, j + 1]]
            if sim[i][j] >= MATCH_THRESHOLD:
                options.append(best[i + 1, j + 1] + sim[i][j])
            best[i, j] = max(options)
    pairs: list[tuple[int | None, int | None]] = []
    i = j = 0
    while i < n or j < m:
        if i < n and j < m and sim[i][j] >= MATCH_THRESHOLD and best[i, j] == best[i + 1, j + 1] + sim[i][j]:
            pairs.append((i + 1, j + 1))
            i, j = i + 1, j + 1
        elif i < n and (j == m or best[i, j] == best[i + 1, j]):
            pairs.append((i + 1, None))
            i += 1
        else:
            pairs.append((None, j + 1))
            j += 1
    return pairs


def changed_boxes(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes around the regions where two renderings of a page differ (empty when they match)."""
    if a.shape != b.shape:
        height, width = b.shape[:2]
        return [(0, 0, width, height)]
    return _boxes_around(_moved(a, b))


def _moved(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The pixels that differ between two renderings of the same size, beyond the tolerance."""
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > PIXEL_TOLERANCE


def _boxes_around(moved: np.ndarray) -> list[tuple[int, int, int, int]]:
    if not moved.any():
        return []
    height, width = moved.shape
    rows, cols = -(-height // CELL), -(-width // CELL)
    padded = np.zeros((rows * CELL, cols * CELL), dtype=bool)
    padded[:height, :width] = moved
    counts = padded.reshape(rows, CELL, cols, CELL).sum(axis=(1, 3))
    cells = counts >= MIN_CHANGED_PIXELS
    return [_to_pixels(box, width, height) for box in _components(cells)]


def _components(cells: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (in cells) of groups of changed cells that touch, gaps of one cell bridged."""
    seen = np.zeros_like(cells)
    boxes = []
    rows, cols = cells.shape
    for r0, c0 in zip(*np.nonzero(cells), strict=True):
        if seen[r0, c0]:
            continue
        stack, box = [(r0, c0)], [c0, r0, c0, r0]
        seen[r0, c0] = True
        while stack:
            r, c = stack.pop()
            box = [min(box[0], c), min(box[1], r), max(box[2], c), max(box[3], r)]
            for dr in (-2, -1, 0, 1, 2):
                for dc in (-2, -1, 0, 1, 2):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < rows and 0 <= cc < cols and cells[rr, cc] and not seen[rr, cc]:
                        seen[rr, cc] = True
                        stack.append((rr, cc))
        boxes.append((int(box[0]), int(box[1]), int(box[2]), int(box[3])))
    return sorted(boxes, key=lambda b: (b[1], b[0]))


def _graphic_boxes(old: Page, new: Page, moved: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Where two aligned pages differ away from any word of either: a chart, a rule or an image that changed.
    Text that only moved (reflow) or changed (the text diff's words) is left out, so it is not boxed twice.
    ``moved`` is the pages' changed pixels (:func:`_moved`)."""
    words = np.zeros(moved.shape, dtype=bool)
    for page in (old, new):
        for word in page.text.words if page.text else []:
            for box in word.boxes:
                x0, y0, x1, y1 = page.to_pixels(box, pad=1.5)
                words[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
    return _boxes_around(moved & ~words)


def _to_pixels(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    pad = 4
    x0, y0, x1, y1 = box
    return (
        max(0, x0 * CELL - pad),
        max(0, y0 * CELL - pad),
        min(width, (x1 + 1) * CELL + pad),
        min(height, (y1 + 1) * CELL + pad),
    )


def _in_footer(box: tuple[int, int, int, int], image: np.ndarray) -> bool:
    """A change confined to the running footer of pages whose text is otherwise the same is a page-number change:
    every page after an inserted one has one, and reporting them would mark every later page."""
    return box[1] >= image.shape[0] * (1 - FOOTER_BAND)


def png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=3)  # speed over size: a review is read once
    return buffer.getvalue()


def highlighted(
    image: np.ndarray,
    boxes: Sequence[tuple[int, int, int, int]],
    words: Sequence[tuple[int, int, int, int]] = (),
) -> bytes:
    """The page with the changed regions boxed (orange) and the changed words of the text diff boxed (blue)."""
    from PIL import Image, ImageDraw

    base = Image.fromarray(image).convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for box in boxes:
        draw.rectangle(box, fill=(213, 94, 0, 40), outline=(213, 94, 0, 255), width=2)
    for box in words:
        draw.rectangle(box, fill=(0, 114, 178, 60), outline=(0, 114, 178, 255), width=2)
    buffer = io.BytesIO()
    Image.alpha_composite(base, overlay).convert("RGB").save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def compare(old_pdf: Path, new_pdf: Path, *, images: bool = True) -> PageReport:
    with opened(old_pdf) as old, opened(new_pdf) as new:
        pairs = align(old, new)
        word_changes = text.diff([p.text for p in old if p.text], [p.text for p in new if p.text])
        marked: dict[int, list[tuple[int, int, int, int]]] = {}
        for word_change in word_changes:
            page = new[word_change.page - 1]
            marked.setdefault(page.number, []).extend(page.to_pixels(box) for box in word_change.boxes)
        changes: list[PageChange] = []
        for a, b in pairs:
            change = _compare_pair(old[a - 1] if a else None, new[b - 1] if b else None, images, marked)
            for page in (old[a - 1] if a else None, new[b - 1] if b else None):
                if page is not None:
                    page.release()
            if change is not None:
                changes.append(change)
        sizes = {p.number: p.text.size for p in new if p.text}
        return PageReport(len(old), len(new), pairs, changes, word_changes, sizes)


def _compare_pair(
    old: Page | None, new: Page | None, images: bool, marked: dict[int, list[tuple[int, int, int, int]]]
) -> PageChange | None:
    if old is not None and new is not None:
        same_size = old.image.shape == new.image.shape
        moved = _moved(old.image, new.image) if same_size else None
        boxes = changed_boxes(old.image, new.image) if moved is None else _boxes_around(moved)
        if old.words == new.words:
            boxes = [box for box in boxes if not _in_footer(box, new.image)]
        if not boxes:
            return None
        change = PageChange("changed", old.number, new.number, boxes)
        if moved is not None:
            change.regions = [new.to_points(box) for box in _graphic_boxes(old, new, moved)]
        if images:
            words = marked.get(new.number, [])
            change.images = {
                "old": png(old.image),
                "new": png(new.image),
                "highlighted": highlighted(new.image, boxes, words),
            }
        return change
    if new is not None:
        image = new.image
        full = [(0, 0, image.shape[1], image.shape[0])]
        change = PageChange("inserted", None, new.number, full)
        if images:
            change.images = {"new": png(image), "highlighted": highlighted(image, full, marked.get(new.number, []))}
        return change
    assert old is not None
    image = old.image
    change = PageChange("removed", old.number, None, [(0, 0, image.shape[1], image.shape[0])])
    if images:
        change.images = {"old": png(image)}
    return change
