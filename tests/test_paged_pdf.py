"""The PDF as a publisher reads it: footnotes on the page of their call, sentences that keep their numbers in every
text extractor, contents made from the headings, and cross-references that name the right number and page."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pypdfium2
import pytest
import tinyhtml5
from pypdf import PdfReader

from memo import build as build_stage
from memo.errors import MemoError
from memo.options import BuildOptions
from memo.project import load_project
from tests.bundled import build
from tests.conftest import BUNDLED, ROOT

NS = "{http://www.w3.org/1999/xhtml}"
# What a reader's copy-paste and search ignore: line breaks, hyphenation (soft, or a hyphen at a line's end) and
# spacing. Squashed, a sentence must read the same in the HTML and in the PDF's text, numbers in place.
SQUASH = re.compile(r"[\s\u00ad\ufffe\u2010\u2011-]+")
MARGIN_LINES = 2  # the running header and footer, which both extractors give last on a page


def squash(text: str) -> str:
    return SQUASH.sub("", text)


@pytest.fixture(scope="module")
def built(bundled_build: Path) -> Path:
    return bundled_build


@pytest.fixture(scope="module")
def tree(bundled_tree):
    return bundled_tree


def _pdfium_pages(path: Path) -> list[str]:
    pdf = pypdfium2.PdfDocument(path)
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def _pypdf_pages(path: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(path).pages]


EXTRACTORS = {"pypdfium2": _pdfium_pages, "pypdf": _pypdf_pages}


def _body(page: str) -> str:
    """A page's text without its running header and footer (the cover has none)."""
    lines = page.splitlines()
    if lines and re.fullmatch(r"Data as of .+ Page \d+ of \d+", lines[-1].strip()):
        lines = lines[:-MARGIN_LINES]
    return "\n".join(lines)


def _classes(element) -> list[str]:
    return (element.get("class") or "").split()


def _reading_text(element, marks: bool = True) -> str:
    """The text a reader sees of an element, footnote bodies left out and each footnote call as ⟦N⟧."""
    parts: list[str] = []

    def walk(node) -> None:
        tag = node.tag.replace(NS, "") if isinstance(node.tag, str) else ""
        classes = _classes(node)
        if tag in ("script", "style", "svg") or "fn-body" in classes:
            parts.append(node.tail or "")
            return
        if "fn-call" in classes:
            parts.append(f"⟦{node.text}⟧" if marks else "")
            parts.append(node.tail or "")
            return
        parts.append(node.text or "")
        for child in node:
            walk(child)
        parts.append(node.tail or "")

    walk(element)
    return "".join(parts[:-1])  # not the element's own tail


def _main(tree):
    return next(tree.iter(f"{NS}main"))


# ---------------------------------------------------------------- 1. footnotes on the page of their call


def _footnotes(tree) -> list[tuple[int, str, str]]:
    """(number, the words before its call, its body) for every footnote, in order."""
    text = _reading_text(_main(tree))
    bodies = {
        int(call.text): re.sub(r"\s+", " ", "".join(body.itertext())).strip()
        for fn in tree.iter(f"{NS}span")
        if "fn" in _classes(fn)
        for call, body in [tuple(fn)]
    }
    notes = []
    for match in re.finditer(r"⟦(\d+)⟧", text):
        before = re.sub(r"⟦\d+⟧", "", text[: match.start()])
        notes.append((int(match.group(1)), squash(before)[-40:], bodies[int(match.group(1))]))
    return notes


def _page_of(needle: str, pages: list[str]) -> list[int]:
    """The 1-based pages whose text (squashed) holds ``needle``."""
    return [i + 1 for i, page in enumerate(pages) if needle in squash(page)]


def test_each_footnote_sits_on_the_page_of_its_call(built: Path, tree) -> None:
    notes = _footnotes(tree)
    assert [n for n, _, _ in notes] == list(range(1, len(notes) + 1)) and len(notes) >= 4
    pages = [_body(p) for p in _pdfium_pages(built / "memo.pdf")]
    seen = []
    for number, before, body in notes:
        call_pages = _page_of(before + str(number), pages)  # the call's digits follow the word they mark
        body_pages = _page_of(squash(f"{number}. {body}")[:60], pages)
        assert len(call_pages) == 1, (number, before, call_pages)
        assert body_pages == call_pages, f"footnote {number}: called on page {call_pages}, printed on {body_pages}"
        seen.append(body_pages[0])
    assert seen == sorted(seen)


def test_footnotes_stay_on_their_page_in_an_edited_build(tmp_path: Path) -> None:
    """Text that moves every call to another place on its page (a longer subtitle pushes nothing; a longer
    registration note does): the notes follow their calls."""
    build(BUNDLED, tmp_path, overrides=["users.registered.value=3100000", "token.price=2.5"])
    tree = tinyhtml5.parse((tmp_path / "memo.html").read_text(encoding="utf-8"))
    pages = [_body(p) for p in _pdfium_pages(tmp_path / "memo.pdf")]
    for number, before, body in _footnotes(tree):
        call_pages = _page_of(before + str(number), pages)
        assert call_pages and _page_of(squash(f"{number}. {body}")[:60], pages) == call_pages, number


# ---------------------------------------------------------------- 2. sentences keep their numbers in place


def _sentences_with_figures(tree, wanted: int = 14) -> list[str]:
    """Sentences of the prose that print figures, a few from each section, without footnote calls."""
    chosen: list[str] = []
    for section in _main(tree).iter(f"{NS}section"):
        taken = 0
        for paragraph in [*section.iter(f"{NS}p"), *section.iter(f"{NS}li")]:
            if not any("fig" in _classes(e) for e in paragraph.iter(f"{NS}span")):
                continue
            text = re.sub(r"\s+", " ", _reading_text(paragraph)).strip()
            for sentence in re.split(r"(?<=[.;:])\s+(?=[A-Z])", text):
                if "⟦" not in sentence and re.search(r"\d", sentence) and len(sentence) > 40 and taken < 3:
                    chosen.append(sentence)
                    taken += 1
    assert len(chosen) >= 12, chosen
    return chosen[:wanted]


@pytest.mark.parametrize("extractor", sorted(EXTRACTORS))
def test_every_extractor_reads_sentences_with_their_numbers_in_place(built: Path, tree, extractor: str) -> None:
    text = squash("".join(_body(p) for p in EXTRACTORS[extractor](built / "memo.pdf")))
    missing = [s for s in _sentences_with_figures(tree) if squash(s) not in text]
    assert missing == [], f"{extractor} reads these sentences otherwise: {missing}"


# ---------------------------------------------------------------- 3. contents made from the headings


def _sections(tree) -> list[tuple[str, str]]:
    found = []
    for section in _main(tree).iter(f"{NS}section"):
        heading = next((child for child in section if child.tag == f"{NS}h2"), None)
        if heading is not None and section.get("id"):
            found.append((section.get("id"), re.sub(r"\s+", " ", "".join(heading.itertext())).strip()))
    return found


def _contents(tree) -> list[tuple[str, str]]:
    nav = next(e for e in tree.iter(f"{NS}nav") if "toc" in _classes(e))
    return [(a.get("href").lstrip("#"), "".join(a.itertext()).strip()) for a in nav.iter(f"{NS}a")]


def _outline(path: Path) -> list[str]:
    return [item.title for item in PdfReader(path).outline if not isinstance(item, list)]


def _pdf_contents(pages: list[str]) -> dict[str, int]:
    page = next(p for p in pages if p.lstrip().startswith("Contents") or "\nContents" in p)
    return {m.group(1).strip(): int(m.group(2)) for m in re.finditer(r"^(.+?)[ .]*?(\d+)$", page, re.M)}


def test_the_contents_lists_every_section_with_its_page(built: Path, tree) -> None:
    sections = _sections(tree)
    assert len(sections) >= 10
    assert _contents(tree) == sections
    pages = [_body(p) for p in _pdfium_pages(built / "memo.pdf")]
    listed = _pdf_contents(pages)
    for _, title in sections:
        assert title in listed, title
        assert re.search(rf"^{re.escape(title)}$", pages[listed[title] - 1], re.M), (title, listed[title])
    assert [t for t in _outline(built / "memo.pdf") if t != "Contents"] == [t for _, t in sections]


def _project_copy(tmp_path: Path) -> Path:
    """A project with the bundled memo's files, its templates copied so a test can edit them."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("memo.yml", "model.yaml", "charts", "styles", "assets"):
        (project / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.copy(BUNDLED, project / "assumptions.yaml")
    return project


def _build_copy(project: Path, out: Path) -> None:
    options = BuildOptions.of(project / "assumptions.yaml", out, load_project(project))
    build_stage.build(options)


def test_a_new_section_reaches_the_contents_and_the_bookmarks(tmp_path: Path) -> None:
    project = _project_copy(tmp_path)
    (project / "templates" / "sections" / "outlook.html.j2").write_text(
        '<section class="chapter" id="outlook">\n<h2>What to watch next</h2>\n'
        "<p>Forward ARR of {{ fig('arr.forward') }}, as {{ ref('multiples') }} shows; see also {{ ref('risks') }}.</p>\n"
        "</section>\n"
    )
    page = project / "templates" / "memo.html.j2"
    page.write_text(
        page.read_text().replace(
            '{% include "sections/risks.html.j2" %}',
            '{% include "sections/risks.html.j2" %}\n{% include "sections/outlook.html.j2" %}',
        )
    )
    out = tmp_path / "out"
    _build_copy(project, out)
    tree = tinyhtml5.parse((out / "memo.html").read_text(encoding="utf-8"))
    titles = [title for _, title in _contents(tree)]
    assert titles[titles.index("Risks") + 1] == "What to watch next"
    outline = _outline(out / "memo.pdf")
    assert outline[outline.index("Risks") + 1] == "What to watch next"
    pages = [_body(p) for p in _pdfium_pages(out / "memo.pdf")]
    listed = _pdf_contents(pages)
    assert re.search(r"^What to watch next$", pages[listed["What to watch next"] - 1], re.M)
    text = re.sub(r"\s+", " ", pages[listed["What to watch next"] - 1])
    assert re.search(r"as Table \d+ on page \d+ shows; see also Risks on page \d+\.", text), text


# ---------------------------------------------------------------- 4. cross-references and numbered tables


def test_every_table_has_a_numbered_caption(tree) -> None:
    tables = list(_main(tree).iter(f"{NS}table"))
    assert len(tables) >= 8
    numbers = []
    for table in tables:
        caption = next((child for child in table if child.tag == f"{NS}caption"), None)
        assert caption is not None and caption.get("id"), "a table without a numbered caption"
        match = re.match(r"Table (\d+)\. \S", "".join(caption.itertext()).strip())
        assert match, "".join(caption.itertext())
        numbers.append(int(match.group(1)))
    assert numbers == list(range(1, len(tables) + 1))


def _target_label(tree, anchor: str) -> str:
    element = next(e for e in tree.iter() if isinstance(e.tag, str) and e.get("id") == anchor)
    if element.tag == f"{NS}figure":
        return next(e for e in element.iter(f"{NS}span") if "fig-no" in _classes(e)).text.rstrip(".")
    if element.tag == f"{NS}caption":
        return next(e for e in element.iter(f"{NS}span") if "tab-no" in _classes(e)).text.rstrip(".")
    heading = next(child for child in element if child.tag == f"{NS}h2")
    return "".join(heading.itertext()).strip()


def test_cross_references_name_their_target_and_its_page(built: Path, tree) -> None:
    refs = [a for a in tree.iter(f"{NS}a") if "xref" in _classes(a)]
    kinds = {next(c for c in _classes(a) if c.startswith("xref-")) for a in refs}
    assert len(refs) >= 5 and kinds == {"xref-figure", "xref-table", "xref-section"}
    pages = [re.sub(r"\s+", " ", _body(p)) for p in _pdfium_pages(built / "memo.pdf")]
    text = " ".join(pages)
    for a in refs:
        label = "".join(a.itertext())
        assert label == _target_label(tree, a.get("href").lstrip("#")), a.get("href")
        match = re.search(re.escape(label) + r" on page (\d+)", text)
        assert match, label
        target_page = pages[int(match.group(1)) - 1]
        mark = label + "." if label.startswith(("Figure", "Table")) else label
        assert mark in target_page, (label, match.group(1))


def test_a_reference_to_an_unknown_name_fails_at_its_line(tmp_path: Path) -> None:
    project = _project_copy(tmp_path)
    risks = project / "templates" / "sections" / "risks.html.j2"
    lines = risks.read_text().splitlines(keepends=True)
    lines.insert(3, "<p>See {{ ref('multiple') }}.</p>\n")
    risks.write_text("".join(lines))
    with pytest.raises(MemoError) as caught:
        _build_copy(project, tmp_path / "out")
    assert str(caught.value) == (
        "templates/sections/risks.html.j2:4: error: template: ref('multiple') names no chart, table or section"
        " (did you mean 'multiples'?)"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "{{ table_caption('a', 'One') }}{{ table_caption('a', 'Two') }}",
            r"memo.html.j2:1: error: template: table 'a' is placed twice \(first at .*memo.html.j2:1\)",
        ),
        ("{{ table_caption('two words', 'x') }}", r"'two words' cannot name a table"),
        (
            '<section id="a"><h2>A</h2></section>{{ table_caption("a", "x") }}{{ ref("a") }}',
            r"ref\('a'\) could mean a table or a section; write ref\('table:a'\) or ref\('section:a'\)",
        ),
    ],
)
def test_reference_mistakes_are_named(tmp_path: Path, template: str, message: str) -> None:
    from memo import render
    from tests.test_templates import _document

    (tmp_path / "memo.html.j2").write_text(template + "\n")
    with pytest.raises(MemoError, match=message):
        render.render_html(tmp_path, _document(), template="memo.html.j2", page="memo.html")


def test_qualified_and_forward_references_resolve(tmp_path: Path) -> None:
    from memo import render
    from tests.test_templates import _document

    (tmp_path / "memo.html.j2").write_text(
        "<p>{{ ref('table:a') }} and {{ ref('section:a') }} and {{ ref('b') }}</p>"
        '<section id="a"><h2>The <em>A</em> part</h2></section>'
        "<table>{{ table_caption('a', 'First') }}</table><table>{% call table_caption('b') %}Second{% endcall %}</table>"
        '<nav class="toc">{{ contents() }}</nav>\n'
    )
    html = render.render_html(tmp_path, _document(), template="memo.html.j2", page="memo.html")
    assert (
        '<a class="xref xref-table" href="#tab-a">Table 1</a> and '
        '<a class="xref xref-section" href="#a">The A part</a> and '
        '<a class="xref xref-table" href="#tab-b">Table 2</a>'
    ) in html
    assert '<ol class="contents"><li><a href="#a">The <em>A</em> part</a></li></ol>' in html
    assert '<caption id="tab-b"><span class="tab-no">Table 2.</span> Second</caption>' in html
