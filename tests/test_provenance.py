"""Provenance on screen, for every reader: each number is a link to its appendix row whose accessible description
(aria-describedby) names the figure, its formula and the inputs it reads with their sources; the tip that shows
it on hover and focus stays on screen and Escape dismisses it; the live explorer keeps its name and a text
alternative. One build and one browser for the module."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pypdfium2
import pytest
import tinyhtml5
from pypdf import PdfReader

NS = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def built(bundled_build: Path) -> Path:
    return bundled_build


@pytest.fixture(scope="module")
def figures(built: Path) -> dict:
    return json.loads((built / "figures.json").read_text())


def _page(chromium, built: Path, width: int = 1280):
    page = chromium.new_page(viewport={"width": width, "height": 800})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto((built / "site" / "memo.html").as_uri(), wait_until="load")
    page.wait_for_function("document.documentElement.classList.contains('tips')")
    return page, problems


def _description(page) -> str:
    """The accessible description of the focused element, as the aria-describedby targets' text."""
    return page.evaluate(
        """() => (document.activeElement.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean)
             .map(id => document.getElementById(id).textContent).join(' ')"""
    )


def _accessibility(page, expression: str) -> dict[str, str]:
    """What Chromium gives assistive technology for an element: its role, accessible name and description."""
    cdp = page.context.new_cdp_session(page)
    handle = cdp.send("Runtime.evaluate", {"expression": expression})["result"]["objectId"]
    node = cdp.send("Accessibility.getPartialAXTree", {"objectId": handle, "fetchRelatives": False})["nodes"][0]
    cdp.detach()
    return {
        key: " ".join(str((node.get(key) or {}).get("value", "")).split()) for key in ("role", "name", "description")
    }


# ---------------------------------------------------------------- the markup (no browser)


def _ids(tree) -> dict[str, object]:
    return {e.get("id"): e for e in tree.iter() if isinstance(e.tag, str) and e.get("id")}


def test_every_number_links_to_its_row_and_names_its_description(built: Path, figures: dict) -> None:
    html = (built / "memo.html").read_text(encoding="utf-8")
    tree = tinyhtml5.parse(html)
    ids = _ids(tree)
    all_ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(all_ids) == len(set(all_ids))
    assert all(re.fullmatch(r"[A-Za-z][\w.:-]*", i) for i in all_ids)
    container = next(e for e in tree.iter(f"{NS}div") if e.get("class") == "provenance")
    assert container.get("hidden") is not None  # shown by neither the page nor the PDF
    described = {e.get("id") for e in container.iter(f"{NS}div")}
    numbers = [e for e in tree.iter(f"{NS}span") if "fig" in (e.get("class") or "").split()]
    assert len(numbers) > 250
    for span in numbers:
        links = span.findall(f"{NS}a")
        assert len(links) == 1, span.get("data-figure") or span.get("data-input")
        link = links[0]
        target = link.get("href").removeprefix("#")
        assert ids[target].tag == f"{NS}tr", target  # a row of the appendix's tables
        assert link.get("aria-describedby") in described
    formula = figures["figures"]["valuation.ps_forward"]["formula"]
    about = ids["about-figure-valuation.ps_forward"]
    text = " ".join("".join(about.itertext()).split())
    assert formula in text and "arr.forward" in text and "\u201cIn-depth Analysis of $VVV" in text


def test_the_index_page_links_numbers_to_the_memo(built: Path) -> None:
    tree = tinyhtml5.parse((built / "site" / "index.html").read_text(encoding="utf-8"))
    ids = _ids(tree)
    links = [e for e in tree.iter(f"{NS}a") if e.get("class") == "fig-link"]
    assert links and all(e.get("href").startswith("memo.html#") for e in links)
    assert all(e.get("aria-describedby") in ids for e in links)


def test_the_pdf_links_numbers_but_prints_no_description(built: Path) -> None:
    document = pypdfium2.PdfDocument(built / "memo.pdf")
    text = " ".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    reader = PdfReader(built / "memo.pdf")
    assert "It reads:" not in text and "Formula: " not in text
    dests = [
        str(a.get_object().get("/Dest")) for page in reader.pages for a in page.get("/Annots") or [] if a.get_object()
    ]
    assert sum(d.startswith(("figure-", "input-")) for d in dests) > 250


# ---------------------------------------------------------------- in a browser


def test_tab_reaches_a_described_number_and_escape_hides_its_tip(chromium, built: Path, figures: dict) -> None:
    page, problems = _page(chromium, built)
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('fig-link')"):
            break
    else:
        pytest.fail("Tab never reached a number")
    name = page.evaluate("document.activeElement.parentElement.dataset.figure")
    description = _description(page)
    assert figures["figures"][name]["formula"] in description
    assert any(s["title"] in description for s in figures["sources"].values()), description
    target = page.evaluate("document.activeElement.getAttribute('href')")
    assert page.locator(f"[id='{target[1:]}']").count() == 1
    computed = _accessibility(page, "document.activeElement")
    assert computed["role"] == "link" and computed["name"] == page.evaluate("document.activeElement.textContent")
    assert re.sub(r"\s", "", computed["description"]) == re.sub(r"\s", "", description)  # with spaces between blocks
    tip = page.locator(".prov-tip")
    assert tip.is_visible()
    assert re.sub(r"\s", "", tip.text_content()).startswith(re.sub(r"\s", "", description))
    page.keyboard.press("Escape")
    assert not tip.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('fig-link')")  # focus stays on the number
    assert problems == []
    page.close()


def test_hover_shows_the_tip_and_the_pointer_may_move_onto_it(chromium, built: Path) -> None:
    page, problems = _page(chromium, built)
    number = page.locator("main .fig-link").nth(5)
    number.scroll_into_view_if_needed()
    number.hover()
    tip = page.locator(".prov-tip")
    assert tip.is_visible()
    box = tip.bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + box["height"] - 5, steps=4)  # across the gap, onto the tip
    page.wait_for_timeout(400)
    assert tip.is_visible()
    page.mouse.move(5, 5)
    page.wait_for_timeout(400)
    assert not tip.is_visible()
    assert problems == []
    page.close()


@pytest.mark.parametrize("width", [375, 1280])
def test_the_tip_stays_inside_the_viewport(chromium, built: Path, width: int) -> None:
    page, problems = _page(chromium, built, width)
    count = page.locator(".fig-link").count()
    for i in range(0, count, max(1, count // 40)):  # forty numbers across the page, the widest tables included
        page.locator(".fig-link").nth(i).focus()
        box = page.locator(".prov-tip").bounding_box()
        view = page.evaluate("[document.documentElement.clientWidth, window.innerHeight]")
        assert box is not None, i  # (a bounding box is in the viewport's coordinates)
        assert box["x"] >= 0 and box["x"] + box["width"] <= view[0], (i, box, view)
        assert box["y"] >= 0 and box["y"] + box["height"] <= view[1], (i, box, view)
    assert page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 1
    assert problems == []
    page.close()


def test_the_live_explorer_keeps_its_name_and_text_alternative(chromium, built: Path) -> None:
    page, problems = _page(chromium, built)
    page.wait_for_selector("#view-explorer.live")
    svg = page.locator("#view-explorer svg").first
    assert svg.get_attribute("role") == "img"
    computed = _accessibility(page, "document.querySelector('#view-explorer svg')")
    assert computed["role"] == "image" and "Scenario explorer" in computed["name"]
    assert "forward ARR $258M, forward P/S 2.6x" in computed["description"]  # the static chart's description
    assert "Forward ARR $258M" in computed["description"]  # what the live view shows now
    sliders = page.locator("#view-explorer input[type=range]")
    assert sliders.count() == 5
    for i in range(sliders.count()):
        label = _accessibility(page, f"document.querySelectorAll('#view-explorer input[type=range]')[{i}]")["name"]
        assert len(label) > 5, i
    sliders.first.evaluate("el => { el.value = 9; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_function(
        "() => !document.getElementById('view-explorer-now').textContent.includes('Forward ARR $258M')"
    )
    assert page.get_attribute("#view-explorer-now", "aria-live") == "polite"
    assert problems == []
    page.close()


def test_a_number_whose_row_is_left_out_stays_focusable_and_links_nowhere() -> None:
    from memo.render import _unlink_missing_rows

    html = (
        '<tr id="figure-a"></tr><span class="fig"><a class="fig-link" href="#figure-a" aria-describedby="x">1</a></span>'
        '<span class="fig"><a class="fig-link" href="#figure-b" aria-describedby="y">2</a></span>'
    )
    out = _unlink_missing_rows(html)
    assert 'href="#figure-a"' in out and 'href="#figure-b"' not in out
    assert '<a class="fig-link" tabindex="0" aria-describedby="y">2</a>' in out
