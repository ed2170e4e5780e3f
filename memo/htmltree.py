"""memo.html as the element tree WeasyPrint would parse from it, in a sixth of the time.

WeasyPrint parses HTML with tinyhtml5, an HTML5 parser in pure Python: 0.76 s for the bundled memo, every PDF. The
HTML memo renders is well-formed in the strict sense: every element it opens it closes, in order, with explicit
``html``, ``head`` and ``body`` and tables with explicit row groups. For such a document, HTML5's tree construction
adds nothing and the tree is the token stream nested as written, which the standard library's tokenizer (html.parser,
mostly regular expressions) gives in 0.13 s. The few rules HTML5 still applies to it are applied here: SVG's
mixed-case tag and attribute names, namespaced foreign attributes, the first of duplicate attributes, the line feed
dropped after ``<pre>``, where whitespace text goes around ``head`` and ``body``.

Anything outside that subset (an end tag that does not close the current element, an element HTML5 would close or
move implicitly, a character reference without its semicolon, a comment, CDATA, raw text elements other than script
and style) makes ``parse`` return None, and the caller hands the document to tinyhtml5. ``tests/test_htmltree.py``
checks that both parsers give the same tree for every project's memo.html.
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from typing import NamedTuple
from xml.etree.ElementTree import Element

SVG = "http://www.w3.org/2000/svg"


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


VOID = words("area base basefont bgsound br col embed frame hr img input keygen link meta param source track wbr")
# start tags that close an open <p> (HTML5 "in body" rules), and elements whose content HTML5 treats specially
CLOSES_P = words(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption figure footer header "
    "hgroup main menu nav ol p search section summary ul h1 h2 h3 h4 h5 h6 pre listing form plaintext table hr xmp "
    "li dd dt"
)
SPECIAL = words(
    "template select option optgroup frameset frame noscript noembed noframes iframe xmp plaintext textarea math "
    "image isindex applet marquee object ruby rb rp rt rtc"
)
NOT_NESTED = frozenset({"a", "button", "form", "nobr"})  # HTML5 closes an open one first
# what HTML5 lets stand as written inside table structure; anything else is moved or wrapped
TABLE_CHILDREN = {
    "table": frozenset({"caption", "colgroup", "thead", "tbody", "tfoot", "script", "style"}),
    "thead": frozenset({"tr", "script", "style"}),
    "tbody": frozenset({"tr", "script", "style"}),
    "tfoot": frozenset({"tr", "script", "style"}),
    "tr": frozenset({"td", "th", "script", "style"}),
    "colgroup": frozenset({"col"}),
}
SPACE = " \t\n\f\r"
BAD_REFERENCE = re.compile(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);)")
RAW_TEXT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)  # no references in it


class Unsupported(Exception):
    """The document needs HTML5's tree construction; the caller parses it with tinyhtml5."""


def parse(html: str) -> Element | None:
    """The ``html`` element of ``html``, as tinyhtml5.parse(html, namespace_html_elements=False) gives it, or None
    when the document is not in the subset this builder reproduces."""
    if "\r" in html or "\0" in html or BAD_REFERENCE.search(RAW_TEXT.sub("", html)):
        return None
    builder = _Builder()
    try:
        builder.feed(html)
        builder.close()
        return builder.finish()
    except Unsupported:
        return None


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: Element | None = None
        self.stack: list[Element] = []
        self.names: list[str] = []  # the open elements' names as written (lower case), for matching end tags
        self.phase = "initial"  # initial, before html, before head, in head, after head, in body, after body
        self.doctype = False
        self.drop_newline = False
        self.body: Element | None = None  # where HTML5 puts whitespace that follows </body>

    # ---------------------------------------------------------------- tokens

    def handle_decl(self, decl: str) -> None:
        if self.phase != "initial" or decl.lower() != "doctype html":
            raise Unsupported
        self.doctype, self.phase = True, "before html"

    def unknown_decl(self, data: str) -> None:
        raise Unsupported

    def handle_pi(self, data: str) -> None:
        raise Unsupported

    def handle_comment(self, data: str) -> None:
        raise Unsupported

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def handle_endtag(self, tag: str) -> None:
        if not self.names or self.names[-1] != tag:
            raise Unsupported
        self.names.pop()
        self.stack.pop()
        self.phase = {"head": "after head", "body": "after body", "html": "after html"}.get(tag, self.phase)

    def handle_data(self, data: str) -> None:
        if self.drop_newline:
            self.drop_newline = False
            data = data.removeprefix("\n")
        if not data:
            return
        blank = not data.strip(SPACE)
        if self.phase in ("initial", "before html", "before head"):
            if not blank:
                raise Unsupported
            return  # HTML5 ignores whitespace before <html> and before <head>
        if self.phase in ("after body", "after html"):
            # HTML5 appends whitespace after </body> (and after </html>) to the body
            if not blank or self.body is None:
                raise Unsupported
            _append_text(self.body, data)
            return
        parent = self.stack[-1]
        if parent.tag in TABLE_CHILDREN and not blank:
            raise Unsupported  # text in a table is moved before it
        _append_text(parent, data)

    # ---------------------------------------------------------------- tree

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        self.drop_newline = False
        foreign = bool(self.stack) and self.stack[-1].tag.startswith("{") and tag != "svg"
        if self.names and self.names[-1] == "title" and not self.stack[-1].tag.startswith("{"):
            raise Unsupported  # <title> holds text only (RCDATA)
        expected = {"before html": "html", "before head": "head", "after head": "body"}.get(self.phase)
        if self.phase == "initial" or (expected and tag != expected) or self.phase in ("after body", "after html"):
            raise Unsupported
        if foreign:
            if tag in _html5().breakout or tag == "font":
                raise Unsupported  # an HTML element ends the SVG
            name = f"{{{SVG}}}{_svg_tag(tag)}"
        elif tag == "svg":
            name = f"{{{SVG}}}svg"
        else:
            self._check_html(tag)
            name = tag
        element = Element(name, _attributes(attrs, svg=name.startswith("{")))
        if self.stack:
            self.stack[-1].append(element)
        else:
            self.root = element
        if tag == "html":
            self.phase = "before head"
        elif tag == "head":
            self.phase = "in head"
        elif tag == "body":
            self.phase, self.body = "in body", element
        void = not name.startswith("{") and tag in VOID
        if closed and not void and not name.startswith("{"):
            raise Unsupported  # "/>" on an HTML element is ignored, and it stays open
        if not (void or closed):
            self.stack.append(element)
            self.names.append(tag)
            self.drop_newline = tag in ("pre", "listing")

    def _check_html(self, tag: str) -> None:
        if tag in SPECIAL or (tag in ("html", "head", "body") and self.stack and self.names[-1] != _PARENT[tag]):
            raise Unsupported
        if tag in NOT_NESTED and tag in self.names:
            raise Unsupported
        if tag in CLOSES_P and "p" in self.names[self._last_scope() :]:
            raise Unsupported  # HTML5 closes the open paragraph first
        if tag in ("li", "dd", "dt") and any(name in ("li", "dd", "dt") for name in self.names[self._last_scope() :]):
            raise Unsupported
        if tag in _HEADINGS and self.names and self.names[-1] in _HEADINGS:
            raise Unsupported
        parent = self.stack[-1].tag if self.stack else None
        if parent in TABLE_CHILDREN and tag not in TABLE_CHILDREN[parent]:
            raise Unsupported
        if tag in _TABLE_PARENTS and parent not in _TABLE_PARENTS[tag]:
            raise Unsupported

    def _last_scope(self) -> int:
        """Where the innermost scope boundary HTML5's "has a p in button scope" stops at begins in the open stack."""
        for index in range(len(self.names) - 1, -1, -1):
            if self.names[index] in _SCOPE or self.stack[index].tag.startswith("{"):
                return index + 1
        return 0

    def finish(self) -> Element:
        if self.root is None or self.names or not self.doctype or self.phase not in ("after body", "after html"):
            raise Unsupported
        return self.root


_PARENT = {"html": "", "head": "html", "body": "html"}
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SCOPE = words(
    "applet caption html table td th marquee object template button ol ul"
)  # button scope, with the list-item scope's ol and ul
_TABLE_PARENTS = {
    "tr": frozenset({"thead", "tbody", "tfoot"}),
    "td": frozenset({"tr"}),
    "th": frozenset({"tr"}),
    "thead": frozenset({"table"}),
    "tbody": frozenset({"table"}),
    "tfoot": frozenset({"table"}),
    "caption": frozenset({"table"}),
    "colgroup": frozenset({"table"}),
    "col": frozenset({"colgroup"}),
}


def _append_text(parent: Element, data: str) -> None:
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + data
    else:
        parent.text = (parent.text or "") + data


def _attributes(attrs: list[tuple[str, str | None]], svg: bool) -> dict[str, str]:
    """HTML5's attribute list: the first of a repeated name wins, a bare attribute is empty, and on SVG elements the
    names get their SVG case and XML namespaces."""
    html5 = _html5()
    out: dict[str, str] = {}
    for name, value in attrs:
        if svg:
            name = html5.svg_attributes.get(name, name)
            if name in html5.foreign_attributes:
                _, local, namespace = html5.foreign_attributes[name]
                name = f"{{{namespace}}}{local}"
        out.setdefault(name, "" if value is None else value)
    return out


class _Tables(NamedTuple):
    breakout: frozenset[str]  # HTML elements that end foreign content
    svg_attributes: dict[str, str]  # lower-case name -> SVG's
    foreign_attributes: dict[str, tuple[str | None, str, str]]  # xlink:href -> (prefix, local name, namespace)


@cache
def _html5() -> _Tables:
    """tinyhtml5's own tables of these rules (imported when first needed: memo.pdf imports this module early)."""
    from tinyhtml5.constants import adjust_foreign_attributes, adjust_svg_attributes
    from tinyhtml5.parser import InForeignContentPhase

    return _Tables(InForeignContentPhase.breakout_elements, adjust_svg_attributes, adjust_foreign_attributes)


@cache
def _svg_tag(name: str) -> str:
    """An SVG element's name with HTML5's case adjustment (``clippath`` is ``clipPath``)."""
    from tinyhtml5.parser import InForeignContentPhase

    token = {"name": name}
    InForeignContentPhase.adjust_svg_tag_names(None, token)  # reads only the token
    return token["name"]
