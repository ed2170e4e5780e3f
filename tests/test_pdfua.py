"""The PDF declares PDF/UA-1 (ISO 14289-1) and carries what that standard asks of a tagged document: the catalog's
marks, language and title display, XMP metadata naming the part and the title, every piece of page content either in
the structure tree or an artifact, tables with header cells, figures with alternate text, headings in order, links
with descriptions, embedded fonts. veraPDF, the reference validator, cannot be installed here (no Debian or npm
package, and the PyPI wrappers download its jar from Maven Central), so these are structural checks with pypdf of
the same rules. The mechanism is memo's PDF stage, not a project's templates: the second test project and a starter
project from ``memo new`` are held to the same checks."""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_lib
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, BooleanObject, DictionaryObject, IndirectObject, NullObject

from memo import pdf
from memo.scaffold import starter_files
from tests.bundled import BUNDLED, ROOT, build

AS_OF = dt.date(2026, 5, 16)
TRUE = BooleanObject(True)
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
# What paints: text, XObjects (images, groups), shadings and paths.
PAINTING = {"Tj", "TJ", "'", '"', "Do", "sh", "f", "F", "f*", "S", "s", "B", "B*", "b", "b*"}
TOKEN = re.compile(rb"<<.*?>>|<[0-9A-Fa-f\s]*>|\((?:\\.|[^\\()])*\)|/[^\s/<>\[\]()]*|[\[\]]|[^\s/<>\[\]()]+", re.S)


@pytest.fixture(scope="module")
def others(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[subprocess.Popen[str], Path]]]:
    """The second test project and a fresh starter project, each built by ``memo build`` in its own process (both
    at once, while the bundled memo builds in this one)."""
    root = tmp_path_factory.mktemp("pdfua-others")
    starter = root / "starter"
    for relative, data in starter_files().items():
        (starter / relative).parent.mkdir(parents=True, exist_ok=True)
        (starter / relative).write_bytes(data)
    projects = {"tollbridge": ROOT / "tests" / "projects" / "tollbridge", "starter": starter}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MEMO_CACHE_DIR": str(root / "cache")}
    runs = {
        name: (
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "memo",
                    "build",
                    "--project",
                    str(project),
                    "--out",
                    str(root / f"{name}-build"),
                ],
                cwd=root,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            ),
            root / f"{name}-build" / "memo.pdf",
        )
        for name, project in projects.items()
    }
    yield runs
    for run, _ in runs.values():
        if run.poll() is None:
            run.kill()
            run.wait()


def finished(others: dict[str, tuple[subprocess.Popen[str], Path]], name: str) -> Path:
    run, path = others[name]
    _, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, others: dict[str, tuple[subprocess.Popen[str], Path]]) -> Path:
    out = tmp_path_factory.mktemp("pdfua-build")
    build(BUNDLED, out)
    return out


@pytest.fixture(scope="module")
def reader(built: Path) -> PdfReader:
    return PdfReader(built / "memo.pdf")


@pytest.fixture(scope="module")
def memo_html(built: Path) -> str:
    return (built / "memo.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def elements(reader: PdfReader) -> list[tuple[int, DictionaryObject]]:
    return structure(reader)


def structure(reader: PdfReader) -> list[tuple[int, DictionaryObject]]:
    """The structure elements below the StructTreeRoot in document order, with their depth."""
    found: list[tuple[int, DictionaryObject]] = []

    def walk(kid: object, depth: int) -> None:
        if not isinstance(kid, IndirectObject):
            return  # a marked-content id
        element = kid.get_object()
        if not isinstance(element, DictionaryObject) or element.get("/Type") == "/OBJR":
            return
        found.append((depth, element))
        for child in kids(element):
            walk(child, depth + 1)

    for kid in kids(reader.trailer["/Root"]["/StructTreeRoot"].get_object()):
        walk(kid, 0)
    return found


def kids(element: DictionaryObject) -> list[object]:
    kid = element.get("/K")
    if kid is None:
        return []
    return list(kid) if isinstance(kid, ArrayObject) else [kid]


def descendants(element: DictionaryObject) -> Iterator[DictionaryObject]:
    for kid in kids(element):
        if isinstance(kid, IndirectObject) and kid.get_object().get("/S") is not None:
            yield kid.get_object()
            yield from descendants(kid.get_object())


def html_title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match, "the page has a <title>"
    return html_lib.unescape(match.group(1)).strip()


def assert_declares_pdf_ua(reader: PdfReader, title: str) -> None:
    catalog = reader.trailer["/Root"]
    assert reader.pdf_header == "%PDF-1.7"
    assert catalog["/MarkInfo"]["/Marked"] == TRUE
    assert str(catalog["/Lang"]) == "en"
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"] == TRUE
    assert reader.metadata is not None and reader.metadata.title == title
    xmp = ET.fromstring(catalog["/Metadata"].get_object().get_data())
    parts = [d.get("{http://www.aiim.org/pdfua/ns/id/}part") for d in xmp.iter(f"{RDF}Description")]
    assert [part for part in parts if part] == ["1"]
    dc_title = xmp.find(f".//{{http://purl.org/dc/elements/1.1/}}title/{RDF}Alt/{RDF}li")
    assert dc_title is not None and dc_title.text == title
    tree = catalog["/StructTreeRoot"].get_object()
    assert tree["/Type"] == "/StructTreeRoot" and "/ParentTree" in tree
    # standard structure types only, so no /RoleMap is needed
    assert "/RoleMap" not in tree and all(str(e["/S"]) in STANDARD_TYPES for _, e in structure(reader))


STANDARD_TYPES = {
    "/Document", "/Part", "/Art", "/Sect", "/Div", "/BlockQuote", "/Caption", "/NonStruct", "/P", "/H1", "/H2", "/H3",
    "/H4", "/H5", "/H6", "/L", "/LI", "/Lbl", "/LBody", "/Table", "/THead", "/TBody", "/TFoot", "/TR", "/TH", "/TD",
    "/Span", "/Link", "/Figure", "/Form", "/Note",
}  # fmt: skip


def operations(page: DictionaryObject) -> Iterator[tuple[list[bytes], str]]:
    """The page content's operators with their operands, by a small tokenizer (pypdf's ContentStream takes seconds a
    page): WeasyPrint writes no inline images, and marked-content properties are flat dictionaries."""
    operands: list[bytes] = []
    for token in TOKEN.findall(page["/Contents"].get_object().get_data()):
        if token[:1] in b"<(/[]" or re.fullmatch(rb"[+-]?[\d.]+", token):
            operands.append(token)
        else:
            yield operands, token.decode()
            operands = []


def marked_content(page: DictionaryObject) -> Iterator[tuple[list[str | int], str]]:
    """Each painting operator of the page's content, with the marked-content sequences it sits in (outermost first):
    an MCID for tagged content, the tag for anything else (``/Artifact``)."""
    stack: list[str | int] = []
    for operands, operator in operations(page):
        if operator == "BDC":
            mcid = re.search(rb"/MCID (\d+)", operands[1])
            stack.append(int(mcid.group(1)) if mcid else operands[0].decode())
        elif operator == "BMC":
            stack.append(operands[0].decode())
        elif operator == "EMC":
            stack.pop()
        elif operator in PAINTING:
            yield list(stack), operator


def pagination_artifacts(page: DictionaryObject) -> int:
    return sum(
        operator == "BDC" and operands[0] == b"/Artifact" and b"/Type /Pagination" in operands[1]
        for operands, operator in operations(page)
    )


def assert_all_content_tagged_or_artifact(reader: PdfReader) -> int:
    """Every page is tagged (/StructParents, /Tabs /S); every text or image it paints is either marked content whose
    parent-tree entry is an element of the structure tree, or inside an /Artifact. Returns the artifacts' count."""
    tree = reader.trailer["/Root"]["/StructTreeRoot"].get_object()
    in_tree = {e.indirect_reference.idnum for _, e in structure(reader)}
    nums = tree["/ParentTree"].get_object()["/Nums"]
    parents = dict(zip((int(n) for n in nums[::2]), nums[1::2], strict=True))
    artifacts = 0
    for number, page in enumerate(reader.pages):
        assert page["/StructParents"] == number and page["/Tabs"] == "/S"
        entries = parents[number].get_object()
        for stack, operator in marked_content(page):
            mcids = [m for m in stack if isinstance(m, int)]
            if "/Artifact" in stack:
                artifacts += 1
                continue
            assert mcids, f"page {number + 1}: {operator!r} outside any tagged content or artifact"
            entry = entries[mcids[-1]]
            assert not isinstance(entry, NullObject) and entry.idnum in in_tree, (number, mcids[-1])
    return artifacts


def headers_of(table: DictionaryObject) -> tuple[dict[str, DictionaryObject], list[DictionaryObject]]:
    cells = list(descendants(table))
    ths = {str(c["/ID"]): c for c in cells if c["/S"] == "/TH"}
    return ths, [c for c in cells if c["/S"] == "/TD"]


def test_the_catalog_and_metadata_declare_pdf_ua_1(reader: PdfReader, memo_html: str) -> None:
    assert_declares_pdf_ua(reader, html_title(memo_html))
    first, second = reader.trailer["/ID"]
    # a digest of the content (qpdf's, of the joined parts; pydyf's for a PDF laid out whole): the same bytes give the
    # same id, and a file made once has the same id twice
    assert first == second and len(first) in (16, 32)


def test_every_page_is_tagged_and_its_running_heads_are_artifacts(reader: PdfReader) -> None:
    artifacts = assert_all_content_tagged_or_artifact(reader)
    # The running heads and page numbers (four margin boxes, on every page but the cover) are pagination artifacts.
    pagination = [pagination_artifacts(page) for page in reader.pages]
    assert pagination[0] == 0 and all(count == 4 for count in pagination[1:])
    assert artifacts > 4 * (len(reader.pages) - 1)  # and the rules, borders and backgrounds


def test_tables_have_header_cells_for_their_columns_and_rows(elements: list[tuple[int, DictionaryObject]]) -> None:
    tables = [e for _, e in elements if e["/S"] == "/Table"]
    assert len(tables) >= 10
    both = 0
    for table in tables:
        rows = [e for e in descendants(table) if e["/S"] == "/TR"]
        assert rows and any(c["/S"] == "/TH" for r in rows for c in descendants(r))
        ths, tds = headers_of(table)
        assert tds
        for th in ths.values():
            assert th["/A"]["/O"] == "/Table" and th["/A"]["/Scope"] in ("/Row", "/Column")
        for td in tds:
            headers = [str(h) for h in td["/A"]["/Headers"]]
            assert headers and set(headers) <= set(ths), headers
            scopes = {ths[h]["/A"]["/Scope"] for h in headers}
            both += scopes == {"/Row", "/Column"}
    assert both > 100  # the row labels are row headers: a cell is announced with its row and its column


def test_every_chart_is_a_figure_whose_alt_is_its_svg_title(
    elements: list[tuple[int, DictionaryObject]], memo_html: str
) -> None:
    titles = [
        html_lib.unescape(t) for t in re.findall(r'<svg [^>]*class="chart"[^>]*><title[^>]*>(.*?)</title>', memo_html)
    ]
    figures = [e for _, e in elements if e["/S"] == "/Figure"]
    assert len(titles) >= 10
    assert [str(f["/Alt"]) for f in figures] == titles
    assert all(f["/A"]["/O"] == "/Layout" and len(f["/A"]["/BBox"]) == 4 for f in figures)


def test_headings_start_at_h1_and_skip_no_level(elements: list[tuple[int, DictionaryObject]], memo_html: str) -> None:
    levels = [int(str(e["/S"])[2]) for _, e in elements if re.fullmatch(r"/H[1-6]", str(e["/S"]))]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in pairwise(levels))
    assert levels.count(2) == len(re.findall(r"<h2[ >]", memo_html)) >= 10


def test_every_link_is_tagged_and_described(reader: PdfReader, elements: list[tuple[int, DictionaryObject]]) -> None:
    nums = reader.trailer["/Root"]["/StructTreeRoot"]["/ParentTree"]["/Nums"]
    parents = dict(zip((int(n) for n in nums[::2]), nums[1::2], strict=True))
    links = {e.indirect_reference.idnum for _, e in elements if e["/S"] == "/Link"}
    owners = {
        kid.get_object()["/Obj"].indirect_reference.idnum
        for _, e in elements
        if e["/S"] == "/Link"
        for kid in kids(e)
        if isinstance(kid, IndirectObject) and kid.get_object().get("/Type") == "/OBJR"
    }
    descriptions = []
    for page in reader.pages:
        for annotation in page.get("/Annots", []):
            link = annotation.get_object()
            assert link["/Subtype"] == "/Link"
            assert annotation.idnum in owners, "the annotation sits in a Link element"
            assert parents[link["/StructParent"]].get_object().indirect_reference.idnum in links
            descriptions.append(str(link["/Contents"]))
    assert descriptions and all(descriptions)
    # The contents page's entries are described by their titles, not their bare targets ("risks").
    assert "Risks" in descriptions and "risks" not in descriptions


def test_every_font_is_embedded_with_a_unicode_map(reader: PdfReader) -> None:
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            fonts[font.idnum] = font.get_object()
    assert fonts
    for font in fonts.values():
        descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)[
            "/FontDescriptor"
        ]
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.get_object()), font["/BaseFont"]
        assert "/ToUnicode" in font, font["/BaseFont"]


SMALL = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A small memo</title>
<meta name="dcterms.created" content="2026-05-16"><meta name="dcterms.modified" content="2026-05-16">
<style>@page { size: A5; @bottom-right { content: "Page " counter(page) } }</style></head><body>
<h1>A small memo</h1><p><a href="#t">The table</a></p>
<figure><svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" role="img"><title>A bar</title>
<rect width="40" height="20"/></svg></figure>
<table id="t"><thead><tr><th scope="col">Item</th><th scope="col">Value</th></tr></thead>
<tbody><tr><th scope="row">Tolls</th><td>12</td></tr></tbody></table></body></html>"""

RENDER_SMALL = """
import datetime as dt, hashlib, sys
from pathlib import Path
from memo import pdf
out = Path(sys.argv[1])
data = pdf.write_pdf(sys.stdin.read(), out_dir=out, project_dir=out, as_of=dt.date(2026, 5, 16))
print(hashlib.sha256(data).hexdigest())
"""


def test_the_pdf_stage_declares_pdf_ua_for_any_html_and_is_byte_identical_in_another_process(tmp_path: Path) -> None:
    data = pdf.write_pdf(SMALL, out_dir=tmp_path, project_dir=tmp_path, as_of=AS_OF)
    (tmp_path / "small.pdf").write_bytes(data)
    small = PdfReader(tmp_path / "small.pdf")
    assert_declares_pdf_ua(small, "A small memo")
    assert assert_all_content_tagged_or_artifact(small) == 1  # the page number
    th_item, th_value, th_row, td = (e for _, e in structure(small) if e["/S"] in ("/TH", "/TD"))
    assert [th["/A"]["/Scope"] for th in (th_item, th_value, th_row)] == ["/Column", "/Column", "/Row"]
    assert [str(h) for h in td["/A"]["/Headers"]] == [str(th_row["/ID"]), str(th_value["/ID"])]
    assert [str(e["/Alt"]) for _, e in structure(small) if e["/S"] == "/Figure"] == ["A bar"]
    assert [str(a.get_object()["/Contents"]) for a in small.pages[0]["/Annots"]] == ["The table"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "7"}
    other = subprocess.run(
        [sys.executable, "-c", RENDER_SMALL, str(tmp_path)], input=SMALL, env=env, capture_output=True, text=True
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", ["tollbridge", "starter"])
def test_the_other_projects_declare_pdf_ua_too(
    others: dict[str, tuple[subprocess.Popen[str], Path]], name: str, built: Path
) -> None:
    path = finished(others, name)
    reader = PdfReader(path)
    assert_declares_pdf_ua(reader, html_title((path.parent / "memo.html").read_text(encoding="utf-8")))
    assert assert_all_content_tagged_or_artifact(reader) > 0
    elements = structure(reader)
    assert any(e["/S"] == "/TH" and e["/A"]["/Scope"] == "/Row" for _, e in elements) or name == "tollbridge"
    assert all(str(e.get("/Alt", "")) for _, e in elements if e["/S"] == "/Figure")
