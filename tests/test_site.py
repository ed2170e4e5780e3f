"""The static site's files and memo publish's revisions (the browser checks are in test_browser.py)."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import tinyhtml5

from memo.errors import MemoError
from memo.publish import publish
from tests.bundled import build
from tests.conftest import BUNDLED

NS = "{http://www.w3.org/1999/xhtml}"
BASE_URL = "https://research.example.org/venice"


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("site-builds")
    out = {"base": root / "base", "edited": root / "edited", "absolute": root / "absolute"}
    build(BUNDLED, out["base"])
    build(BUNDLED, out["edited"], overrides=["users.conversion_rate=0.06"])
    build(BUNDLED, out["absolute"], base_url=BASE_URL)
    return out


def test_site_has_every_file(builds: dict[str, Path]) -> None:
    site = builds["base"] / "site"
    for name in (
        "index.html", "memo.html", "memo.pdf", "figures.json", "figures.csv", "assumptions.yaml", "social.png",
        "favicon.svg", "robots.txt", "feed.xml", "assets/vega.js", "assets/explorer.js",
        "assets/vega-interpreter.js",
    ):  # fmt: skip
        assert (site / name).is_file(), name
    # a sitemap's locations must be absolute: only a build given --base-url has one
    assert not (site / "sitemap.xml").exists() and (builds["absolute"] / "site" / "sitemap.xml").is_file()
    assert (site / "social.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (site / "assumptions.yaml").read_bytes() == BUNDLED.read_bytes()


def test_figures_csv_matches_figures_json(builds: dict[str, Path]) -> None:
    site = builds["base"] / "site"
    figures = json.loads((site / "figures.json").read_text())["figures"]
    rows = list(csv.DictReader(io.StringIO((site / "figures.csv").read_text())))
    assert [r["name"] for r in rows] == list(figures)
    paid = next(r for r in rows if r["name"] == "users.paid")
    assert (
        float(paid["value"]) == figures["users.paid"]["value"]
        and paid["inputs"] == "users.registered users.conversion_rate"
    )


def test_what_needs_an_absolute_url_is_left_out_without_a_base_url(builds: dict[str, Path]) -> None:
    site = builds["base"] / "site"
    for page in ("index.html", "memo.html"):
        tree = tinyhtml5.parse((site / page).read_text())
        metas = {m.get("property") or m.get("name"): m.get("content") for m in tree.iter(f"{NS}meta")}
        assert metas["og:title"] and metas["twitter:card"] == "summary", page  # no image to show large
        assert not {"og:image", "og:url", "twitter:image"} & set(metas), page
        assert not [link for link in tree.iter(f"{NS}link") if link.get("rel") == "canonical"], page
    assert "Sitemap:" not in (site / "robots.txt").read_text()


def test_base_url_fills_absolute_urls(builds: dict[str, Path]) -> None:
    site = builds["absolute"] / "site"
    tree = tinyhtml5.parse((site / "memo.html").read_text())
    metas = {m.get("property") or m.get("name"): m.get("content") for m in tree.iter(f"{NS}meta")}
    assert metas["og:image"] == f"{BASE_URL}/social.png" and metas["og:url"] == f"{BASE_URL}/memo.html"
    assert metas["twitter:image"] == f"{BASE_URL}/social.png" and metas["twitter:card"] == "summary_large_image"
    [canonical] = [link.get("href") for link in tree.iter(f"{NS}link") if link.get("rel") == "canonical"]
    assert canonical == f"{BASE_URL}/memo.html"
    sitemap = ET.fromstring((site / "sitemap.xml").read_text())
    locations = [e.text for e in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert locations == [f"{BASE_URL}/", f"{BASE_URL}/memo.html", f"{BASE_URL}/memo.pdf"]
    assert f"Sitemap: {BASE_URL}/sitemap.xml" in (site / "robots.txt").read_text()
    feed = ET.fromstring((site / "feed.xml").read_text())
    assert feed.get("{http://www.w3.org/XML/1998/namespace}base") == f"{BASE_URL}/"
    # links inside the pages stay relative, so the site still works from disk
    assert all(not (a.get("href") or "").startswith("http") for a in tree.iter(f"{NS}a"))


def test_publish_keeps_every_version_and_lists_what_changed(builds: dict[str, Path], tmp_path: Path) -> None:
    site = tmp_path / "public"
    first = publish(builds["base"], site)
    assert first.label == "2026-05-16"
    again = publish(builds["base"], site)
    assert again.label is None and "nothing published" in again.reason
    with pytest.raises(MemoError, match="already published"):
        publish(builds["edited"], site, label="2026-05-16")
    second = publish(builds["edited"], site, label="conversion-6pct")
    assert second.label == "conversion-6pct"
    assert (site / "v/2026-05-16/memo.html").read_bytes() == (builds["base"] / "site/memo.html").read_bytes()
    assert (site / "v/conversion-6pct/memo.pdf").read_bytes() == (builds["edited"] / "site/memo.pdf").read_bytes()
    revisions = json.loads((site / "revisions.json").read_text())["revisions"]
    assert [r["label"] for r in revisions] == ["2026-05-16", "conversion-6pct"]
    assert revisions[0]["figures_changed"] == []
    changed = {c["name"]: c for c in revisions[1]["figures_changed"]}
    assert revisions[1]["inputs_changed"] == ["users.conversion_rate"]
    assert changed["users.paid"]["old"] == "150,000" and changed["users.paid"]["new"] == "180,000"
    assert not any(name.startswith(("scenario.", "uncertainty.")) for name in changed)
    page = (site / "revisions.html").read_text()
    assert "conversion-6pct" in page and "Paid subscribers" in page and "180,000" in page
    assert "url=v/conversion-6pct/" in (site / "index.html").read_text()
    feed = ET.fromstring((site / "feed.xml").read_text())
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 2


def test_publish_needs_a_build(tmp_path: Path) -> None:
    with pytest.raises(MemoError, match="run memo build first"):
        publish(tmp_path / "nothing", tmp_path / "public")


@pytest.mark.parametrize("label", ["../escape", "a/b", ".hidden", "x" * 65])
def test_publish_refuses_unsafe_labels(builds: dict[str, Path], tmp_path: Path, label: str) -> None:
    with pytest.raises(MemoError, match="use letters, digits"):
        publish(builds["base"], tmp_path / "public", label=label)


def test_live_preview_serves_a_rebuilds_html_before_its_pdf(tmp_path: Path) -> None:
    import threading
    import urllib.request

    from memo.serve import serve

    site = tmp_path / "site"
    site.mkdir()
    (site / "memo.html").write_bytes(b"<html><body>old</body></html>")
    html_ready, release, stop = threading.Event(), threading.Event(), threading.Event()
    calls = []
    addresses = []

    def rebuild(state) -> None:
        calls.append(1)
        if len(calls) == 1:
            return  # the first build: nothing to do
        state.show_early({"memo.html": b"<html><body>new</body></html>"})
        html_ready.set()
        release.wait(10)  # the PDF is still being made
        (site / "memo.html").write_bytes(b"<html><body>new</body></html>")

    watched = tmp_path / "assumptions.yaml"
    watched.write_text("a: 1\n")
    thread = threading.Thread(
        target=serve, args=(rebuild, site, [watched], 0), kwargs={"ready": addresses.append, "stop": stop}
    )
    thread.start()
    try:
        while not addresses:
            threading.Event().wait(0.05)
        base = re.search(r"http://127.0.0.1:\d+/", addresses[0]).group(0)

        def get(path: str) -> str:
            with urllib.request.urlopen(base + path) as response:
                return response.read().decode()

        assert "old" in get("memo.html")
        version = json.loads(get("__memo/status"))["version"]
        watched.write_text("a: 2\n")
        assert html_ready.wait(10)
        page = get("memo.html")
        assert "new" in page and '<script src="/__memo/reload.js"></script>' in page
        assert json.loads(get("__memo/status"))["version"] == version + 1
        release.set()
    finally:
        release.set()
        stop.set()
        thread.join(10)


def test_the_vendored_vega_bundle_is_what_the_pinned_vl_convert_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import metadata

    from memo import site
    from memo.cache import Cache
    from tests.bundled import ROOT

    version = metadata.version("vl-convert-python")
    assert f'"vl-convert-python=={version}"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    vendored = site.vendored_vega_bundle(version)
    assert vendored is not None and site.start_vega_bundle(None)() == vendored
    monkeypatch.setattr(site, "vendored_vega_bundle", lambda version: None)  # as for another vl-convert
    store = Cache(tmp_path / "cache")
    assert site.start_vega_bundle(store)() == vendored  # made by vl-convert, and cached
    assert store.misses == ["vega-bundle"] and site.start_vega_bundle(store)() == vendored and store.hits
