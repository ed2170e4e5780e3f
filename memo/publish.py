"""Publish stage: add the current build's site to a site kept across publishes.

Every published version keeps its own permanent URL (``v/LABEL/``); the site's root holds a Revisions page listing
each version with the figures that changed against the one before (the diff engine's figure comparison), a feed
with one entry per version, a sitemap and an index that leads to the latest version. Publishing inputs that have
not changed since the latest version adds nothing.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo import outdir, page
from memo import site as site_stage
from memo.errors import MemoError
from memo.outputs import write_outputs
from memo.review.changes import figure_changes, input_changes
from memo.review.sides import load_side, use_recorded_units

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MANIFEST = "revisions.json"


@dataclass(frozen=True)
class Published:
    label: str | None  # None when nothing was added
    reason: str
    site_dir: Path


def _load_manifest(site_dir: Path) -> dict[str, Any]:
    path = site_dir / MANIFEST
    if not path.is_file():
        return {"revisions": []}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MemoError(f"error: {path} is not valid JSON ({exc}); it records the published versions") from None


def _site_guarded(run: Callable[..., Published]) -> Callable[..., Published]:
    """Publish only into a site folder memo made (or a new or empty one; :func:`memo.outdir.checked`), checked
    before anything is read, with its lock held and what a killed publish left there removed."""

    @functools.wraps(run)
    def guarded(build_dir: Path, site_dir: Path, *args: Any, **kwargs: Any) -> Published:
        from memo.project import Project, find

        root = find(build_dir.parent) if build_dir.parent.is_dir() else None
        guard = outdir.guarded(Project(root) if root else None, build_dir)
        real = outdir.checked(site_dir, "site", "--site", guard)
        with outdir.locked(real, "--site"):
            for leftover in (real / "v").glob(".publish-*"):
                shutil.rmtree(leftover, ignore_errors=True)  # of a publish killed while copying
            if outdir.read_marker(real) is None:
                write_outputs(real, {outdir.MARKER: outdir.marker("site", [])})
            return run(build_dir, real, *args, **kwargs)

    return guarded


@_site_guarded
def publish(build_dir: Path, site_dir: Path, label: str | None = None, base_url: str | None = None) -> Published:
    source = build_dir / "site"
    figures_path = source / "figures.json"
    if not figures_path.is_file():
        raise MemoError(f"error: {source} holds no built site; run memo build first")
    data = json.loads(figures_path.read_text(encoding="utf-8"))
    digest = data["build"]["inputs_sha256"]
    as_of = data["memo"]["as_of"]
    manifest = _load_manifest(site_dir)
    revisions = manifest["revisions"]
    if revisions and revisions[-1]["inputs_sha256"] == digest:
        return Published(None, f"inputs unchanged since {revisions[-1]['label']}; nothing published", site_dir)
    label = label or as_of
    if not LABEL.match(label):
        raise MemoError(f"error: --label {label!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    if any(r["label"] == label for r in revisions):
        raise MemoError(f"error: version {label!r} is already published; choose another --label")

    target = site_dir / "v" / label
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".publish-", dir=target.parent))
    try:
        shutil.copytree(source, staging / label)
        entry = _entry(label, as_of, digest, data, site_dir, revisions, staging / label)
        staging.joinpath(label).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    revisions.append(entry)
    write_outputs(site_dir, _root_files(data, revisions, base_url))
    return Published(label, f"published {label} at v/{label}/", site_dir)


def _entry(
    label: str, as_of: str, digest: str, data: dict[str, Any], site_dir: Path, revisions: list, new_dir: Path
) -> dict[str, Any]:
    changes: list[dict[str, Any]] = []
    inputs: list[dict[str, Any]] = []
    if revisions:
        old = load_side(site_dir / revisions[-1]["path"], "previous")
        new = load_side(new_dir, "new")
        use_recorded_units(old, new)
        inputs = input_changes(old, new)
        for change in figure_changes(old, new, {c["name"] for c in inputs}):
            if change.name.startswith(("scenario.", "uncertainty.")):
                continue
            changes.append(
                {
                    "name": change.name,
                    "label": change.label,
                    "old": change.text("old"),
                    "new": change.text("new"),
                    "change": change.change_text(),
                }
            )
    return {
        "label": label,
        "as_of": as_of,
        "inputs_sha256": digest,
        "path": f"v/{label}/",
        "title": data["memo"]["title"],
        "inputs_changed": [c["name"] for c in inputs],
        "figures_changed": changes,
    }


def _root_files(data: dict[str, Any], revisions: list[dict[str, Any]], base_url: str | None) -> dict[str, bytes]:
    latest = revisions[-1]
    title = data["memo"]["title"]
    return {
        MANIFEST: (json.dumps({"revisions": revisions}, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        "revisions.html": _revisions_html(title, revisions).encode("utf-8"),
        "index.html": _index_html(title, latest).encode("utf-8"),
        "sitemap.xml": site_stage.sitemap(
            base_url,
            [("", latest["as_of"]), ("revisions.html", latest["as_of"])]
            + [(f"{r['path']}{page}", r["as_of"]) for r in revisions for page in ("", "memo.html", "memo.pdf")],
        ),
        "robots.txt": site_stage.robots(base_url),
        "feed.xml": _feed(title, revisions, base_url, data),
        "favicon.svg": (site_stage.ASSETS / "favicon.svg").read_bytes(),
    }


def _feed(title: str, revisions: list[dict[str, Any]], base_url: str | None, data: dict[str, Any]) -> bytes:
    from memo.validate import MemoMeta

    latest = revisions[-1]
    meta = MemoMeta(title=title, author=data["memo"]["author"], as_of=_date(latest["as_of"]), disclaimer="")
    entries = [
        {
            "title": f"{title} ({r['label']})",
            "path": f"{r['path']}memo.html",
            "date": r["as_of"],
            "summary": _summary(r),
            "id": f"tag:memo,{r['as_of']}:{r['label']}:{r['inputs_sha256'][:16]}",
        }
        for r in reversed(revisions)
    ]
    return site_stage.feed(meta, base_url, entries)


def _date(text: str):
    import datetime as dt

    return dt.date.fromisoformat(text)


def _summary(revision: dict[str, Any]) -> str:
    changed = revision["figures_changed"]
    if not changed and not revision["inputs_changed"]:
        return "First published version."
    shown = "; ".join(f"{c['label']}: {c['old']} \u2192 {c['new']}" for c in changed[:5])
    more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
    return f"{len(changed)} figures changed: {shown}{more}."


# The root pages (memo/templates/revisions.html.j2 and latest.html.j2): no script, inline styles, the favicon.
_CSP = page.policy(style=[page.INLINE], img=[page.SELF])


def _revisions_html(title: str, revisions: list[dict[str, Any]]) -> str:
    return page.render(
        "revisions.html.j2", title=f"Revisions: {title}", csp=_CSP, memo_title=title, revisions=revisions
    )


def _index_html(title: str, latest: dict[str, Any]) -> str:
    return page.render("latest.html.j2", title=title, csp=_CSP, memo_title=title, latest=latest)
