"""The PDF stage's URL fetcher reads only project files; anything else fails the build."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from memo import fonts, pdf
from tests.conftest import ROOT

AS_OF = dt.date(2026, 5, 16)


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    project, out = tmp_path / "project", tmp_path / "project" / "build"
    out.mkdir(parents=True)
    (project / "inside.css").write_text("p { color: red }")
    (tmp_path / "secret.txt").write_text("secret")
    return project, out


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://{project}/../secret.txt",
        "file://{project}/build/../../secret.txt",
        "file://{project}/link-out.txt",
        "http://example.com/x.css",
        "https://example.com/font.ttf",
        "ftp://example.com/x",
        "file://otherhost/{project}/inside.css",
        "data:text/plain,hello",
    ],
)
def test_fetcher_refuses_anything_outside_the_project(layout: tuple[Path, Path], url: str) -> None:
    project, out = layout
    os.symlink(project.parent / "secret.txt", project / "link-out.txt")
    fetcher = pdf.make_fetcher([project, out], out / "fonts")
    assert fetcher.resolve(url.format(project=project)) is None


def test_fetcher_serves_project_files_and_fonts(layout: tuple[Path, Path]) -> None:
    project, out = layout
    fetcher = pdf.make_fetcher([project, out], out / "fonts")
    assert fetcher.resolve(f"file://{project}/inside.css") == (project / "inside.css").resolve()
    font = fonts.font_files()[0]
    assert fetcher.resolve(f"file://{out}/fonts/{font.name}") == font.path


def test_a_path_escape_in_the_html_fails_the_build(layout: tuple[Path, Path]) -> None:
    project, out = layout
    html = '<html><body><p>x</p><img src="../../secret.txt"></body></html>'
    with pytest.raises(pdf.RefusedURL, match=r"secret.txt; only files inside the project may be read"):
        pdf.write_pdf(html, out_dir=out, project_dir=project, as_of=AS_OF)


def test_a_remote_stylesheet_fails_the_build(layout: tuple[Path, Path]) -> None:
    project, out = layout
    html = '<html><head><link rel="stylesheet" href="https://example.com/x.css"></head><body>x</body></html>'
    with pytest.raises(pdf.RefusedURL, match=r"https://example.com/x.css"):
        pdf.write_pdf(html, out_dir=out, project_dir=project, as_of=AS_OF)


def test_project_files_are_allowed(layout: tuple[Path, Path]) -> None:
    project, out = layout
    html = f'<html><head><link rel="stylesheet" href="file://{project}/inside.css"></head><body><p>x</p></body></html>'
    assert pdf.write_pdf(html, out_dir=out, project_dir=project, as_of=AS_OF).startswith(b"%PDF")


SVG_PAGE = """<!doctype html>
<html lang="en">
<head><title>t</title><style>svg * {{ display: none }} p {{ font-size: 20px }}</style></head>
<body><p>before</p>{svg}<p>after</p></body>
</html>
"""
INLINE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60" viewBox="0 0 200 60" role="img">'
    '<title>a chart</title><rect width="200" height="60" fill="white"/><text x="10" y="40">drawn label</text>'
    '<svg x="120" y="0" width="80" height="60"><text x="0" y="40">inner label</text></svg></svg>'
)


@pytest.mark.parametrize("strict", [True, False], ids=["fast parse", "tinyhtml5 parse"])
def test_inline_svg_content_is_drawn_though_it_is_not_styled(layout: tuple[Path, Path], strict: bool) -> None:
    # the document's stylesheet does not reach into an inline SVG (WeasyPrint draws it from its own parse), so the
    # content memo sets aside while the page is styled comes back for the drawing, under either parse of the page
    import pypdfium2

    project, out = layout
    html = SVG_PAGE.format(svg=INLINE_SVG) + ("" if strict else "<!-- needs HTML5's rules -->")
    data = pdf.write_pdf(html, out_dir=out, project_dir=project, as_of=AS_OF)
    document = pypdfium2.PdfDocument(data)
    text = document[0].get_textpage().get_text_range()
    assert "before" in text and "drawn label" in text and "inner label" in text and "after" in text
    assert "drawn label" not in SVG_PAGE  # the SVG's own text, nowhere else


STYLE_CASES = """<!doctype html>
<html lang="en">
<head><title>t</title><style>
:root { --ink: #123456; --gap: 3mm }
body { font: 11pt/1.4 serif; color: var(--ink) }
.box { margin-inline-start: var(--gap); padding-block-end: calc(1em + 2%); border-left: 2px solid; width: 60% }
.rtl { direction: rtl; margin-inline-end: 5mm; text-indent: calc(10% + 1em) }
.deco { text-decoration: underline wavy red } .deco span { font-weight: bold }
.float { float: right; width: 20mm; height: 10mm; background: #eee }
.abs { position: absolute; top: 5mm; right: 5mm } table { border-collapse: collapse } td { border-bottom: 1px solid }
li { display: list-item; list-style: square inside } @page { margin: 15mm; @bottom-center { content: counter(page) } }
</style></head>
<body><div class="box"><p>An inline <em>child</em> inherits; its <a href="#x">link</a> does not set colour.</p></div>
<p class="rtl">Right to left, indented by a percentage and an em.</p>
<p class="deco">Decorated <span>and bold</span> text.</p><div class="float"></div><div class="abs">fixed</div>
<ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td id="x">b</td></tr></table></body></html>
"""


def _with_both_style_lookups(
    html: str, out: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[bytes, bytes]:
    """The PDF of ``html`` with memo's fast computed-style lookup, then with WeasyPrint's own."""
    from weasyprint.css import ComputedStyle

    pdf.start_renderer().join()
    pdf.patch_weasyprint()
    fast = ComputedStyle.__missing__
    assert fast is not fast.general
    made_fast = pdf.write_pdf(html, out_dir=out, project_dir=project, as_of=AS_OF)
    monkeypatch.setattr(ComputedStyle, "__missing__", fast.general)
    return made_fast, pdf.write_pdf(html, out_dir=out, project_dir=project, as_of=AS_OF)


def test_the_fast_style_lookup_gives_the_pdf_weasyprints_own_gives(
    layout: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, out = layout
    fast, general = _with_both_style_lookups(STYLE_CASES, out, project, monkeypatch)
    assert fast == general and fast.startswith(b"%PDF")


def test_the_fast_style_lookup_gives_the_memos_pdf_weasyprints_own_gives(
    bundled_build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = (bundled_build / "memo.html").read_text(encoding="utf-8")
    fast, general = _with_both_style_lookups(html, bundled_build, ROOT, monkeypatch)
    assert fast == general
    assert fast == (bundled_build / "memo.pdf").read_bytes()  # and it is the build's
