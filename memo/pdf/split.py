"""Where memo.html can be cut in two parts that WeasyPrint may lay out side by side (:mod:`memo.pdf.parts`).

A cut may fall only where the document starts a new page anyway: before a child of ``<body>`` (or of a plain
``<main>`` wrapper) whose style forces a page break. Which children do is the stylesheet's business, so WeasyPrint is
asked (:func:`memo.pdf.part.forced_breaks`) on a skeleton of the page: the same head, the same children, emptied. Of
the cuts it allows, the one that halves the HTML is taken: the parts then take about as long. Everything here is text
work on the HTML memo wrote; nothing is laid out, and the same HTML is always cut at the same place.

A part is a whole HTML document: the page's head, the wrappers' open tags, its children, and a rule that starts the
footnote counter where the part before it left it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
)
_ID = re.compile(r"""\sid\s*=\s*["']([^"']+)["']""")
_HREF = re.compile(r"""\shref\s*=\s*["']#([^"']+)["']""")
_FOOTNOTE = 'class="fn-body"'  # memo.render's footnote body, laid out as a CSS footnote

# What the parts cannot reproduce on their own: page selectors and breaks that depend on a page's place in the
# document, target-* functions other than a page number, counters the document keeps across its pages, and running
# elements (which a page may take from any page before it).
_WHOLE_DOCUMENT_ONLY = re.compile(
    r"@page[^{]*:(?:left|right|blank|nth\(|recto|verso)"
    r"|target-text|target-counters|counter-increment|counter-set|counter-reset|running\(|element\("
    r"|target-counter\([^,)]+,\s*(?!page\s*[,)])"
    r"|break-(?:before|after)\s*:\s*(?:left|right|recto|verso)|page-break-(?:before|after)\s*:\s*(?:left|right)"
)
# Page counters are a part's own outside page-margin boxes (the part's pages count from 1 there)
_PAGE_COUNTER = re.compile(r"counters?\(\s*pages?\s*[,)]")


def _outside_page_rules(css: str) -> str:
    """The stylesheet without its @page rules (and the margin rules nested in them)."""
    kept, at = [], 0
    while (start := css.find("@page", at)) >= 0:
        kept.append(css[at:start])
        depth, at = 0, css.find("{", start)
        while 0 <= at < len(css):
            depth += {"{": 1, "}": -1}.get(css[at], 0)
            at += 1
            if depth == 0:
                break
        if at < 0:
            return "".join(kept)
    return "".join(kept) + css[at:]


def cuttable(styles: str) -> bool:
    """Whether a page with these stylesheets can be laid out in parts that add up to the whole."""
    return not _WHOLE_DOCUMENT_ONLY.search(styles) and not _PAGE_COUNTER.search(_outside_page_rules(styles))


@dataclass(frozen=True)
class Unit:
    """One child of the body (or of the wrapper): the smallest piece a part is made of."""

    html: str
    wrapper: str  # "" for a child of <body>, else the wrapper's open tag


@dataclass(frozen=True)
class Part:
    html: str  # a whole document
    anchors: frozenset[str]  # ids the part holds
    refs: tuple[str, ...]  # '#name' links in it, first use first
    footnotes: int


@dataclass(frozen=True)
class Page:
    head: str  # up to and including <body ...>
    tail: str  # from </body>
    units: tuple[Unit, ...]

    def skeleton(self) -> str:
        """The page with each unit emptied to its open and close tag, in order: what :func:`breaks` styles."""
        body = []
        for wrapper, units in _by_wrapper(self.units):
            inner = "".join(f"{_open_tag(unit.html)}</{_tag_name(unit.html)}>" for unit in units)
            body.append(f"{wrapper}{inner}</{_tag_name(wrapper)}>" if wrapper else inner)
        return self.head + "".join(body) + self.tail

    def halves(self, forced: list[bool]) -> list[Part] | None:
        """The page in two parts, cut where a page break is forced and the HTML is nearest halved; None when no
        child but the first starts a page."""
        sizes = [len(unit.html) for unit in self.units]
        total, before, best = sum(sizes), 0, None
        for index, size in enumerate(sizes):
            if index > 0 and forced[index] and (best is None or abs(2 * before - total) < abs(2 * best[1] - total)):
                best = (index, before)
            before += size
        return None if best is None else self.parts([0, best[0]])

    def parts(self, starts: list[int]) -> list[Part]:
        """The parts that begin at the units numbered ``starts`` (the first is 0)."""
        bounds = [*starts, len(self.units)]
        parts, footnotes = [], 0
        for begin, end in itertools.pairwise(bounds):
            units = self.units[begin:end]
            inner = "".join(
                f"{wrapper}{''.join(u.html for u in group)}</{_tag_name(wrapper)}>"
                if wrapper
                else "".join(u.html for u in group)
                for wrapper, group in _by_wrapper(units)
            )
            counter = f"<style>html {{ counter-reset: footnote {footnotes} }}</style>" if footnotes else ""
            head = self.head if not counter else self.head.replace("</head>", counter + "</head>", 1)
            refs = list(dict.fromkeys(_HREF.findall(inner)))
            count = inner.count(_FOOTNOTE)
            parts.append(Part(head + inner + self.tail, frozenset(_ID.findall(inner)), tuple(refs), count))
            footnotes += count
        return parts


def page(html: str) -> Page | None:
    """The page cut into units, or None when it cannot be cut (one unit, or a stylesheet the parts would break)."""
    styles = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S))
    if not cuttable(styles) or '<link rel="stylesheet"' in html:
        return None
    body_open = re.search(r"<body\b[^>]*>", html)
    body_close = html.rfind("</body>")
    if body_open is None or body_close < body_open.end():
        return None
    head, body, tail = html[: body_open.end()], html[body_open.end() : body_close], html[body_close:]
    units: list[Unit] = []
    for start, end in _children(body):
        child = body[start:end]
        if child.startswith("<main>") and child.endswith("</main>"):
            units.extend(Unit(child[6 + s : 6 + e], "<main>") for s, e in _children(child[6:-7]))
        elif child.strip():
            units.append(Unit(child, ""))
    if len(units) < 2 or "".join(_strip_units(body, units)).strip():
        return None  # text between the children, or nothing to cut
    return Page(head, tail, tuple(units))


def _strip_units(body: str, units: list[Unit]) -> list[str]:
    """What of the body is not inside a unit or a wrapper tag: must be blank for the parts to add up to the page."""
    rest = body.replace("<main>", "").replace("</main>", "")
    for unit in units:
        rest = rest.replace(unit.html, "", 1)
    return [rest]


_TAG = re.compile(r"<!--.*?-->|<(/?)([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^>]*)?>", re.S)
_RAW_TEXT = frozenset(("script", "style", "textarea", "title"))
_RAW_TEXT_CLOSE = {name: re.compile(f"</{name}", re.I) for name in _RAW_TEXT}


def _children(fragment: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the top-level elements of an HTML fragment memo wrote (attribute values escaped)."""
    spans, depth, start, at = [], 0, 0, 0
    while (match := _TAG.search(fragment, at)) is not None:
        at = match.end()
        closing, name = match.group(1), (match.group(2) or "").lower()
        if not name:
            continue  # a comment
        if closing:
            depth -= 1
            if depth == 0:
                spans.append((start, at))
            continue
        if depth == 0:
            start = match.start()
        if name in _RAW_TEXT:
            closed = _RAW_TEXT_CLOSE[name].search(fragment, at)
            if closed is None:
                return []
            at = closed.start()
            depth += 1
            continue  # its close tag comes next
        if name in _VOID or match.group(0).endswith("/>"):
            if depth == 0:
                spans.append((start, at))
            continue
        depth += 1
    return spans if depth == 0 else []


def _by_wrapper(units: tuple[Unit, ...] | list[Unit]) -> list[tuple[str, list[Unit]]]:
    groups: list[tuple[str, list[Unit]]] = []
    for unit in units:
        if groups and groups[-1][0] == unit.wrapper:
            groups[-1][1].append(unit)
        else:
            groups.append((unit.wrapper, [unit]))
    return groups


def _open_tag(html: str) -> str:
    return html[: html.index(">") + 1]


def _tag_name(html: str) -> str:
    return re.match(r"<([a-zA-Z0-9-]+)", html).group(1)  # type: ignore[union-attr]
