"""What changed between two sides: inputs, figures, claims, prose (word by word), guards, charts and PDF pages.

:func:`compare` gathers them all into :class:`Changes`; the pieces (``input_changes``, ``figure_changes``) serve
memo publish's revisions page too. PDF pages are compared by :mod:`memo.review.pages`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memo import format as fmt
from memo.review.sides import MAX_HTML, MAX_PDF, MAX_SVG, DiffTrouble, Side, read_capped

if TYPE_CHECKING:
    from memo.review.pages import PageReport

MAX_CHART_BYTES = 64 * 1024 * 1024  # the changed charts' SVGs kept for the review page, both sides together
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "dt", "dd", "figcaption", "caption", "tr", "div", "section"}
CELLS = {"td", "th"}  # a table row reads as one line, its cells separated
SKIP_CLASSES = {"fn-call", "fn-body", "chart-body"}
GUARD = "data-guard"  # names a condition a sentence's words depend on, with its verdict (opaque to the diff)
XHTML = "{http://www.w3.org/1999/xhtml}"
POINTS = ("share", "change")  # units whose changes read in percentage points (a share, a relative change)


@dataclass
class FigureChange:
    name: str
    label: str
    unit: str
    old: dict[str, float] | None
    new: dict[str, float] | None
    caused_by: list[str]

    @property
    def status(self) -> str:
        return "added" if self.old is None else "removed" if self.new is None else "changed"

    def text(self, side: str) -> str:
        values = self.old if side == "old" else self.new
        if values is None:
            return "\u2014"
        shown = fmt.by_unit(values["value"], self.unit)
        if "low" in values:
            shown += f" ({fmt.span(values['low'], values['high'], self.unit)})"
        return shown

    @property
    def shown(self) -> bool:
        """Whether a reader can see the change: the value or its range reads differently at the memo's display
        precision. A change below it (2.6x -> 2.6x) is listed apart and counts toward the exit status only with
        ``memo diff --strict``."""
        return self.status != "changed" or self.text("old") != self.text("new")

    @property
    def absolute(self) -> float | None:
        return None if self.old is None or self.new is None else self.new["value"] - self.old["value"]

    @property
    def relative(self) -> float | None:
        if self.old is None or self.new is None or self.old["value"] == 0:
            return None
        return self.new["value"] / self.old["value"] - 1

    def change_text(self) -> str:
        if self.absolute is None:
            return self.status
        if self.unit in POINTS:
            points = self.absolute * 100
            text = f"{'+' if points >= 0 else fmt.MINUS}{fmt._sig(abs(points), 2)} pt"
        elif self.unit == "date":
            text = f"{self.absolute:+.0f} days"
        else:
            text = ("+" if self.absolute >= 0 else fmt.MINUS) + fmt.by_unit(abs(self.absolute), self.unit)
        if self.relative is not None and self.unit not in POINTS:
            text += f" ({'+' if self.relative >= 0 else ''}{fmt.pct(self.relative)})"
        return text


@dataclass
class SentenceChange:
    old: str | None
    new: str | None
    words: list[tuple[str, str]]  # ("equal" | "delete" | "insert", text)


@dataclass(frozen=True)
class Sentence:
    """A rendered sentence and the guards (``data-guard`` strings) of the elements that begin inside it."""

    text: str
    guards: tuple[str, ...] = ()


@dataclass
class GuardChange:
    """A sentence whose words are the same on both sides but whose guards (conditions and verdicts) differ."""

    sentence: str
    old: tuple[str, ...]
    new: tuple[str, ...]

    def pairs(self) -> list[tuple[str | None, str | None]]:
        """The guards that differ, old paired with new in order (None where one side has none)."""
        out: list[tuple[str | None, str | None]] = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, self.old, self.new, autojunk=False).get_opcodes():
            if op == "equal":
                continue
            olds, news = self.old[i1:i2], self.new[j1:j2]
            for k in range(max(len(olds), len(news))):
                out.append((olds[k] if k < len(olds) else None, news[k] if k < len(news) else None))
        return out


@dataclass
class Changes:
    old: Side
    new: Side
    inputs: list[dict[str, Any]] = field(default_factory=list)
    figures: list[FigureChange] = field(default_factory=list)
    prose: dict[str, list[SentenceChange]] = field(default_factory=dict)
    charts: list[dict[str, Any]] = field(default_factory=list)
    pages: PageReport | None = None  # None when the PDFs are identical or absent
    tool_changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    claims: list[dict[str, Any]] = field(default_factory=list)
    guards: dict[str, list[GuardChange]] = field(default_factory=dict)

    @property
    def shown_figures(self) -> list[FigureChange]:
        return [f for f in self.figures if f.shown]

    @property
    def hidden_figures(self) -> list[FigureChange]:
        """Figures whose change does not show at the memo's display precision."""
        return [f for f in self.figures if not f.shown]

    @property
    def any(self) -> bool:
        """Whether anything a reader can see differs (a figure changed below display precision does not count)."""
        return self.differs(strict=False)

    def differs(self, strict: bool) -> bool:
        """The exit status's question; ``strict`` also counts figures changed below display precision."""
        return bool(
            self.inputs
            or (self.figures if strict else self.shown_figures)
            or self.claims
            or self.prose
            or self.guards
            or self.charts
            or (self.pages and (self.pages.changes or self.pages.words))
        )


# ---------------------------------------------------------------- comparing


def _values(entry: Mapping[str, Any]) -> dict[str, float]:
    return {k: entry[k] for k in ("value", "low", "high") if k in entry and entry[k] is not None}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return a == b


def _same_values(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def _sourced_changed(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether an input credited to a source on both sides has a different value in the assumptions file.

    ``sourced`` is the value as the file gives it, before ``--set`` and ``--scenario``; builds that predate the key
    are never flagged.
    """
    if not a or not b or not a.get("source") or not b.get("source"):
        return False
    sa, sb = a.get("sourced"), b.get("sourced")
    if not isinstance(sa, Mapping) or not isinstance(sb, Mapping):
        return False
    return not _same_values(_values(sa), _values(sb))


def input_changes(old: Side, new: Side) -> list[dict[str, Any]]:
    """Inputs whose value differs, and sourced inputs whose value in the file differs (even if ``--set`` hid it)."""
    out = []
    for name in [*old.inputs, *(n for n in new.inputs if n not in old.inputs)]:
        a, b = old.inputs.get(name), new.inputs.get(name)
        va, vb = (_values(a) if a else None), (_values(b) if b else None)
        sourced_changed = _sourced_changed(a, b)
        if va is not None and vb is not None and _same_values(va, vb) and not sourced_changed:
            continue
        unit = (b or a)["unit"]
        for values in (va, vb):
            if values and unit != "date":  # the report prints a date input as the file gives it
                _printable(f"input {name}", unit, lambda v=values, u=unit: [fmt.by_unit(x, u) for x in v.values()])
        out.append({"name": name, "unit": unit, "old": va, "new": vb, "sourced_changed": sourced_changed})
    return out


def _printable(what: str, unit: str, show: Any) -> None:
    """Run ``show`` (the formatting the report will do) now, so that numbers a crafted figures.json holds that
    cannot be printed in their unit give one line (exit 2), not a traceback from the report."""
    try:
        show()
    except (ArithmeticError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise DiffTrouble(
            f"memo diff: {what}: its values cannot be printed as {unit!r} ({exc}); "
            "compare figures.json files memo wrote"
        ) from None


def _value_changed(change: Mapping[str, Any]) -> bool:
    old, new = change["old"], change["new"]
    return old is None or new is None or not _same_values(old, new)


def claim_changes(old: Side, new: Side) -> list[dict[str, Any]]:
    """Claims whose verdict or expression changed, and claims added or removed; the others are not listed."""
    a_claims, b_claims = old.claims, new.claims
    out = []
    for claim_id in [*a_claims, *(c for c in b_claims if c not in a_claims)]:
        a, b = a_claims.get(claim_id), b_claims.get(claim_id)
        va = None if a is None else {"result": a.get("result"), "holds": a.get("holds")}
        vb = None if b is None else {"result": b.get("result"), "holds": b.get("holds")}
        if va is None:
            status = "added"
        elif vb is None:
            status = "removed"
        elif va["result"] != vb["result"]:
            status = "verdict changed"
        elif va["holds"] != vb["holds"]:
            status = "expression changed"
        else:
            continue
        text = (b or a or {}).get("text", claim_id)
        out.append({"id": claim_id, "text": text, "old": va, "new": vb, "status": status})
    return out


def closure(figures: Mapping[str, Any], name: str, memo: dict[str, tuple[str, ...]] | None = None) -> set[str]:
    """The inputs a figure rests on, following the ``inputs`` lists of figures.json."""
    from memo.model import reach  # numpy comes with the model; identical builds never get here

    return set(reach({n: f.get("inputs", []) for n, f in figures.items()}, name, memo))


class _Causes:
    """The changed inputs each figure rests on, following figures.json's ``inputs`` lists like :func:`closure`, but
    without recursion (a crafted chain of references is as deep as it likes) and only through the changed inputs,
    with a budget on the work, so a crafted figures.json cannot exhaust the stack, the memory or the time."""

    BUDGET = 2_000_000  # references followed and causes carried, in all

    def __init__(self, figures: Mapping[str, Any], changed: set[str], side: Side) -> None:
        self.figures, self.changed, self.side = figures, changed, side
        self.memo: dict[str, frozenset[str]] = {}
        self.spent = 0

    def __call__(self, name: str) -> list[str]:
        stack = [(name, iter(self.figures[name].get("inputs", [])), set())]
        active = {name}
        while stack:
            current, refs, found = stack[-1]
            ref = next(refs, None)
            if ref is None:
                stack.pop()
                active.discard(current)
                self.memo[current] = frozenset(found)
                if stack:
                    stack[-1][2].update(found)
                continue
            self.spent += 1
            if self.spent > self.BUDGET:
                raise DiffTrouble(
                    f"memo diff: {self.side.label}: figures.json's figures refer to each other too much to follow"
                )
            if ref in self.figures and ref != current:
                if ref in self.memo:
                    self.spent += len(self.memo[ref])
                    found.update(self.memo[ref])
                elif ref not in active:  # a cycle contributes nothing (formulas are acyclic in a real build)
                    active.add(ref)
                    stack.append((ref, iter(self.figures[ref].get("inputs", [])), set()))
            elif ref in self.changed:
                found.add(ref)
        return sorted(self.memo[name])


def figure_changes(old: Side, new: Side, changed_inputs: set[str]) -> list[FigureChange]:
    out = []
    causes_in = {
        "new": _Causes(new.figures, changed_inputs, new),
        "old": _Causes(old.figures, changed_inputs, old),
    }
    for name in [*old.figures, *(n for n in new.figures if n not in old.figures)]:
        a, b = old.figures.get(name), new.figures.get(name)
        if a is not None and b is not None and _same_values(_values(a), _values(b)):
            continue
        entry = b or a
        causes = causes_in["new" if b is not None else "old"](name)
        change = FigureChange(
            name, entry.get("label", name), entry["unit"], _values(a) if a else None, _values(b) if b else None, causes
        )
        _printable(f"figure {name}", change.unit, lambda c=change: (c.text("old"), c.text("new"), c.change_text()))
        out.append(change)
    return out


def section_sentences(html: str) -> dict[str, list[str]]:
    """The rendered text of each section (and the cover), split into sentences; charts and notes left out."""
    return {section: [s.text for s in sentences] for section, sentences in section_guarded(html).items()}


def section_guarded(html: str) -> dict[str, list[Sentence]]:
    """Each section's sentences, as :func:`section_sentences` gives them, with the guards that begin in each.

    A guard (an element with ``data-guard``) begins at the first non-blank character of its text, so a guard whose
    element starts a sentence belongs to that sentence and not to the one before; an element with no text at all
    belongs where it stands. A sentence's guards are in document order.
    """
    import tinyhtml5

    tree = tinyhtml5.parse(re.sub(r"<svg\b.*?</svg>", "", html, flags=re.S))  # charts are compared on their own
    out: dict[str, list[Sentence]] = {}
    for element in tree.iter():
        tag = element.tag.removeprefix(XHTML) if isinstance(element.tag, str) else ""
        if tag in ("section", "div") and element.get("id") and (tag == "section" or element.get("id") == "cover"):
            stream = _Stream()
            stream.collect(element)
            out[element.get("id")] = stream.sentences()
    return out


def _nonblank(text: str) -> int:
    return len(re.sub(r"\s", "", text))


class _Stream:
    """The text of a section, as blocks, and where each guard begins (block, offset into the block's raw text)."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.current = ""
        self.guards: list[tuple[int, int, int, str]] = []  # order entered, block, offset, guard
        self.pending: list[tuple[int, str]] = []  # guards entered whose text has not begun yet
        self.entered = 0

    def add(self, text: str) -> None:
        if self.pending and text.strip():
            offset = len(self.current) + len(text) - len(text.lstrip())
            self.guards += [(order, len(self.blocks), offset, guard) for order, guard in self.pending]
            self.pending = []
        self.current += text

    def flush(self) -> None:
        self.blocks.append(self.current)
        self.current = ""

    def collect(self, element: Any) -> None:
        tag = element.tag.removeprefix(XHTML) if isinstance(element.tag, str) else ""
        if set((element.get("class") or "").split()) & SKIP_CLASSES or tag in ("svg", "style", "script"):
            if element.tail:
                self.add(element.tail)
            return
        block = tag in BLOCKS
        if block:
            self.flush()
        guard = element.get(GUARD)
        entry = None
        if guard is not None:
            entry = (self.entered, guard)
            self.entered += 1
            self.pending.append(entry)
        if element.text:
            self.add(element.text)
        for child in element:
            self.collect(child)
        if entry is not None and entry in self.pending:  # no text inside: the guard stands where its element ends
            self.pending.remove(entry)
            self.guards.append((entry[0], len(self.blocks), len(self.current), guard))
        if tag in CELLS:
            self.add(" \u00b7 ")
        if block:
            self.flush()
        if element.tail:
            self.add(element.tail)

    def sentences(self) -> list[Sentence]:
        by_block: dict[int, list[tuple[int, int, str]]] = {}
        for order, index, offset, guard in self.guards:
            by_block.setdefault(index, []).append((order, offset, guard))
        out: list[Sentence] = []
        for index, raw in enumerate(self.blocks):
            collapsed = re.sub(r"\s+", " ", raw)
            text = collapsed.strip(" \u00b7")
            if not text:
                continue
            parts = _sentences(text)
            if index not in by_block:
                out += [Sentence(part) for part in parts]
                continue
            # the split and the tidying only drop blanks (and leading dots), so a guard's place among the
            # non-blank characters tells the sentence it begins in
            lead = _nonblank(collapsed[: len(collapsed) - len(collapsed.lstrip(" \u00b7"))])
            ends, total = [], 0
            for part in parts:
                total += _nonblank(part)
                ends.append(total)
            guards: list[list[tuple[int, str]]] = [[] for _ in parts]
            for order, offset, guard in by_block[index]:
                position = max(_nonblank(raw[:offset]) - lead, 0)
                k = next((k for k, end in enumerate(ends) if position < end), len(parts) - 1)
                guards[k].append((order, guard))
            out += [
                Sentence(part, tuple(g for _, g in sorted(found))) for part, found in zip(parts, guards, strict=True)
            ]
        return out


def _sentences(block: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z$\u201c\"(0-9])", block) if s]


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    a, b = old.split(), new.split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("delete", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("insert", " ".join(b[j1:j2])))
    return out


def prose_changes(old_html: str, new_html: str) -> dict[str, list[SentenceChange]]:
    return sentence_changes(old_html, new_html)[0]


def guard_changes(old_html: str, new_html: str) -> dict[str, list[GuardChange]]:
    return sentence_changes(old_html, new_html)[1]


def sentence_changes(
    old_html: str, new_html: str
) -> tuple[dict[str, list[SentenceChange]], dict[str, list[GuardChange]]]:
    """Per section, the sentences whose words changed, and those whose words match but whose guards changed."""
    old, new = section_guarded(old_html), section_guarded(new_html)
    prose: dict[str, list[SentenceChange]] = {}
    guards: dict[str, list[GuardChange]] = {}
    for section in [*new, *(s for s in old if s not in new)]:
        sa, sb = old.get(section, []), new.get(section, [])
        a, b = [s.text for s in sa], [s.text for s in sb]
        changes: list[SentenceChange] = []
        guarded: list[GuardChange] = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal":
                for x, y in zip(sa[i1:i2], sb[j1:j2], strict=True):
                    if x.guards != y.guards:
                        guarded.append(GuardChange(x.text, x.guards, y.guards))
                continue
            olds, news = a[i1:i2], b[j1:j2]
            for k in range(max(len(olds), len(news))):
                o = olds[k] if k < len(olds) else None
                n = news[k] if k < len(news) else None
                changes.append(SentenceChange(o, n, word_diff(o or "", n or "")))
        if changes:
            prose[section] = changes
        if guarded:
            guards[section] = guarded
    return prose, guards


def chart_changes(old: Side, new: Side) -> list[dict[str, Any]]:
    names = [*new.charts, *(n for n in old.charts if n not in new.charts)]
    out = []
    kept = 0
    for name in names:
        a, b = _svg(old, name), _svg(new, name)
        if a is not None and a == b:
            continue
        kept += len(a or b"") + len(b or b"")
        if kept > MAX_CHART_BYTES:
            raise DiffTrouble(f"memo diff: the changed charts' SVGs are over {MAX_CHART_BYTES:,} bytes together")
        meta = new.charts.get(name) or old.charts.get(name) or {}
        out.append(
            {
                "name": name,
                "title": meta.get("title", name),
                "figures": meta.get("figures", []),
                "status": "added" if a is None else "removed" if b is None else "changed",
                "old_svg": _text(a, old, name),
                "new_svg": _text(b, new, name),
            }
        )
    return out


def _svg(side: Side, name: str) -> bytes | None:
    """A chart's SVG in a build folder (None when it has none); Side.file keeps the name inside the folder."""
    path = side.file(f"charts/{name}.svg")
    return None if path is None else read_capped(path, MAX_SVG, side.label)


def _text(data: bytes | None, side: Side, name: str) -> str | None:
    try:
        return None if data is None else data.decode("utf-8")
    except UnicodeDecodeError:
        raise DiffTrouble(f"memo diff: {side.label}: charts/{name}.svg is not UTF-8 text") from None


def _read(side: Side, name: str) -> bytes | None:
    """A build's file for comparing, size-capped like every file memo diff reads."""
    path = side.pdf if name == "memo.pdf" and side.build_dir is None else side.file(name)
    if path is None:
        return None
    limit = MAX_PDF if name == "memo.pdf" else MAX_SVG if name.endswith(".svg") else MAX_HTML
    return read_capped(path, limit, side.label)


def _identical(old: Side, new: Side) -> bool:
    if old.build_dir is None or new.build_dir is None:
        return old.pdf is not None and new.pdf is not None and _read(old, "memo.pdf") == _read(new, "memo.pdf")
    names = {"figures.json", "memo.html", "memo.pdf"}
    names |= {f"charts/{n}.svg" for n in (*old.charts, *new.charts)}
    return all(_read(old, name) == _read(new, name) for name in sorted(names))


def compare(
    old: Side,
    new: Side,
    *,
    page_images: bool = True,
    on_stage: Callable[[str], None] | None = None,
    before_pages: Callable[[Changes], None] | None = None,
) -> Changes:
    """Everything that differs between two sides; ``on_stage`` hears "compare" (inputs, figures, prose, charts)
    and "pages" (the PDFs' pages and words) end; ``before_pages`` sees the changes found before the pages are
    compared (the slowest part), to start work that needs only those."""
    mark = on_stage or (lambda stage: None)
    changes = Changes(old, new)
    if _identical(old, new):
        mark("compare")
        mark("pages")
        return changes
    if old.figures_data and new.figures_data:
        changes.inputs = input_changes(old, new)
        changes.figures = figure_changes(old, new, {c["name"] for c in changes.inputs if _value_changed(c)})
        changes.claims = claim_changes(old, new)
        old_versions = old.figures_data.get("build", {}).get("versions", {})
        new_versions = new.figures_data.get("build", {}).get("versions", {})
        changes.tool_changed = {
            k: (old_versions.get(k, "-"), new_versions.get(k, "-"))
            for k in sorted(set(old_versions) | set(new_versions))
            if old_versions.get(k) != new_versions.get(k)
        }
        old_html, new_html = _read(old, "memo.html"), _read(new, "memo.html")
        if old_html is not None and new_html is not None:
            changes.prose, changes.guards = sentence_changes(
                old_html.decode("utf-8", "replace"), new_html.decode("utf-8", "replace")
            )
        changes.charts = chart_changes(old, new)
    mark("compare")
    if before_pages is not None:
        before_pages(changes)
    if old.pdf and new.pdf and _read(old, "memo.pdf") != _read(new, "memo.pdf"):
        from memo.review.pages import compare as compare_pages  # numpy and pdfium, only when the PDFs differ

        changes.pages = compare_pages(old.pdf, new.pdf, images=page_images)
    mark("pages")
    return changes
