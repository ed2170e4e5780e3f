"""Publish stage: add the current build's site to a site kept across publishes.

Every published version keeps its own permanent URL (``v/LABEL/``); the site's root holds a Revisions page listing
each version with the figures that changed against the one before (the diff engine's figure comparison), a feed
with one entry per version, a sitemap and an index that leads to the latest version. Publishing inputs that have
not changed since the latest version adds nothing.

A version's label defaults to its as-of date, then DATE-2, DATE-3 for later versions of the same date. Each version
records when it was published (``published``, RFC 3339 UTC; ``SOURCE_DATE_EPOCH`` pins the clock), which the feed
and the sitemap give, so that the root files are a function of revisions.json alone.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo import outdir, page
from memo import site as site_stage
from memo.errors import MemoError
from memo.options import check_base_url
from memo.outputs import write_outputs
from memo.review.changes import figure_changes, input_changes
from memo.review.sides import (
    DiffTrouble,
    Side,
    check_figures_json,
    load_side,
    read_build_json,
    use_recorded_units,
)

LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # always with fullmatch: "$" would let "good\n" through
DIGEST = re.compile(r"[0-9a-f]{64}")
PUBLISHED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")  # RFC 3339 in UTC, to the second
PUBLISHED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # the same, for strftime and strptime
MANIFEST = "revisions.json"
COMMAND = "memo publish"
MAX_MANIFEST = 16 * 1024 * 1024  # bytes of revisions.json; each version adds about a kilobyte


@dataclass(frozen=True)
class Published:
    label: str | None  # None when nothing was added
    reason: str
    site_dir: Path
    warnings: tuple[str, ...] = ()  # one line each, for the user (memo: warning: ...)
    written: tuple[str, ...] = ()  # the files written, relative to the site folder
    previous: str | None = None  # the version this one was compared with
    figures_changed: int = 0  # against it, as the revisions page lists them


STAGES = ("read build", "copy", "compare", "site files")  # in the order they run


@contextmanager
def _refusals() -> Iterator[None]:
    """memo publish's refusals exit 1 (the readers it shares with memo diff, whose trouble is exit 2, raise
    DiffTrouble)."""
    try:
        yield
    except DiffTrouble as exc:
        raise MemoError(str(exc)) from None


def check_label(label: str) -> str:
    if not isinstance(label, str) or not LABEL.fullmatch(label):
        raise MemoError(f"error: --label {label!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    return label


def _site_folder(site_dir: Path) -> None:
    """The site must be a folder (or not exist yet), and so must its v/ folder of versions."""
    for folder in (site_dir, site_dir / "v"):
        if folder.exists() and not folder.is_dir():
            raise MemoError(f"error: --site {site_dir}: {folder} is a file, not a folder; name the site's folder")


def _read_build(source: Path) -> dict[str, Any]:
    """The build's figures.json, checked like memo diff checks one, with what publish reads besides."""
    path = source / "figures.json"
    with _refusals():
        data = check_figures_json(read_build_json(path, "--build", command=COMMAND), path, "--build", COMMAND)
    problem = _build_problem(data)
    if problem is not None:
        raise MemoError(f"{COMMAND}: --build: {path}: {problem}; is it a figures.json memo wrote?")
    return data


def _build_problem(data: dict[str, Any]) -> str | None:
    memo, build = data.get("memo"), data.get("build")
    if not isinstance(memo, dict) or not all(isinstance(memo.get(k), str) for k in ("title", "author", "as_of")):
        return "memo.title, memo.author and memo.as_of must be texts"
    if not _is_date(memo["as_of"]):
        return "memo.as_of must be a date, YYYY-MM-DD"
    if not isinstance(build, dict) or not isinstance(build.get("inputs_sha256"), str):
        return "build.inputs_sha256 must be a text"
    if not DIGEST.fullmatch(build["inputs_sha256"]):
        return "build.inputs_sha256 must be 64 hexadecimal digits"
    return None


def _is_date(text: Any) -> bool:
    try:
        return isinstance(text, str) and len(text) == 10 and dt.date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def _is_time(text: Any) -> bool:
    if not isinstance(text, str) or not PUBLISHED.fullmatch(text):
        return False
    try:
        dt.datetime.strptime(text, PUBLISHED_FORMAT)
    except ValueError:
        return False
    return True


def now() -> str:
    """The publish time: SOURCE_DATE_EPOCH when set (reproducible-builds.org's convention, which tests and
    pipelines use to pin it), otherwise the clock; RFC 3339 in UTC, to the second."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None or epoch == "":
        moment = dt.datetime.now(dt.UTC)
    else:
        try:
            moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise MemoError(
                f"error: SOURCE_DATE_EPOCH {epoch!r}: must be a whole number of seconds since 1970-01-01 UTC"
            ) from None
    return moment.strftime(PUBLISHED_FORMAT)


def updated(revision: dict[str, Any]) -> str:
    """When a version was published; a revisions.json written before memo recorded it gives its as-of date."""
    return revision.get("published") or site_stage.midnight(revision["as_of"])


def default_label(as_of: str, revisions: list[dict[str, Any]]) -> str:
    """The as-of date, or DATE-2, DATE-3 ... when it is taken: the first free one, so the same site always gives
    the same label."""
    taken = {r["label"] for r in revisions}
    label, n = as_of, 1
    while label in taken:
        n += 1
        label = f"{as_of}-{n}"
    return label


def _load_manifest(site_dir: Path) -> dict[str, Any]:
    """revisions.json, validated like an input: its shape, and each version's path a folder inside the site."""
    path = site_dir / MANIFEST
    if not path.exists():
        return {"revisions": []}
    with _refusals():
        data = read_build_json(path, "--site", MAX_MANIFEST, COMMAND)
    revisions = data.get("revisions") if isinstance(data, dict) else None
    if not isinstance(revisions, list):
        raise MemoError(f"{COMMAND}: --site: {path}: must be an object with a list of revisions")
    seen: set[str] = set()
    for index, entry in enumerate(revisions):
        problem = _revision_problem(entry, site_dir)
        if problem is None and entry["label"] in seen:
            problem = f"label {entry['label']!r} is listed twice"
        if problem is not None:
            raise MemoError(
                f"{COMMAND}: --site: {path}: revisions[{index}]: {problem}; it records the published versions, "
                "so restore it (from your site's history) rather than edit it"
            )
        seen.add(entry["label"])
    return {"revisions": revisions}


def _revision_problem(entry: Any, site_dir: Path) -> str | None:
    if not isinstance(entry, dict):
        return "must be an object"
    texts = ("label", "as_of", "inputs_sha256", "path", "title")
    missing = [k for k in texts if not isinstance(entry.get(k), str)]
    if missing:
        return f"{', '.join(missing)} must be {'a text' if len(missing) == 1 else 'texts'}"
    if not LABEL.fullmatch(entry["label"]):
        return "label must be letters, digits, '.', '_' and '-' (at most 64)"
    if not _is_date(entry["as_of"]):
        return "as_of must be a date, YYYY-MM-DD"
    if not DIGEST.fullmatch(entry["inputs_sha256"]):
        return "inputs_sha256 must be 64 hexadecimal digits"
    if "published" in entry and not _is_time(entry["published"]):
        return "published must be a UTC time, YYYY-MM-DDTHH:MM:SSZ"
    problem = _path_problem(entry["path"], site_dir)
    if problem is not None:
        return problem
    changed = entry.get("inputs_changed")
    if not isinstance(changed, list) or not all(isinstance(n, str) for n in changed):
        return "inputs_changed must be a list of texts"
    figures = entry.get("figures_changed")
    keys = ("name", "label", "old", "new", "change")
    if not isinstance(figures, list) or not all(
        isinstance(f, dict) and all(isinstance(f.get(k), str) for k in keys) for f in figures
    ):
        return "figures_changed must be a list of objects with texts name, label, old, new and change"
    return None


def _path_problem(path: str, site_dir: Path) -> str | None:
    """Why a version's path is not a folder inside the site as memo names them (``v/LABEL/``)."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "v" or parts[-1] or not all(LABEL.fullmatch(p) for p in parts[:-1]):
        return f"path {path!r} must be a folder inside the site, like v/LABEL/"
    root = site_dir.resolve()
    if not (root / path).resolve().is_relative_to(root):
        return f"path {path!r} leads outside the site (through a link)"
    return None


def _unlisted(target: Path, label: str) -> None:
    """A version folder that revisions.json does not list is not publish's to replace."""
    if target.exists() or target.is_symlink():
        raise MemoError(
            f"error: {target} exists but {MANIFEST} does not list version {label!r}; choose another --label "
            "or move that folder away"
        )


def _previous(site_dir: Path, revisions: list[dict[str, Any]]) -> Side:
    with _refusals():
        return load_side(site_dir / revisions[-1]["path"], f"version {revisions[-1]['label']}", COMMAND)


def _site_guarded(run: Callable[..., Published]) -> Callable[..., Published]:
    """Publish only into a site folder memo made (or a new or empty one; :func:`memo.outdir.checked`), checked
    before anything is read, with its lock held and what a killed publish left there removed."""

    @functools.wraps(run)
    def guarded(build_dir: Path, site_dir: Path, *args: Any, **kwargs: Any) -> Published:
        from memo.project import Project, find

        _site_folder(site_dir)
        root = find(build_dir.parent) if build_dir.parent.is_dir() else None
        guard = outdir.guarded(Project(root) if root else None, build_dir)
        real = outdir.checked(site_dir, "site", "--site", guard)
        with outdir.locked(real, "--site"):
            for leftover in (real / "v").glob(".publish-*"):
                shutil.rmtree(leftover, ignore_errors=True)  # of a publish killed while copying
            published = run(build_dir, real, *args, **kwargs)
            if outdir.read_marker(real) is None and real.is_dir():  # after, so that a refusal leaves no folder
                write_outputs(real, {outdir.MARKER: outdir.marker("site", [])})
            return published

    return guarded


def _project_base_url(build_dir: Path) -> str | None:
    """The base_url of the project the build is in (memo.yml), for a publish given no --base-url."""
    from memo.project import Project, find

    root = find(build_dir.parent) if build_dir.parent.is_dir() else None
    return Project(root).base_url if root is not None else None


@_site_guarded
def publish(
    build_dir: Path,
    site_dir: Path,
    label: str | None = None,
    base_url: str | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> Published:
    """Add the build to the site as a new version; ``on_stage`` hears the end of each of :data:`STAGES`."""
    mark = on_stage or (lambda stage: None)
    if label is not None:
        check_label(label)
    base_url = check_base_url(base_url) or _project_base_url(build_dir)
    _site_folder(site_dir)
    source = build_dir / "site"
    figures_path = source / "figures.json"
    if not figures_path.is_file():
        raise MemoError(f"error: {source} holds no built site; run memo build first")
    data = _read_build(source)
    digest = data["build"]["inputs_sha256"]
    as_of = data["memo"]["as_of"]
    manifest = _load_manifest(site_dir)
    revisions = manifest["revisions"]
    mark("read build")
    if revisions and revisions[-1]["inputs_sha256"] == digest:
        return Published(None, f"inputs unchanged since {revisions[-1]['label']}; nothing published", site_dir)
    label = check_label(label or default_label(as_of, revisions))
    if any(r["label"] == label for r in revisions):
        raise MemoError(f"error: version {label!r} is already published; choose another --label")

    target = site_dir / "v" / label
    _unlisted(target, label)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".publish-", dir=target.parent))
    try:
        shutil.copytree(source, staging / label)
        copied = sorted(str(p.relative_to(staging)) for p in (staging / label).rglob("*") if p.is_file())
        mark("copy")
        entry = _entry(label, as_of, digest, data, site_dir, revisions, staging / label)
        staging.joinpath(label).rename(target)
        mark("compare")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    previous = revisions[-1]["label"] if revisions else None
    revisions.append(entry)
    root = _root_files(data, revisions, base_url)
    written = write_outputs(site_dir, root)
    if "sitemap.xml" not in root:  # one a publish with --base-url wrote lists none of what came since
        (site_dir / "sitemap.xml").unlink(missing_ok=True)
    mark("site files")
    return Published(
        label,
        f"published {label} at v/{label}/",
        site_dir,
        site_stage.warnings(base_url, site_stage.PUBLISH_LEFT_OUT),
        written=tuple(f"v/{path}" for path in copied) + tuple(written),
        previous=previous,
        figures_changed=len(entry["figures_changed"]),
    )


def _entry(
    label: str, as_of: str, digest: str, data: dict[str, Any], site_dir: Path, revisions: list, new_dir: Path
) -> dict[str, Any]:
    changes: list[dict[str, Any]] = []
    inputs: list[dict[str, Any]] = []
    if revisions:
        old = _previous(site_dir, revisions)
        with _refusals():
            new = load_side(new_dir, "--build", COMMAND)
            use_recorded_units(old, new)
            inputs = input_changes(old, new)
            moved = figure_changes(old, new, {c["name"] for c in inputs})
        for change in moved:
            if change.name.startswith(("scenario.", "uncertainty.")) or not change.shown:
                continue  # the analysis's copies, and what the memo's precision does not show
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
        "published": now(),
        "inputs_changed": [c["name"] for c in inputs],
        "figures_changed": changes,
    }


def _root_files(data: dict[str, Any], revisions: list[dict[str, Any]], base_url: str | None) -> dict[str, bytes]:
    latest = revisions[-1]
    title = data["memo"]["title"]
    site_map = site_stage.sitemap(
        base_url,
        [("", updated(latest)), ("revisions.html", updated(latest))]
        + [(f"{r['path']}{page}", updated(r)) for r in revisions for page in ("", "memo.html", "memo.pdf")],
    )
    return {
        MANIFEST: (json.dumps({"revisions": revisions}, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        "revisions.html": _revisions_html(title, revisions).encode("utf-8"),
        "index.html": _index_html(title, latest).encode("utf-8"),
        **({"sitemap.xml": site_map} if site_map is not None else {}),
        "robots.txt": site_stage.robots(base_url),
        "feed.xml": _feed(title, revisions, base_url, data),
        "favicon.svg": (site_stage.ASSETS / "favicon.svg").read_bytes(),
    }


def _feed(title: str, revisions: list[dict[str, Any]], base_url: str | None, data: dict[str, Any]) -> bytes:
    from memo.validate import MemoMeta

    # the feed's id takes the first version's date: it names the feed, so it must not change with each version
    meta = MemoMeta(title=title, author=data["memo"]["author"], as_of=_date(revisions[0]["as_of"]), disclaimer="")
    entries = [
        {
            "title": f"{title} ({r['label']})",
            "path": f"{r['path']}memo.html",
            "updated": updated(r),
            "summary": _summary(r),
            "id": f"tag:memo,{r['as_of']}:{r['label']}:{r['inputs_sha256'][:16]}",
        }
        for r in reversed(revisions)
    ]
    return site_stage.feed(meta, base_url, entries)


def _date(text: str) -> dt.date:
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
