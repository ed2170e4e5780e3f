"""memo publish without options just works: labels that count up within a date, a publish time per version (pinned
by SOURCE_DATE_EPOCH) that rebuilding the site keeps, and, without --base-url, one warning and nothing written that
would need an absolute URL (memo build likewise)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import tinyhtml5

from memo import publish as publish_stage
from memo.errors import InputError, MemoError
from memo.options import BuildOptions
from memo.project import Project, load_project
from memo.publish import publish
from tests.conftest import ROOT, link_project

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"
BASE_URL = "https://research.example.org/venice/"
WARNING = "memo: warning: no --base-url"
DAY = 86_400
EPOCH = 1_800_000_000  # 2027-01-15T08:00:00Z
AS_OF = "2026-05-16"


def _cli(*args: str, cwd: Path, epoch: int | str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MEMO_CACHE_DIR": str(ROOT / ".memo-cache")}  # the suite's cache
    env.pop("SOURCE_DATE_EPOCH", None)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    return subprocess.run(
        [sys.executable, "-m", "memo", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _fake_build(folder: Path, value: float, as_of: str = AS_OF) -> Path:
    """A build folder as publish reads one: its site holds figures.json (publish copies whatever else is there)."""
    data = {
        "schema_version": 1,
        "memo": {"title": "A memo", "author": "Someone", "as_of": as_of, "scenario": "base"},
        "figures": {"a.x": {"value": value, "unit": "users", "label": "X", "formula": "a.x", "inputs": ["a.x"]}},
        "inputs": {"a.x": {"value": value, "unit": "users", "estimate": False}},
        "charts": {},
        "claims": [],
        "build": {"inputs_sha256": f"{int(value * 1000):064x}", "versions": {"memo": "0.1.0"}},
        "units": {},
    }
    (folder / "site").mkdir(parents=True)
    for path in (folder / "figures.json", folder / "site" / "figures.json"):
        path.write_text(json.dumps(data))
    (folder / "site" / "memo.html").write_text(f"<p>{value}</p>")
    return folder


def _revisions(site: Path) -> list[dict[str, Any]]:
    return json.loads((site / "revisions.json").read_text())["revisions"]


def _feed_times(site: Path) -> tuple[str | None, dict[str, str | None]]:
    """The feed's updated time, and each entry's by the label in its link."""
    feed = ET.parse(site / "feed.xml").getroot()
    entries = {
        e.find(f"{ATOM}link").get("href").split("/")[1]: e.findtext(f"{ATOM}updated") for e in feed.iter(f"{ATOM}entry")
    }
    return feed.findtext(f"{ATOM}updated"), entries


def _absolute(url: str | None) -> bool:
    parts = urllib.parse.urlsplit(url or "")
    return parts.scheme == "https" and bool(parts.netloc)


def _label(index: int) -> str:
    return AS_OF if index == 0 else f"{AS_OF}-{index + 1}"


def test_verbose_lists_every_file_published_and_quiet_prints_nothing(tmp_path: Path) -> None:
    site = tmp_path / "public"
    first = _cli("publish", "--build", str(_fake_build(tmp_path / "b0", 1.0)), "--site", str(site), "-v", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    listed = set(re.findall(r"^memo: wrote public/(\S+)$", first.stdout, re.M))
    on_disk = {str(p.relative_to(site)) for p in site.rglob("*") if p.is_file() and not p.name.startswith(".memo-")}
    assert listed == on_disk and f"v/{AS_OF}/figures.json" in listed and "feed.xml" in listed
    quiet = _cli("publish", "--build", str(_fake_build(tmp_path / "b1", 2.0)), "--site", str(site), "-q", cwd=tmp_path)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert [r["label"] for r in _revisions(site)] == [AS_OF, f"{AS_OF}-2"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- labels


def test_an_edit_published_without_a_label_gets_the_date_then_2_then_3(tmp_path: Path) -> None:
    site = tmp_path / "public"
    builds = [_fake_build(tmp_path / f"b{n}", value) for n, value in enumerate((1.0, 2.0, 3.0))]
    results = [
        _cli("publish", "--build", str(b), "--site", str(site), cwd=tmp_path, epoch=EPOCH + i * DAY)
        for i, b in enumerate(builds)
    ]
    for i, (result, label) in enumerate(zip(results, [AS_OF, f"{AS_OF}-2", f"{AS_OF}-3"], strict=True)):
        assert result.returncode == 0, result.stderr
        *stages, summary = result.stdout.splitlines()
        names = [re.fullmatch(r"memo: (.+?) +\d+\.\d\d s", line).group(1) for line in stages]  # type: ignore[union-attr]
        assert names == ["read build", "copy", "compare", "site files"]
        since = "the site's first version" if i == 0 else r"\d+ figures? changed since " + re.escape(_label(i - 1))
        assert re.fullmatch(
            rf"memo: published {label} at v/{label}/ in public in [\d.]+ s: {since}; wrote \d+ files", summary
        ), summary
    assert [r["label"] for r in _revisions(site)] == [AS_OF, f"{AS_OF}-2", f"{AS_OF}-3"]
    # the very same build again adds no version, and says which one it already is
    again = _cli("publish", "--build", str(builds[2]), "--site", str(site), cwd=tmp_path, epoch=EPOCH + 9 * DAY)
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == (
        f"memo: inputs unchanged since {AS_OF}-3; nothing published"
    )
    assert len(_revisions(site)) == 3
    # an explicit label that is taken is still refused
    taken = _cli(
        "publish", "--build", str(_fake_build(tmp_path / "b4", 4.0)), "--site", str(site), "--label", f"{AS_OF}-2",
        cwd=tmp_path, epoch=EPOCH,
    )  # fmt: skip
    assert taken.returncode == 1 and f"version '{AS_OF}-2' is already published" in taken.stderr
    assert len(_revisions(site)) == 3


def test_the_default_label_skips_labels_given_by_hand_and_starts_again_on_a_new_date(tmp_path: Path) -> None:
    site = tmp_path / "public"
    assert publish(_fake_build(tmp_path / "a", 1.0), site, label=f"{AS_OF}-2").label == f"{AS_OF}-2"
    assert publish(_fake_build(tmp_path / "b", 2.0), site).label == AS_OF
    assert publish(_fake_build(tmp_path / "c", 3.0), site).label == f"{AS_OF}-3"
    assert publish(_fake_build(tmp_path / "d", 4.0, as_of="2026-06-01"), site).label == "2026-06-01"
    assert publish_stage.default_label(AS_OF, _revisions(site)) == f"{AS_OF}-4"  # the same site, the same answer


# ---------------------------------------------------------------- publish times


@pytest.fixture
def two_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "public"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    publish(_fake_build(tmp_path / "first", 1.0), site, base_url=BASE_URL)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + DAY + 61))
    publish(_fake_build(tmp_path / "second", 2.0), site, base_url=BASE_URL)
    return site


def test_each_feed_entry_has_its_own_publish_time(two_versions: Path) -> None:
    site = two_versions
    assert [r["published"] for r in _revisions(site)] == ["2027-01-15T08:00:00Z", "2027-01-16T08:01:01Z"]
    updated, entries = _feed_times(site)
    assert entries == {AS_OF: "2027-01-15T08:00:00Z", f"{AS_OF}-2": "2027-01-16T08:01:01Z"}
    assert updated == "2027-01-16T08:01:01Z"  # the feed's own: its newest entry's
    sitemap = ET.parse(site / "sitemap.xml").getroot()
    lastmod = {u.findtext(f"{SITEMAP}loc"): u.findtext(f"{SITEMAP}lastmod") for u in sitemap}
    assert lastmod[f"{BASE_URL}v/{AS_OF}/memo.html"] == "2027-01-15T08:00:00Z"
    assert lastmod[f"{BASE_URL}v/{AS_OF}-2/memo.html"] == lastmod[BASE_URL] == "2027-01-16T08:01:01Z"


def test_rebuilding_the_site_from_its_revisions_file_is_byte_identical(
    two_versions: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = two_versions
    on_disk = _tree(site)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + 100 * DAY))  # another day: the clock is not read again
    data = json.loads((site / f"v/{AS_OF}-2/figures.json").read_text())
    root = publish_stage._root_files(data, _revisions(site), BASE_URL)
    assert {name: on_disk[name] for name in root} == root
    # and the same publishes at the same times make the same site, byte for byte
    other = tmp_path / "again"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    publish(tmp_path / "first", other, base_url=BASE_URL)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + DAY + 61))
    publish(tmp_path / "second", other, base_url=BASE_URL)
    assert _tree(other) == on_disk


def test_a_revisions_file_from_before_publish_times_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "public"
    publish(_fake_build(tmp_path / "first", 1.0), site)
    manifest = {"revisions": [{k: v for k, v in r.items() if k != "published"} for r in _revisions(site)]}
    (site / "revisions.json").write_text(json.dumps(manifest, indent=2))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    publish(_fake_build(tmp_path / "second", 2.0), site)
    assert _feed_times(site)[1] == {AS_OF: f"{AS_OF}T00:00:00Z", f"{AS_OF}-2": "2027-01-15T08:00:00Z"}
    assert "published" not in _revisions(site)[0]  # what was recorded stays as it was


@pytest.mark.parametrize("published", ["2027-01-15", "2027-01-15T08:00:00+01:00", "2027-02-30T08:00:00Z", 5])
def test_a_publish_time_memo_did_not_write_is_refused(tmp_path: Path, published: object) -> None:
    site = tmp_path / "public"
    publish(_fake_build(tmp_path / "first", 1.0), site)
    manifest = {"revisions": [{**r, "published": published} for r in _revisions(site)]}
    (site / "revisions.json").write_text(json.dumps(manifest))
    with pytest.raises(MemoError, match=r"revisions\[0\]: published must be a UTC time"):
        publish(_fake_build(tmp_path / "second", 2.0), site)


@pytest.mark.parametrize("epoch", ["soon", "1.5", "99999999999999999999"])
def test_a_source_date_epoch_that_is_not_seconds_is_refused(tmp_path: Path, epoch: str) -> None:
    build = _fake_build(tmp_path / "b", 1.0)
    result = _cli("publish", "--build", str(build), "--site", str(tmp_path / "public"), cwd=tmp_path, epoch=epoch)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        result.stderr == f"error: SOURCE_DATE_EPOCH {epoch!r}: must be a whole number of seconds since 1970-01-01 UTC\n"
    )
    assert not (tmp_path / "public" / "revisions.json").exists()


# ---------------------------------------------------------------- absolute URLs, or none


def test_publish_without_a_base_url_warns_once_and_writes_no_sitemap(tmp_path: Path) -> None:
    site = tmp_path / "public"
    first = _cli("publish", "--build", str(_fake_build(tmp_path / "a", 1.0)), "--site", str(site), cwd=tmp_path)
    assert first.returncode == 0 and first.stderr.count(WARNING) == 1 and len(first.stderr.splitlines()) == 1
    assert "--base-url https://" in first.stderr
    assert not (site / "sitemap.xml").exists() and "Sitemap" not in (site / "robots.txt").read_text()
    feed = ET.parse(site / "feed.xml").getroot()
    assert feed.get("{http://www.w3.org/XML/1998/namespace}base") is None
    assert all(not urllib.parse.urlsplit(link.get("href")).scheme for link in feed.iter(f"{ATOM}link"))  # relative
    assert all(link.get("href") for link in feed.iter(f"{ATOM}link"))
    # with one, no warning, and every URL that must be absolute is
    second = _cli(
        "publish", "--build", str(_fake_build(tmp_path / "b", 2.0)), "--site", str(site), "--base-url", BASE_URL,
        cwd=tmp_path,
    )  # fmt: skip
    assert second.returncode == 0 and second.stderr == ""
    locations = [loc.text for loc in ET.parse(site / "sitemap.xml").getroot().iter(f"{SITEMAP}loc")]
    assert len(locations) == 2 + 3 * 2 and all(_absolute(loc) for loc in locations)
    assert (site / "robots.txt").read_text().splitlines()[-1] == f"Sitemap: {BASE_URL}sitemap.xml"
    # a later publish without one takes the sitemap away rather than leave one that lists only older versions
    third = _cli("publish", "--build", str(_fake_build(tmp_path / "c", 3.0)), "--site", str(site), cwd=tmp_path)
    assert third.stderr.count(WARNING) == 1 and not (site / "sitemap.xml").exists()
    assert "Sitemap" not in (site / "robots.txt").read_text()


@pytest.fixture(scope="module")
def cli_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """memo build as a user runs it, without and with --base-url: (output folder, stderr). With the suite's cache
    (test_site.py builds the same two) they take seconds; cold, the second redraws only the PDF."""
    root = tmp_path_factory.mktemp("cli-builds")
    out: dict[str, tuple[Path, str]] = {}
    for name, extra in (("plain", ()), ("absolute", ("--base-url", BASE_URL))):
        result = _cli("build", "--project", str(ROOT), "--out", str(root / name), *extra, cwd=root)
        assert result.returncode == 0, result.stderr
        out[name] = (root / name, result.stderr)
    return out


def _heads(site: Path) -> dict[str, tuple[dict[str, str], list[str]]]:
    """Each page's meta tags (property or name: content) and canonical links."""
    heads = {}
    for page in ("index.html", "memo.html"):
        tree = tinyhtml5.parse((site / page).read_text(encoding="utf-8"))
        metas = {m.get("property") or m.get("name"): m.get("content") for m in tree.iter(f"{XHTML}meta")}
        canonical = [link.get("href") for link in tree.iter(f"{XHTML}link") if link.get("rel") == "canonical"]
        heads[page] = (metas, canonical)
    return heads


def test_build_without_a_base_url_warns_once_and_leaves_out_what_needs_one(
    cli_builds: dict[str, tuple[Path, str]],
) -> None:
    out, stderr = cli_builds["plain"]
    assert stderr.count(WARNING) == 1 and stderr.count("\n") == 1, stderr
    assert "sitemap.xml" in stderr and "og:image" in stderr and "--base-url https://" in stderr
    site = out / "site"
    assert not (site / "sitemap.xml").exists() and "Sitemap" not in (site / "robots.txt").read_text()
    for page, (metas, canonical) in _heads(site).items():
        assert not canonical and not {"og:image", "og:url", "twitter:image"} & set(metas), page
        assert all(content for content in metas.values()), page  # nothing written empty either
    again = _cli("build", "--project", str(ROOT), "--out", str(out), cwd=out.parent)
    assert "is up to date" in again.stdout and again.stderr.count(WARNING) == 1  # still without one


def test_build_with_a_base_url_does_not_warn_and_every_url_is_absolute(
    cli_builds: dict[str, tuple[Path, str]],
) -> None:
    out, stderr = cli_builds["absolute"]
    assert "warning" not in stderr, stderr
    site = out / "site"
    locations = [loc.text for loc in ET.parse(site / "sitemap.xml").getroot().iter(f"{SITEMAP}loc")]
    assert locations == [BASE_URL, f"{BASE_URL}memo.html", f"{BASE_URL}memo.pdf"]
    assert (site / "robots.txt").read_text().splitlines()[-1] == f"Sitemap: {BASE_URL}sitemap.xml"
    for page, (metas, canonical) in _heads(site).items():
        urls = [metas["og:image"], metas["og:url"], metas["twitter:image"], *canonical]
        assert len(canonical) == 1 and all(_absolute(url) for url in urls), page
        assert metas["og:image"] == f"{BASE_URL}social.png" and canonical == [metas["og:url"]], page
    assert ET.parse(site / "feed.xml").getroot().get("{http://www.w3.org/XML/1998/namespace}base") == BASE_URL


# ---------------------------------------------------------------- memo.yml's base_url


def _project_with(tmp_path: Path, base_url: str) -> Path:
    """The bundled project's files (linked), with a memo.yml that names where the site is served."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "memo.yml").write_text((ROOT / "memo.yml").read_text() + f"\nbase_url: {json.dumps(base_url)}\n")
    return link_project(project)


def test_memo_yml_base_url_is_used_when_no_option_gives_one(tmp_path: Path) -> None:
    project = _project_with(tmp_path, BASE_URL)
    assert Project(project).base_url == BASE_URL  # read without validating the project (an up-to-date build)
    assert load_project(project).settings.base_url == BASE_URL
    assert BuildOptions.of(project=project).base_url == BASE_URL
    assert BuildOptions.of(project=project, base_url="https://other.example/").base_url == "https://other.example/"
    _fake_build(project / "build", 1.0)
    result = _cli("publish", cwd=project)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    locations = [loc.text for loc in ET.parse(project / "public" / "sitemap.xml").getroot().iter(f"{SITEMAP}loc")]
    assert locations and all(loc.startswith(BASE_URL) for loc in locations)


def test_a_bad_memo_yml_base_url_is_refused_where_it_stands(tmp_path: Path) -> None:
    project = _project_with(tmp_path, "javascript:alert(1)")
    with pytest.raises(InputError, match=r"memo.yml:\d+:\d+: error: base_url: must start with https:// or http://"):
        load_project(project)
    assert Project(project).base_url is None  # never written; the validation above is what the user sees
