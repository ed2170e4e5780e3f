"""The published site in a real browser: Debian's Chromium driven by Playwright.

In CI a missing browser fails the run; on a developer's machine these tests skip with a loud reason.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from memo import format as fmt
from memo import model
from tests.bundled import PROJECT, build, compute_model, quantities, read_inputs
from tests.conftest import BUNDLED, ROOT

ARTIFACTS = ROOT / "test-artifacts"
SUBPATH = "research/venice"


@pytest.fixture(scope="module")
def browser(chromium):
    return chromium


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """The built site, served from a sub-path of a local server."""
    root = tmp_path_factory.mktemp("www")
    out = tmp_path_factory.mktemp("build")
    build(BUNDLED, out)
    shutil.copytree(out / "site", root / SUBPATH)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{SUBPATH}/", root / SUBPATH
    server.shutdown()


def _open(browser, url: str, width: int = 1280, wait_until: str = "networkidle"):
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url, wait_until=wait_until)
    return page, problems, requests


@pytest.mark.parametrize("page_name", ["index.html", "memo.html"])
def test_pages_load_cleanly_and_stay_on_the_site(browser, site, page_name: str) -> None:
    base, _ = site
    page, problems, requests = _open(browser, base + page_name)
    assert problems == []
    assert {urlsplit(u).netloc for u in requests if not u.startswith("data:")} == {urlsplit(base).netloc}
    charts = page.locator("svg.chart")
    assert charts.count() >= (1 if page_name == "index.html" else 8)
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 20
    page.close()


def test_every_link_resolves(browser, site) -> None:
    base, _ = site
    seen: set[str] = set()
    for page_name in ("index.html", "memo.html"):
        page, _, _ = _open(browser, base + page_name)
        hrefs = page.eval_on_selector_all("a[href], link[href]", "els => els.map(e => e.getAttribute('href'))")
        for href in hrefs:
            target = urljoin(base + page_name, href).split("#")[0]
            assert target.startswith(base), f"{page_name} links off the site: {href}"
            if target not in seen:
                seen.add(target)
                assert page.request.get(target).status == 200, href
        page.close()
    assert {
        base + name for name in ("memo.html", "memo.pdf", "figures.json", "figures.csv", "assumptions.yaml")
    } <= seen


@pytest.mark.parametrize("width", [375, 1280])
def test_layout_holds(browser, site, width: int) -> None:
    base, _ = site
    ARTIFACTS.mkdir(exist_ok=True)
    for page_name in ("index.html", "memo.html"):
        page, problems, _ = _open(browser, base + page_name, width)
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        page.screenshot(path=str(ARTIFACTS / f"{page_name.removesuffix('.html')}-{width}.png"), full_page=False)
        assert overflow <= 1, f"{page_name} scrolls sideways at {width}px by {overflow}px"
        assert problems == []
        page.close()


def test_the_site_works_from_disk(browser, site) -> None:
    _, directory = site
    page, problems, requests = _open(browser, (directory / "index.html").as_uri())
    assert problems == []
    assert all(u.startswith("file://") for u in requests)
    page.click("text=Read the memo")
    page.wait_for_load_state("networkidle")
    assert page.locator("h2#summary, section#summary h2").count() == 1
    page.close()


def _explorer_text(page) -> str:
    return page.locator("#view-explorer text").filter(has_text="forward P/S").first.text_content()


def test_scenario_slider_matches_the_python_model(browser, site) -> None:
    base, _ = site
    page, problems, _ = _open(browser, base + "memo.html")
    page.wait_for_selector("#view-explorer.live")
    inputs = quantities(read_inputs(BUNDLED).assumptions)
    base_ps = fmt.multiple(compute_model(inputs)["valuation.ps_forward"].value)
    assert f"forward P/S {base_ps}" in _explorer_text(page)
    settings = {"conversion": 7.3, "new_arr": 155.0, "market_cap": 905.0}
    for driver in PROJECT.settings.drivers:
        if driver.param in settings:
            slider = page.locator(f"input[type=range][name='{driver.param}']")
            slider.evaluate(
                "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
                settings[driver.param],
            )
    page.wait_for_timeout(300)
    changed = dict(inputs)
    for driver in PROJECT.settings.drivers:
        if driver.param in settings:
            changed[driver.input] = model.Quantity(settings[driver.param] * driver.scale)
    expected = compute_model(changed)
    text = _explorer_text(page)
    assert f"forward P/S {fmt.multiple(expected['valuation.ps_forward'].value)}" in text
    assert fmt.multiple(expected["valuation.ps_forward"].value) != base_ps
    assert problems == []
    page.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_live_preview_reloads_after_an_assumption_edit(browser, tmp_path: Path) -> None:
    assumptions = tmp_path / "assumptions.yaml"
    shutil.copy(BUNDLED, assumptions)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "memo", "serve", "--project", str(ROOT), "--assumptions", str(assumptions)]
    command += ["--out", str(tmp_path / "b")]
    process = subprocess.Popen(
        [*command, "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert "serving" in process.stdout.readline()
        # the preview polls for rebuilds, so the network is never idle
        page, problems, _ = _open(browser, f"http://127.0.0.1:{port}/index.html", wait_until="load")
        price = page.locator("dt:text('VVV price') + dd").text_content()
        assert price == "$14"
        assumptions.write_text(assumptions.read_text().replace("    value: 14\n", "    value: 15\n"))
        page.wait_for_function(
            "() => document.querySelector('.keydata dd') && document.querySelector('.keydata dd').textContent === '$15'",
            timeout=90_000,
        )
        assert problems == []
        # a broken edit keeps the last good build and shows the error over it
        assumptions.write_text(assumptions.read_text().replace("    value: 15\n", "    value: -15\n"))
        page.wait_for_selector("#memo-build-error", timeout=90_000)
        assert re.search(
            r"token\.price\.value: must be greater than 0", page.locator("#memo-build-error").text_content()
        )
        assert page.locator(".keydata dd").first.text_content() == "$15"
        page.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    time.sleep(0.1)
