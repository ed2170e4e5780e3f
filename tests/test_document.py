"""The published memo: structural checks of memo.html and memo.pdf, reproducibility and safety."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tinyhtml5
from pypdf import PdfReader

from tests.bundled import build
from tests.conftest import BUNDLED, ROOT

NS = "{http://www.w3.org/1999/xhtml}"
SECTIONS = [
    "summary",
    "growth",
    "ladder",
    "market",
    "competition",
    "tokenomics",
    "scenarios",
    "risks",
    "methodology",
    "sources",
]


@pytest.fixture(scope="module")
def built(bundled_build: Path) -> Path:
    return bundled_build


@pytest.fixture(scope="module")
def tree(bundled_tree):
    return bundled_tree


def _text(element) -> str:
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()


def _by_class(tree, tag: str, cls: str) -> list:
    return [e for e in tree.iter(f"{NS}{tag}") if cls in (e.get("class") or "").split()]


def test_outputs_exist(built: Path) -> None:
    names = {p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()}
    assert {"figures.json", "memo.html", "memo.pdf"} <= names
    charts = json.loads((built / "figures.json").read_text())["charts"]
    for name in charts:
        assert f"charts/{name}.vl.json" in names and f"charts/{name}.svg" in names
        spec = json.loads((built / "charts" / f"{name}.vl.json").read_text())
        assert "mark" in spec or "layer" in spec or "hconcat" in spec or "vconcat" in spec or "concat" in spec


def test_html_has_every_section_with_a_heading(tree) -> None:
    ids = {e.get("id"): e for e in tree.iter(f"{NS}section")}
    for section in SECTIONS:
        assert section in ids, section
        assert ids[section].find(f"{NS}h2") is not None, section
    nav = next(e for e in tree.iter(f"{NS}nav") if "toc" in (e.get("class") or ""))
    toc = [a.get("href") for a in nav.iter(f"{NS}a")]
    assert [f"#{s}" for s in SECTIONS] == [h for h in toc if h[1:] in SECTIONS]


def test_charts_are_numbered_inline_svg_with_alt_text(tree, built: Path) -> None:
    figures = _by_class(tree, "figure", "chart-figure")
    assert len(figures) >= 8
    numbers = [_text(_by_class(f, "span", "fig-no")[0]) for f in figures]
    assert numbers == [f"Figure {i}." for i in range(1, len(figures) + 1)]
    for figure in figures:
        svg = figure.find(".//{http://www.w3.org/2000/svg}svg")
        assert svg is not None and svg.get("role") == "img"
        title = svg.find("{http://www.w3.org/2000/svg}title")
        assert title is not None and len(_text(title)) > 20
        assert _text(_by_class(figure, "p", "chart-source")[0]).startswith("Source")
    recorded = json.loads((built / "figures.json").read_text())["charts"]
    assert sorted(c["number"] for c in recorded.values()) == list(range(1, len(figures) + 1))
    assert all(c["figures"] or c["content"] for c in recorded.values())
    assert recorded["privacy_ladder"]["content"] == ["templates/content/ladder.yaml"]


def test_svg_ids_are_unique_across_the_page(built: Path) -> None:
    ids = re.findall(r'\bid="([^"]+)"', (built / "memo.html").read_text(encoding="utf-8"))
    assert len(ids) == len(set(ids))


def test_no_request_leaves_the_page(built: Path, tree) -> None:
    html = (built / "memo.html").read_text(encoding="utf-8")
    for element in tree.iter():
        for attribute in ("src", "href", "srcset", "action", "poster", "data"):
            value = element.get(attribute) or ""
            assert not re.match(r"^\s*(https?:|//|ftp:)", value, re.I), (element.tag, value)
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", html, re.I)
    assert not re.search(r"@import", html)
    scripts = list(tree.iter(f"{NS}script"))
    assert sorted(s.get("src") for s in scripts if s.get("src")) == [
        "assets/explorer.js",
        "assets/vega-interpreter.js",
        "assets/vega.js",
    ]
    assert all(s.get("type") == "application/json" for s in scripts if not s.get("src"))  # data, never run
    csp = [m.get("content") for m in tree.iter(f"{NS}meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0] and "script-src 'self';" in csp[0] and "unsafe-eval" not in csp[0]


def test_every_printed_figure_carries_its_provenance(tree, built: Path) -> None:
    figures = json.loads((built / "figures.json").read_text())["figures"]
    spans = [e for e in _by_class(tree, "span", "fig") if e.get("data-figure")]
    assert len(spans) > 100
    for span in spans:
        name = span.get("data-figure")
        link = span.find(f"{NS}a")  # the focusable number: a link to its appendix row, described for screen readers
        assert link is not None and link.get("aria-describedby"), name
        assert figures[name]["formula"] in span.get("data-tip"), name
    appendix_rows = {e.get("id") for e in tree.iter(f"{NS}tr") if (e.get("id") or "").startswith("figure-")}
    assert appendix_rows == {f"figure-{name}" for name in figures if not name.startswith("scenario.")}


def test_estimates_are_marked(tree) -> None:
    marked = [e for e in _by_class(tree, "span", "fig") if e.find(f"{NS}sup") is not None]
    assert {e.get("data-figure") or e.get("data-input") for e in marked} >= {"growth.new_sub_arr_week2"}


def test_source_differences_are_stated(tree) -> None:
    methodology = next(e for e in tree.iter(f"{NS}section") if e.get("id") == "methodology")
    text = _text(methodology)
    assert "$7.0B–$24B" in text and "$70B–$23B" in text
    assert "34%" in text and "30%" in text


PDF_PAGES = range(14, 40)


@pytest.fixture(scope="module")
def pdf(built: Path) -> PdfReader:
    return PdfReader(built / "memo.pdf")


def test_pdf_pages_metadata_and_bookmarks(pdf: PdfReader) -> None:
    assert len(pdf.pages) in PDF_PAGES
    meta = pdf.metadata
    assert meta.title.startswith("Venice (VVV)")
    assert meta.author == "memo research"
    assert "privacy-first" in meta.subject
    assert "VVV" in meta["/Keywords"]
    assert meta["/CreationDate"].startswith("D:20260516")
    outline = [item.title for item in pdf.outline if not isinstance(item, list)]
    for title in ("Summary and thesis", "Growth and revenue", "The privacy ladder", "Market size", "Competition"):
        assert title in outline


def _page_texts(pdf: PdfReader) -> list[str]:
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in pdf.pages]


def test_pdf_contents_point_at_the_right_pages(pdf: PdfReader) -> None:
    texts = _page_texts(pdf)
    toc_page = next(i for i, t in enumerate(texts) if "Contents" in t and "Market size" in t)
    for title in ("Growth and revenue", "Market size", "Competition", "Risks", "Methodology"):
        match = re.search(re.escape(title) + r"[ .]*?(\d+)", texts[toc_page])
        assert match, title
        page = int(match.group(1))
        assert texts[page - 1].find(title) != -1, (title, page)


def test_pdf_states_the_key_figures(pdf: PdfReader) -> None:
    text = " ".join(_page_texts(pdf))
    for figure in ("$660M", "$1.12B", "$58.3M", "$258M", "$158M", "11.3x", "2.6x", "19.2x", "4.3x", "26.0x", "$14"):
        assert figure in text, figure
    assert re.search(r"Page 3 of \d+", text)


def test_pdf_cites_sources_in_footnotes(pdf: PdfReader) -> None:
    texts = _page_texts(pdf)
    assert any(re.search(r"1\. Yan Liberman \(2026\)", t) for t in texts)


def test_rebuild_in_another_process_is_byte_identical(built: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "memo", "build", "--assumptions", str(BUNDLED), "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    first = {p.relative_to(built).as_posix(): p for p in built.rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path).as_posix(): p for p in tmp_path.rglob("*") if p.is_file()}
    assert sorted(first) == sorted(second)
    assert {"memo.html", "memo.pdf", "figures.json", "site/index.html", "site/social.png", "site/feed.xml"} <= set(
        first
    )
    # the stamp is the folder's bookkeeping: beside the build's key and the outputs' digests (which must match) it
    # records the command line and the files read, for the quick up-to-date check (memo.quick)
    stamps = [json.loads(side.pop(".memo-build.json").read_text()) for side in (first, second)]
    old, new = ((stamp["build"], stamp["outputs"]) for stamp in stamps)
    assert old == new
    assert stamps[1]["quick"]["request"]["out"] == str(tmp_path)
    different = [name for name in first if first[name].read_bytes() != second[name].read_bytes()]
    assert different == []


def test_assumption_text_is_escaped(tmp_path: Path) -> None:
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    build(
        BUNDLED,
        tmp_path,
        overrides=[f"users.conversion_rate.note={attack}", f"memo.subtitle={attack}"],
    )
    for page in ("memo.html", "site/index.html"):
        html = (tmp_path / page).read_text(encoding="utf-8")
        assert "<script>alert" not in html and "<img" not in html
        parsed = tinyhtml5.parse(html)
        assert all(s.get("src") or s.get("type") == "application/json" for s in parsed.iter(f"{NS}script"))
        assert not list(parsed.iter(f"{NS}img"))
    assert (tmp_path / "memo.html").read_text(encoding="utf-8").count("&lt;script&gt;alert(") >= 2
