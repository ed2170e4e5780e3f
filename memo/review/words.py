"""The words of two PDFs, with their boxes, compared as one stream each: a text diff that reflow does not fool.

Each page's words are read with pypdfium2 (the text page's characters and their boxes, in PDF points), hyphenated
halves joined, ligatures and soft hyphens normalised away. The words of every page are then laid end to end, so a
paragraph that grew and pushed the rest of a chapter onto the next page changes only its own words. What repeats on
every page (running headers and footers, page numbers) is taken out of the stream and compared as a set of lines,
its page numbers masked, so it changes only when its text does; a block of words that merely moved (a footnote or
a float pushed to the next page) is not a change either.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF points (origin at the page's bottom left)

BAND = 0.055  # the top and bottom of a page, as a share of its height, where running heads and page numbers sit
EDGE_LINES = 2  # lines at a page's top or bottom that may be a running head or foot outside the band
REPEATED = 0.3  # a line at the page edge whose template is on this share of pages (and two at least) repeats
MIN_MOVE = 4  # words: a block at least this long deleted in one place and inserted in another only moved
CONTEXT = 6  # words of unchanged text shown either side of a change
HYPHENS = "-\u2010\u2011\u00ad"
SOFT = "\ufffe\u00ad\u200b"  # pdfium's mark for a hyphen at a line end; soft hyphen; zero-width space
NUMBER = re.compile(r"\d+")
_INNER_HYPHEN = re.compile(r"(?<=[^\W\d_])[-\u2010\u2011](?=[^\W\d_])")


def normalised(text: str) -> str:
    """A word as compared: ligatures and compatibility forms unfolded, soft and line-end hyphens dropped, and a
    hyphen between letters dropped (``privacy-first`` may be printed ``privacy-`` / ``first`` across a line end,
    which pdfium joins without its hyphen)."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if c not in SOFT)
    return _INNER_HYPHEN.sub("", text)


@dataclass(frozen=True)
class Word:
    text: str
    page: int  # 1-based
    boxes: tuple[Box, ...]  # one per line the word spans (two for a word hyphenated at a line end)
    key: str = field(init=False, compare=False)  # the text as compared

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", normalised(self.text))


@dataclass
class PageText:
    number: int
    size: tuple[float, float]  # width, height in points
    lines: list[list[Word]]  # in reading order

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line]


@dataclass
class WordChange:
    page: int  # the new page it is shown on
    old_page: int | None  # the old page the old words were on (or where new words went in)
    old: list[Word]
    new: list[Word]
    at: Box | None = None  # a removal: where on the new page the words were
    margin: bool = False  # in a running head or foot
    before: list[str] = field(default_factory=list)  # unchanged words around it, for showing it in context
    after: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "replaced" if self.old and self.new else "added" if self.new else "removed"

    @property
    def old_text(self) -> str:
        return " ".join(w.text for w in self.old)

    @property
    def new_text(self) -> str:
        return " ".join(w.text for w in self.new)

    @property
    def boxes(self) -> list[Box]:
        """The new words' boxes, or the removal's marker box."""
        if self.new:
            return [b for w in self.new for b in w.boxes]
        return [self.at] if self.at is not None else []


# ---------------------------------------------------------------- reading


def read_page(textpage: Any, number: int, size: tuple[float, float]) -> PageText:
    """A page's words and lines from a pypdfium2 text page."""
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count) if count else ""
    if len(text) != count:  # characters outside the BMP: one at a time, so indices stay character indices
        import pypdfium2.raw as raw

        text = "".join(chr(raw.FPDFText_GetUnicode(textpage.raw, i) or 0xFFFD) for i in range(count))
    words: list[Word] = []
    for match in re.finditer(r"\S+", text):
        start, end = match.span()
        pieces, begin = [], start
        for offset, char in enumerate(match.group(), start):
            if char == "\ufffe":  # pdfium's hyphen at a line end: the word goes on on the next line
                pieces.append((begin, offset))
                begin = offset + 1
        pieces.append((begin, end))
        boxes = tuple(_span_box(textpage, a, b) for a, b in pieces if b > a)
        shown = "".join(c for c in match.group() if c not in SOFT)
        if shown and boxes:
            words.append(Word(shown, number, boxes))
    return PageText(number, size, _joined_hyphens(_lines(words)))


def _span_box(textpage: Any, start: int, end: int) -> Box:
    boxes = [textpage.get_charbox(i, loose=True) for i in (start, end - 1)]
    (l0, b0, r0, t0), (l1, b1, r1, t1) = boxes
    return (round(min(l0, l1), 2), round(min(b0, b1), 2), round(max(r0, r1), 2), round(max(t0, t1), 2))


def _lines(words: Sequence[Word]) -> list[list[Word]]:
    """Words grouped into lines: a line ends where the next word is not beside the last one on the same baseline
    (it starts lower, to the left, or after a gap wider than two line heights, as between a running head's
    halves)."""
    lines: list[list[Word]] = []
    for word in words:
        if lines:
            last = lines[-1][-1].boxes[-1]
            box = word.boxes[0]
            height = max(min(last[3] - last[1], box[3] - box[1]), 1.0)
            overlap = min(last[3], box[3]) - max(last[1], box[1])
            gap = box[0] - last[2]
            if overlap > 0.5 * height and -0.5 * height < gap < 2 * height:
                lines[-1].append(word)
                continue
        lines.append([word])
    return lines


def _joined_hyphens(lines: list[list[Word]]) -> list[list[Word]]:
    """A line that ends in a hyphenated half (``ac-``) and a next line that starts in lower case: one word."""
    for k in range(len(lines) - 1):
        last, following = lines[k][-1], lines[k + 1]
        if following and _continues(last, following[0]):
            first = following.pop(0)
            lines[k][-1] = Word(last.text[:-1] + first.text, last.page, last.boxes + first.boxes)
    return [line for line in lines if line]


def _continues(last: Word, word: Word) -> bool:
    """Whether ``word`` ends the word ``last`` began: a hyphenated half (``ac-``) then a word in lower case."""
    return len(last.text) > 1 and last.text[-1] in HYPHENS and last.text[-2].isalpha() and word.text[:1].islower()


# ---------------------------------------------------------------- running heads and feet


def _line_text(line: Sequence[Word]) -> str:
    return " ".join(w.key for w in line)


def _in_band(line: Sequence[Word], height: float) -> bool:
    low = min(b[1] for w in line for b in w.boxes)
    high = max(b[3] for w in line for b in w.boxes)
    return low >= height * (1 - BAND) or high <= height * BAND


def _edge_lines(page: PageText) -> list[int]:
    count = len(page.lines)
    return sorted(set(range(min(EDGE_LINES, count))) | set(range(max(count - EDGE_LINES, 0), count)))


def margin_lines(pages: Sequence[PageText], others: Sequence[PageText]) -> set[tuple[int, int]]:
    """(page, line index) of the running heads and feet of ``pages``: lines in the band at the top or bottom of a
    page, and lines at a page's edge that are only a number or whose text (numbers masked) is at the edge of many
    pages, in this document or the other (``others``), so that a head that repeats on one side more than the other
    because the text reflowed is a margin line on both."""
    repeated: set[str] = set()
    for document in (pages, others):
        seen: dict[str, set[int]] = defaultdict(set)
        for page in document:
            for k in _edge_lines(page):
                seen[NUMBER.sub("#", _line_text(page.lines[k]))].add(page.number)
        needed = max(2, math.ceil(REPEATED * len(document)))
        repeated |= {template for template, numbers in seen.items() if len(numbers) >= needed}
    out = set()
    for page in pages:
        for k, line in enumerate(page.lines):
            template = NUMBER.sub("#", _line_text(line))
            if _in_band(line, page.size[1]) or (
                k in _edge_lines(page)
                and (template in repeated or re.fullmatch(r"[-\u2013\u2014 ]*#[-\u2013\u2014 ]*", template))
            ):
                out.add((page.number, k))
    return out


def margin_keys(pages: Sequence[PageText], margins: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """Each margin line's text as compared: numbers that count the pages (a slot that is the page number plus a
    constant on every page the line's template is on) and the page count after them are masked; other numbers (a
    date) are kept, so a changed date in a footer is a change."""
    by_template: dict[str, list[tuple[int, int, list[int]]]] = defaultdict(list)
    for number, k in sorted(margins):
        text = _line_text(pages[number - 1].lines[k])
        by_template[NUMBER.sub("#", text)].append((number, k, [int(n) for n in NUMBER.findall(text)]))
    out: dict[tuple[int, int], str] = {}
    for rows in by_template.values():
        slots = len(rows[0][2])
        masked: set[int] = set()
        offsets: set[int] = set()
        if len(rows) >= 2:
            for slot in range(slots):
                found = {values[slot] - number for number, _, values in rows}
                if len(found) == 1:
                    masked.add(slot)
                    offsets |= found
            for slot in set(range(slots)) - masked:
                if {values[slot] for _, _, values in rows} <= {len(pages) + offset for offset in offsets | {0}}:
                    masked.add(slot)
        for number, k, _ in rows:
            out[(number, k)] = _masked(_line_text(pages[number - 1].lines[k]), masked)
    return out


def _masked(text: str, slots: set[int]) -> str:
    """``text`` with its numbers at ``slots`` (counted from 0) shown as ``#``."""
    pieces = NUMBER.split(text)
    numbers = NUMBER.findall(text)
    return "".join(p + ("" if k == len(numbers) else "#" if k in slots else numbers[k]) for k, p in enumerate(pieces))


# ---------------------------------------------------------------- comparing


def diff(old: Sequence[PageText], new: Sequence[PageText]) -> list[WordChange]:
    """The word changes from ``old`` to ``new``, in the new document's order: the body text compared as one
    stream, the running heads and feet as a set of lines."""
    old_margins, new_margins = margin_lines(old, new), margin_lines(new, old)
    a = [w for p in old for k, line in enumerate(p.lines) if (p.number, k) not in old_margins for w in line]
    b = [w for p in new for k, line in enumerate(p.lines) if (p.number, k) not in new_margins for w in line]
    changes = _stream_changes(_across_pages(a), _across_pages(b))
    changes += _margin_changes(old, new, old_margins, new_margins)
    return sorted(changes, key=_shown_order)


def _across_pages(stream: Sequence[Word]) -> list[Word]:
    """A word hyphenated at the foot of a page and ended on the next (the running head between them taken out):
    one word, as it is when the same text falls within a page."""
    out: list[Word] = []
    for word in stream:
        last = out[-1] if out else None
        if last is not None and last.page != word.page and _continues(last, word):
            out[-1] = Word(last.text[:-1] + word.text, last.page, last.boxes)
            continue
        out.append(word)
    return out


def _shown_order(change: WordChange) -> tuple[int, float, float]:
    """Where a change shows on the new document: its page, then top to bottom, then left to right."""
    box = change.boxes[0] if change.boxes else (0.0, 0.0, 0.0, 0.0)
    return (change.page, -box[3], box[0])


def _stream_changes(a: Sequence[Word], b: Sequence[Word]) -> list[WordChange]:
    keys_a, keys_b = [w.key for w in a], [w.key for w in b]
    opcodes = _opcodes(keys_a, keys_b)
    moved_a, moved_b = _moved(keys_a, keys_b, opcodes)
    out: list[WordChange] = []
    for _, i1, i2, j1, j2 in opcodes:
        olds = _runs([i for i in range(i1, i2) if i not in moved_a])
        news = _runs([j for j in range(j1, j2) if j not in moved_b])
        for k in range(max(len(olds), len(news))):
            old = olds[k] if k < len(olds) else None
            new = news[k] if k < len(news) else None
            out += _change(a, b, old, new, i1, j1)
    return out


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib's opcodes (the equal ones left out) from ``a`` to ``b``, found between anchors: words that occur once
    on each side, in the same order (patience diff). SequenceMatcher over two whole documents is quadratic in the
    worst case; between anchors it compares a few words at a time, and the anchors are what it would match anyway."""
    out = []
    start_a = start_b = 0
    for i, j in [*_anchors(a, b), (len(a), len(b))]:
        matcher = difflib.SequenceMatcher(None, a[start_a:i], b[start_b:j], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                out.append((tag, start_a + i1, start_a + i2, start_b + j1, start_b + j2))
        start_a, start_b = i + 1, j + 1
    return out


def _anchors(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    """The longest increasing run of (i, j) pairs of words unique to both sides (patience sorting)."""
    count_a, count_b = Counter(a), Counter(b)
    where_b = {key: j for j, key in enumerate(b) if count_b[key] == 1}
    pairs = [(i, where_b[key]) for i, key in enumerate(a) if count_a[key] == 1 and key in where_b]
    tails: list[int] = []  # tails[k]: the index into pairs ending the best run of length k + 1
    previous: list[int] = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = _bisect(pairs, tails, j)
        if k > 0:
            previous[index] = tails[k - 1]
        if k == len(tails):
            tails.append(index)
        else:
            tails[k] = index
    run = []
    index = tails[-1] if tails else -1
    while index >= 0:
        run.append(pairs[index])
        index = previous[index]
    return run[::-1]


def _bisect(pairs: Sequence[tuple[int, int]], tails: Sequence[int], j: int) -> int:
    low, high = 0, len(tails)
    while low < high:
        middle = (low + high) // 2
        if pairs[tails[middle]][1] < j:
            low = middle + 1
        else:
            high = middle
    return low


def _moved(
    keys_a: Sequence[str], keys_b: Sequence[str], opcodes: Sequence[tuple[str, int, int, int, int]]
) -> tuple[set[int], set[int]]:
    """Words of deleted and inserted runs that are the same block of at least MIN_MOVE words elsewhere: text that
    only moved (reflow took a footnote or a float to another page)."""
    deleted = [(i1, i2) for _, i1, i2, _, _ in opcodes if i2 - i1 >= MIN_MOVE]
    inserted = [(j1, j2) for _, _, _, j1, j2 in opcodes if j2 - j1 >= MIN_MOVE]
    moved_a: set[int] = set()
    moved_b: set[int] = set()
    pending = [(d, i) for d in deleted for i in inserted]
    while pending:
        (i1, i2), (j1, j2) = pending.pop()
        match = difflib.SequenceMatcher(None, keys_a[i1:i2], keys_b[j1:j2], autojunk=False).find_longest_match()
        if match.size < MIN_MOVE:
            continue
        x, y = i1 + match.a, j1 + match.b
        moved_a.update(range(x, x + match.size))
        moved_b.update(range(y, y + match.size))
        # what is left of the two runs on either side of the block may still match other runs
        for left, right in (
            ((i1, x), (j1, y)),
            ((i1, x), (y + match.size, j2)),
            ((x + match.size, i2), (j1, y)),
            ((x + match.size, i2), (y + match.size, j2)),
        ):
            if left[1] - left[0] >= MIN_MOVE and right[1] - right[0] >= MIN_MOVE:
                pending.append((left, right))
    return moved_a, moved_b


def _runs(indices: Sequence[int]) -> list[range]:
    runs: list[range] = []
    for index in indices:
        if runs and runs[-1].stop == index:
            runs[-1] = range(runs[-1].start, index + 1)
        else:
            runs.append(range(index, index + 1))
    return runs


def _change(
    a: Sequence[Word], b: Sequence[Word], old: range | None, new: range | None, i1: int, j1: int
) -> list[WordChange]:
    """One change, split at the new document's page breaks."""
    old_words = [a[i] for i in old] if old else []
    before_b = new.start if new else j1
    after_b = new.stop if new else j1
    before = [w.text for w in b[max(before_b - CONTEXT, 0) : before_b]]
    after = [w.text for w in b[after_b : after_b + CONTEXT]]
    old_page = old_words[0].page if old_words else (a[min(i1, len(a) - 1)].page if a else None)
    if not new:
        anchor = b[j1 - 1] if j1 > 0 else (b[0] if b else None)
        if anchor is None:
            return []
        x0, y0, x1, y1 = anchor.boxes[-1] if j1 > 0 else anchor.boxes[0]
        at = (x1, y0, x1 + 1.0, y1) if j1 > 0 else (x0 - 1.0, y0, x0, y1)
        return [WordChange(anchor.page, old_page, old_words, [], at, before=before, after=after)]
    words = [b[j] for j in new]
    out = []
    for page in dict.fromkeys(w.page for w in words):
        part = [w for w in words if w.page == page]
        out.append(WordChange(page, old_page, old_words if not out else [], part, before=before, after=after))
    return out


def _margin_changes(
    old: Sequence[PageText],
    new: Sequence[PageText],
    old_margins: set[tuple[int, int]],
    new_margins: set[tuple[int, int]],
) -> list[WordChange]:
    """Running heads and feet whose text (page numbers masked) is on one side only, paired in order and compared
    word by word."""
    old_keys, new_keys = margin_keys(old, old_margins), margin_keys(new, new_margins)
    old_texts, new_texts = set(old_keys.values()), set(new_keys.values())
    gone = [(n, k) for n, k in sorted(old_keys) if old_keys[(n, k)] not in new_texts]
    came = [(n, k) for n, k in sorted(new_keys) if new_keys[(n, k)] not in old_texts]
    out: list[WordChange] = []
    for index in range(max(len(gone), len(came))):
        a = old[gone[index][0] - 1].lines[gone[index][1]] if index < len(gone) else []
        b = new[came[index][0] - 1].lines[came[index][1]] if index < len(came) else []
        if not b:
            continue  # a running head gone from every page: shown nowhere in the new document, listed by the page diff
        for change in _stream_changes(a, b):
            change.margin = True
            change.old_page = a[0].page if a else None
            out.append(change)
    return out


def boxes_json(boxes: Iterable[Box]) -> list[list[float]]:
    return [[round(v, 2) for v in box] for box in boxes]
