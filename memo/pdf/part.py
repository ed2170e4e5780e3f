"""One of the two parts of memo.html, laid out by WeasyPrint beside the other (:mod:`memo.pdf.parts`).

A part is laid out without knowing where it sits: the first part does not know on which page the second part's
anchors fall (its contents list prints them), the second does not know how many pages come before it. So each part is
laid out with a plan (the pages of the build before, or an estimate), and when it has been paginated the two parts
tell each other what they found (:class:`Summary`), over a connection, in rounds: a part whose printed page numbers
the other's summary contradicts re-makes the pages that print them (WeasyPrint's own mechanism for a forward
reference), until neither part changes. Then each makes its page-margin boxes with the document's page numbers and
the running strings the first part left, draws and writes a PDF of its own, which :mod:`memo.pdf.join` joins.

Six small patches to WeasyPrint do that, each active only while a part is laid out (``_part``); a whole-document render
is untouched:

- ``TargetCollector.lookup_target`` answers a lookup of the other part's anchor with a target that holds its page;
- ``TargetCollector.cache_target_page_counters`` counts the second part's own anchors from its first page;
- ``make_all_pages`` (once per pagination pass) exchanges summaries and re-makes what they contradict;
- the page type's index is one more than WeasyPrint's in the second part (``@page :first`` is the document's first);
- ``make_margin_boxes`` gets the document's page number and page count;
- ``LayoutContext.get_string_set_for`` falls back to the running strings the first part left.
"""

from __future__ import annotations

import copy
import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

ROUNDS = 6  # exchanges before the parts are given up on (two suffice unless page counts keep moving)
PATIENCE = 600.0  # seconds to wait for the other part before giving up on it


class Unsettled(Exception):
    """The parts could not be laid out to add up to the whole document: it is laid out whole instead."""


@dataclass(frozen=True)
class Summary:
    """What a part tells the other after a pagination pass."""

    pages: int
    anchors: dict[str, int]  # anchor -> index of its page within the part


@dataclass(frozen=True)
class Leftovers:
    """What the first part tells the second once both are settled: what its margin boxes and footnotes need."""

    strings: dict[str, str]  # each named string's last value
    footnotes: int


@dataclass
class PartState:
    second: bool
    peer: Any  # a multiprocessing Connection to the other part
    foreign: frozenset[str]  # the anchors of the other part's HTML
    links_out: frozenset[str]  # those this part links to
    plan: dict[str, int]  # expected page number of the foreign anchors, and "" for the second part's first page - 1
    footnotes_before: int  # footnotes of the first part, as counted in its HTML
    offset: int = 0  # pages before this part (second part), as now believed
    total: int = 0  # pages of the document, once settled
    seeds: dict[str, str] = field(default_factory=dict)
    own: dict[str, tuple[int, dict[str, list[int]]]] = field(default_factory=dict)  # own anchor -> (index, counters)
    asked: set[str] = field(default_factory=set)  # the foreign anchors the part's content looked up
    settled: dict[str, int] = field(default_factory=dict)  # and the page numbers they settled on

    def exchange(self, message: Any) -> Any:
        self.peer.send(message)
        if not self.peer.poll(PATIENCE):
            raise Unsettled("the other part did not answer")
        try:
            return self.peer.recv()
        except (EOFError, OSError) as exc:
            raise Unsettled(f"the other part stopped: {exc}") from None


_part: ContextVar[PartState | None] = ContextVar("memo_pdf_part", default=None)
_ORIGINAL: dict[str, Any] = {}  # WeasyPrint's methods under the patches


class _NoCounters:
    """A stand-in for the box of an anchor in the other part: it holds no counters, only a page."""

    cached_counter_values: ClassVar[dict[str, list[int]]] = {}


@cache
def _patch() -> None:
    from weasyprint import layout
    from weasyprint.css import targets
    from weasyprint.layout import page as page_layout

    lookup_target = targets.TargetCollector.lookup_target

    def part_lookup(self: Any, anchor_token: Any, source_box: Any, css_token: Any, parse_again: Any) -> Any:
        state = _part.get()
        if state is not None:
            name = _anchor_name(anchor_token, source_box)
            if name in state.foreign:
                state.asked.add(name)
            if name in state.foreign and name not in self.target_lookup_items:
                item = targets.TargetLookupItem("up-to-date")
                item.target_box = _NoCounters
                item.cached_page_counter_values = {"page": [state.plan.get(name, 0)]}
                self.target_lookup_items[name] = item
        return lookup_target(self, anchor_token, source_box, css_token, parse_again)

    cache_target_page_counters = targets.TargetCollector.cache_target_page_counters

    def part_page_counters(self: Any, anchor_name: Any, values: Any, index: Any, page_maker: Any) -> Any:
        state = _part.get()
        if state is not None and state.second and not self.collecting:
            state.own[anchor_name] = (index, copy.deepcopy(values))
            values = _shifted(values, state.offset)
        return cache_target_page_counters(self, anchor_name, values, index, page_maker)

    targets.TargetCollector.lookup_target = part_lookup
    targets.TargetCollector.cache_target_page_counters = part_page_counters
    _ORIGINAL["cache_target_page_counters"] = cache_target_page_counters

    make_all_pages = layout.make_all_pages

    def part_make_all_pages(context: Any, root_box: Any, html: Any, pages: Any) -> Any:
        state = _part.get()
        if state is None:
            yield from make_all_pages(context, root_box, html, pages)
            return
        footnotes = context.footnotes.copy()

        def paginate_again(previous: list[Any]) -> list[Any]:
            context.footnotes = footnotes.copy()  # as layout_document does before each pass after the first
            return list(make_all_pages(context, root_box, html, previous))

        pages = list(make_all_pages(context, root_box, html, pages))
        pages = _settle(state, context, paginate_again, pages)
        yield from pages

    layout.make_all_pages = part_make_all_pages

    page_type = page_layout.PageType

    def part_page_type(side: Any, blank: Any, name: Any, index: int, groups: Any) -> Any:
        state = _part.get()
        return page_type(side, blank, name, index + (1 if state is not None and state.second else 0), groups)

    page_layout.PageType = part_page_type

    make_margin_boxes = layout.make_margin_boxes

    def part_margin_boxes(context: Any, page: Any, page_state: Any) -> Any:
        state = _part.get()
        if state is not None:
            page_state = copy.deepcopy(page_state)
            counters = page_state[1]
            counters["page"] = [counters.get("page", [context.current_page])[-1] + state.offset]
            counters["pages"] = [state.total]
        return make_margin_boxes(context, page, page_state)

    layout.make_margin_boxes = part_margin_boxes

    get_string_set_for = layout.LayoutContext.get_string_set_for

    def seeded_string_set_for(self: Any, page: Any, name: str, keyword: str = "first") -> Any:
        found = get_string_set_for(self, page, name, keyword)
        state = _part.get()
        if found or state is None or name not in state.seeds or keyword == "all-once":
            return found
        if any(number in self.string_set[name] for number in range(1, self.current_page + 1)):
            return found
        return (state.seeds[name],)  # the value the first part left

    layout.LayoutContext.get_string_set_for = seeded_string_set_for


def _shifted(values: dict[str, list[int]], offset: int) -> dict[str, list[int]]:
    if not offset or "page" not in values:
        return values
    return {**values, "page": [values["page"][-1] + offset]}


def _anchor_name(anchor_token: Any, source_box: Any) -> str | None:
    from weasyprint.css.targets import anchor_name_from_token
    from weasyprint.urls import get_url_tuple

    if anchor_token[0] == "attr()":
        attr_name, type_, fallback = anchor_token[1]
        value = source_box.element.get(attr_name, fallback)
        anchor_token = (
            ("string", value) if type_ == "string" else ("url", get_url_tuple(value, source_box.style.base_url))
        )
    return anchor_name_from_token(anchor_token)


def _summary(context: Any, pages: list[Any]) -> Summary:
    anchors: dict[str, int] = {}
    for index, entry in enumerate(context.page_maker[: len(pages)]):
        for name in entry[-1]["anchors"]:
            anchors.setdefault(name, index)
    return Summary(len(pages), anchors)


def _settle(state: PartState, context: Any, paginate: Any, pages: list[Any]) -> list[Any]:
    """Exchange summaries with the other part and re-make the pages they contradict, until neither part changes.
    Both parts take the same number of rounds: each says whether it changed, and both go on while either did."""
    previous_total = 0
    for _ in range(ROUNDS):
        _count_pages(context, len(pages))
        mine = _summary(context, pages)
        theirs: Summary = state.exchange(mine)
        _apply(state, context, mine, theirs)
        changed = _wants_another_pass(context, previous_total, len(pages))
        if not state.exchange(changed) and not changed:
            break
        if changed:
            previous_total = len(pages)
            pages = paginate(pages)
    else:
        raise Unsettled(f"the parts' page numbers did not settle in {ROUNDS} rounds")
    if not state.second and pages[-1].page_type.blank:
        raise Unsettled("the first part ends with footnotes moved past its last page, which the whole would not")
    for entry in context.page_maker:
        entry[-1]["content_changed"] = entry[-1]["pages_wanted"] = False  # settled: layout_document must not loop
    first, second = (theirs, mine) if state.second else (mine, theirs)
    state.total = first.pages + second.pages
    if missing := (state.asked - set(theirs.anchors)):
        raise Unsettled(f"the other part lays out no anchor {sorted(missing)[0]!r}")
    before = 0 if state.second else mine.pages
    state.settled = {name: before + theirs.anchors[name] + 1 for name in state.asked}
    if state.second:
        leftovers: Leftovers = state.exchange(None)
        if leftovers.footnotes != state.footnotes_before:
            raise Unsettled("the first part's footnotes are not the ones its HTML holds")
        state.seeds = leftovers.strings
    else:
        state.exchange(_leftovers(pages))
    return pages


def _count_pages(context: Any, total: int) -> None:
    """What layout_document does after each pass: every page's ``pages`` counter is the page count. A page whose
    content prints a page-based counter is re-made with it, which is how a forward reference gets its page."""
    for _, _, _, page_state, _ in context.page_maker:
        page_state[1]["pages"] = [total]


def _apply(state: PartState, context: Any, mine: Summary, theirs: Summary) -> None:
    """Give the part's page-number lookups the values the other part's summary implies, and mark the pages whose
    printed numbers change to be re-made."""
    collector, page_maker = context.target_collector, context.page_maker
    original = _ORIGINAL["cache_target_page_counters"]  # not the patch, which would shift the values again
    changed = False
    if state.second and theirs.pages != state.offset:
        state.offset, changed = theirs.pages, True
        for name, (index, values) in state.own.items():
            original(collector, name, _shifted(values, state.offset), index, page_maker)
    before = 0 if state.second else mine.pages
    for name in sorted(state.foreign & set(theirs.anchors)):
        item = collector.target_lookup_items.get(name)
        value = {"page": [before + theirs.anchors[name] + 1]}
        if item is not None and item.cached_page_counter_values != value:
            item.cached_page_counter_values, changed = value, True
    if changed:
        _reprint(collector, page_maker)


def _reprint(collector: Any, page_maker: list[Any]) -> None:
    """Compute again each content that prints a target's counter, and mark its page if the text changed. (WeasyPrint
    finds what a changed target affects by the target's name, which it does not keep for ``attr()`` references such as
    ``target-counter(attr(href), page)``.)"""
    for (box, css_token), item in collector.counter_lookup_items.items():
        if css_token != "content" or not item.missing_target_counters or item.page_maker_index is None:
            continue
        before = _text(box)
        item.parse_again(item.cached_page_counter_values)
        if _text(box) != before and 0 <= item.page_maker_index < len(page_maker):
            page_maker[item.page_maker_index][-1]["content_changed"] = True


def _text(box: Any) -> str:
    return "".join(getattr(child, "text", "") for child in box.descendants())


def _wants_another_pass(context: Any, previous_total: int, total: int) -> bool:
    """layout_document's own test for another pagination pass."""
    entries = context.page_maker
    return any(entry[-1]["content_changed"] for entry in entries) or (
        previous_total != total and any(entry[-1]["pages_wanted"] for entry in entries)
    )


def _leftovers(pages: list[Any]) -> Leftovers:
    strings: dict[str, str] = {}
    footnotes: set[int] = set()
    for page in pages:
        for box in page.descendants():
            string_set = box.string_set
            if string_set and string_set != "none":
                for name, text in string_set:
                    strings[name] = text
        for note in page.children[1].children:  # the page's footnote area
            footnotes.add(id(note.element))
    return Leftovers(strings, len(footnotes))


@dataclass(frozen=True)
class Made:
    pdf: bytes
    pages: int
    bookmarks: list[tuple[int, str, tuple[float, float], str]]  # WeasyPrint's page.bookmarks, page by page
    heights: list[float]
    asked: dict[str, int]  # the other part's anchors this part printed the page of, and that page


def make(html: str, state: PartState, *, base: Path, project_dir: Path, as_of: dt.date, store: Any) -> Made:
    """Lay out, draw and write one part with its peer; raises Unsettled when the parts cannot add up."""
    from weasyprint.urls import FatalURLFetchingError

    from memo import pdf

    pdf.patch_weasyprint()
    _patch()
    with pdf.printing(html, base, project_dir, as_of, store) as (document, _):
        token = _part.set(state)
        try:
            rendered = pdf.laid_out(document)
            held = {name for page in rendered.pages for name in page.anchors}
            for name in sorted(state.links_out - held):
                rendered.pages[-1].anchors[name] = (0, 0, 0, 0)  # keeps the link; the join points it at the other part
            data = pdf.written(rendered)
        except FatalURLFetchingError as exc:
            raise Unsettled(f"{exc}") from None
        finally:
            _part.reset(token)
    bookmarks = [list(page.bookmarks) for page in rendered.pages]
    heights = [page.height for page in rendered.pages]
    return Made(data, len(rendered.pages), bookmarks, heights, state.settled)


def forced_breaks(skeleton: str, *, base: Path, project_dir: Path) -> list[bool]:
    """For each child of the skeleton's body (and of its <main>), in order: does a forced page break come before it?
    A child inside a <main> that has margins, padding, borders or a background is never cut before (its decoration
    would repeat on each part). Only the stylesheets' cascade is computed: nothing is laid out."""
    from weasyprint.css import get_all_computed_styles
    from weasyprint.css.targets import TargetCollector

    from memo import pdf

    pdf.patch_weasyprint()
    html = pdf._document(skeleton, str(base) + "/", pdf.make_fetcher([project_dir, base], base / "fonts"))
    style_for = get_all_computed_styles(
        html, font_config=pdf.font_configuration(), page_rules=[], layers=[], target_collector=TargetCollector()
    )
    body = html.etree_element.find("{http://www.w3.org/1999/xhtml}body")
    if body is None:
        body = html.etree_element.find("body")
    units: list[tuple[Any, bool]] = []  # (element, inside a decorated wrapper)
    for child in body if body is not None else ():
        if _local(child.tag) == "main" and len(child):
            style = style_for(child)
            plain = style is not None and _undecorated(style)
            units.extend((grandchild, not plain) for grandchild in child)
        else:
            units.append((child, False))
    result, previous_after = [], False
    for element, decorated in units:
        style = style_for(element)
        before = style is not None and style["break_before"] == "page"
        result.append(not decorated and (before or previous_after))
        previous_after = style is not None and style["break_after"] == "page"
    return result


def _local(tag: Any) -> str:
    return str(tag).rpartition("}")[2]


def _undecorated(style: Any) -> bool:
    lengths = [style[f"{kind}_{side}"] for kind in ("margin", "padding") for side in ("top", "bottom")]
    borders = [style[f"border_{side}_width"] for side in ("top", "bottom")]
    return (
        all(getattr(v, "value", v) == 0 for v in lengths)
        and all(b == 0 for b in borders)
        and not any(image[0] != "none" for image in style["background_image"])
        and style["background_color"].alpha == 0
    )
