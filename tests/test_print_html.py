"""What WeasyPrint reads of memo.html (memo.pdf.for_print): the same pages, with less to style and lay out."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pypdfium2
import weasyprint
from markupsafe import Markup

from memo import fonts, pdf
from memo.cache import Cache
from memo.render import PROVENANCE_OPEN

AS_OF = dt.date(2026, 5, 16)
CONTAINER = Markup(
    PROVENANCE_OPEN + '\n<div class="about" id="about-figure-a"><p>Formula: <code>x</code>.</p></div>\n</div>\n'
)


def test_the_hidden_descriptions_are_left_out_and_nothing_else() -> None:
    body = (
        '<p>A <span class="fig"><a class="fig-link" href="#figure-a" aria-describedby="about-figure-a">1</a></span></p>'
    )
    html = f"<html><body>{body}\n{CONTAINER}</body></html>"
    assert pdf.for_print(html) == f"<html><body>{body}\n</body></html>"


def test_a_page_without_the_container_is_unchanged() -> None:
    html = '<html><body><div class="provenance" hidden><p>kept: not the one render_html writes last</p></div><p>x</p></body></html>'
    assert pdf.for_print(html) == html


def test_a_word_break_opportunity_becomes_the_zero_width_space_weasyprint_draws_for_it() -> None:
    assert (
        pdf.for_print("<code>users.<wbr>conversion_<wbr>rate</code>")
        == "<code>users.\u200bconversion_\u200brate</code>"
    )


def _lines(html: str) -> list[str]:
    """The text of each line of a PDF WeasyPrint makes of ``html``, top to bottom."""
    document = pypdfium2.PdfDocument(io.BytesIO(weasyprint.HTML(string=html).write_pdf()))
    text = document[0].get_textpage().get_text_range()
    return [line.replace("\u200b", "").replace("\ufffe", "") for line in text.splitlines()]


def test_the_zero_width_space_breaks_a_narrow_cell_where_wbr_did() -> None:
    name = "valuation.<wbr>fdv_<wbr>ps_<wbr>next_<wbr>12m_<wbr>revenue"
    page = "<html><body style='width: 9em; font: 10pt monospace'><p><code>{}</code> and more words</p></body></html>"
    before, after = _lines(page.format(name)), _lines(pdf.for_print(page.format(name)))
    assert len(before) > 2 and after == before


def test_the_fonts_static_instances_are_reused_with_the_same_bytes(tmp_path: Path) -> None:
    html = (
        f"<html lang='en'><head><title>t</title><style>{fonts.font_face_css()}</style></head>"
        "<body><p style=\"font-family: 'Source Serif 4'; font-weight: 600\">Revenue 1,234</p></body></html>"
    )
    store = Cache(tmp_path / "cache")

    def build() -> bytes:
        return pdf.write_pdf(html, out_dir=tmp_path, project_dir=tmp_path, as_of=AS_OF, cache=store)

    pdf._FONT_INSTANCES.clear()
    first = build()
    assert list((tmp_path / "cache" / "font-instance").rglob("*")), "the instance is stored in the build cache"
    pdf._FONT_INSTANCES.clear()  # a new process: the instance comes from the cache
    assert build() == first
    assert build() == first  # from this process's memory
