"""memo.htmltree gives the tree tinyhtml5 gives, or None; never a different tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest
import tinyhtml5

from memo import htmltree, pdf


def nodes(root: Element) -> list[tuple[Any, ...]]:
    """Every element in document order with its position, tag, attributes, text and tail."""
    out: list[tuple[Any, ...]] = []

    def walk(element: Element, path: str) -> None:
        out.append((path, element.tag, dict(element.attrib), element.text, element.tail))
        for index, child in enumerate(element):
            walk(child, f"{path}.{index}")

    walk(root, "0")
    return out


def same_as_html5(html: str) -> bool:
    """Whether memo.htmltree builds ``html`` (True) and then gives tinyhtml5's tree; None-returns are False."""
    tree = htmltree.parse(html)
    if tree is None:
        return False
    assert nodes(tree) == nodes(tinyhtml5.parse(html, namespace_html_elements=False))
    return True


def page(body: str, head: str = "<title>t</title>") -> str:
    return f'<!doctype html>\n<html lang="en">\n<head>\n{head}\n</head>\n<body>\n{body}\n</body>\n</html>\n'


def test_the_bundled_memo_as_weasyprint_reads_it(bundled_build: Path) -> None:
    html = pdf.for_print((bundled_build / "memo.html").read_text(encoding="utf-8"))
    assert same_as_html5(html)


def test_the_bundled_memo_as_written(bundled_build: Path) -> None:
    assert same_as_html5((bundled_build / "memo.html").read_text(encoding="utf-8"))


WELL_FORMED = {
    "paragraphs and inline markup": "<p>One <strong>two</strong> <a href='#x'>three</a>&nbsp;&amp; four</p>",
    "void elements": "<p>a<br>b<wbr>c<img src='x.png' alt=''></p><hr>",
    "a table with row groups": "<table><caption>c</caption><thead><tr><th scope='col'>h</th></tr></thead>\n"
    "<tbody><tr><td>1</td></tr></tbody></table>",
    "lists": "<ul><li>a</li><li><ol><li>b</li></ol></li></ul><dl><dt>t</dt><dd>d</dd></dl>",
    "SVG with mixed-case names": "<svg viewBox='0 0 10 10' xmlns='http://www.w3.org/2000/svg' "
    "xmlns:xlink='http://www.w3.org/1999/xlink'><title>x</title><defs><clipPath id='c'><rect width='1'/></clipPath>"
    "<linearGradient id='g' gradientUnits='userSpaceOnUse'/></defs><use xlink:href='#c'/><text>1 &lt; 2</text></svg>",
    "pre drops its first line feed": "<pre>\nline\n  two</pre>",
    "duplicate and bare attributes": "<p class='a' class='b' hidden>x</p>",
    "script and style raw text": "<script>if (a < b && c) {}</script><style>p > a { color: red }</style>",
    "character references": "<p>&#39;&#x27;&eacute;&lt;&gt;&quot;</p>",
}


@pytest.mark.parametrize("body", WELL_FORMED.values(), ids=WELL_FORMED.keys())
def test_well_formed_documents_are_built_as_html5_builds_them(body: str) -> None:
    assert same_as_html5(page(body))


NEEDS_HTML5 = {
    "an unclosed paragraph": "<p>one<p>two",
    "a block in a paragraph": "<p>one<div>two</div></p>",
    "a row without a row group": "<table><tr><td>1</td></tr></table>",
    "text in a table": "<table>x<tbody><tr><td>1</td></tr></tbody></table>",
    "a cell without a row": "<table><tbody><td>1</td></tbody></table>",
    "misnested inline elements": "<b><i>x</b></i>",
    "a link in a link": "<a href='#a'>one<a href='#b'>two</a></a>",
    "a list item left open": "<ul><li>one<li>two</ul>",
    "a comment": "<p>x<!-- note --></p>",
    "a reference without its semicolon": "<p>&copy 2026</p>",
    "a self-closed div": "<div/><p>x</p>",
    "an end tag with nothing open": "<p>x</p></div>",
    "an HTML element inside SVG": "<svg><p>x</p></svg>",
    "CDATA": "<svg><text><![CDATA[x]]></text></svg>",
    "a template": "<template><p>x</p></template>",
    "a carriage return": "<p>a\r\nb</p>",
}


@pytest.mark.parametrize("body", NEEDS_HTML5.values(), ids=NEEDS_HTML5.keys())
def test_documents_needing_html5_repair_are_left_to_tinyhtml5(body: str) -> None:
    assert not same_as_html5(page(body))


def test_a_tag_in_the_title_is_left_to_tinyhtml5() -> None:
    assert not same_as_html5(page("<p>x</p>", head="<title>a <b>b</b></title>"))  # the title holds text only


@pytest.mark.parametrize(
    "html",
    [
        "<html><head></head><body><p>x</p></body></html>",  # no doctype
        "<!doctype html><p>x</p>",  # implied html, head and body
        "<!doctype html><html><body><p>x</p></body></html>",  # no head
        "<!doctype html>x<html><head></head><body></body></html>",  # text before html
        "<!doctype html><html><head></head><body><p>x</p></body><p>after</p></html>",
        "<!doctype html><html><head></head><body><p>x</p>",  # left open
    ],
)
def test_documents_without_explicit_structure_are_left_to_tinyhtml5(html: str) -> None:
    assert htmltree.parse(html) is None


def test_whitespace_around_head_and_body_goes_where_html5_puts_it() -> None:
    assert same_as_html5(
        "<!doctype html>\n\n<html>\n  <head>\n  <title>t</title>\n  </head>\n  <body><p>x</p></body>\n\n</html>\n\n"
    )
