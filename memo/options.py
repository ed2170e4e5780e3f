"""One build's settings, as one object: what the CLI, ``memo diff`` and ``memo serve`` hand the build, and the key
that says whether two builds would write the same outputs (like black's ``Mode``)."""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from memo.errors import UsageError
from memo.project import Project, display, load_project, locate

MAX_URL = 2000  # characters of --base-url
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]*")  # RFC 3986 characters, less the quote "'"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def check_base_url(url: str | None, option: str = "--base-url") -> str | None:
    """``url`` when it is an absolute http(s) URL with a host, and nothing that could leave the URL where it is
    written (:func:`base_url_problem`). Otherwise a usage error (exit 2) saying what to give."""
    if url is None:
        return None
    problem = base_url_problem(url)
    if problem is not None:
        shown = ascii(url) if len(url) <= 80 else ascii(url[:80]) + "..."
        raise UsageError(f"error: {option} {shown}: {problem}; give an absolute URL like https://example.org/memo/")
    return url


def base_url_problem(url: str) -> str | None:
    """Why ``url`` is not a base URL memo writes: one that is not an absolute http(s) URL with a host, or holds
    what could leave the URL where it is written (robots.txt lines, XML attributes, HTML): whitespace, a control
    character, quote, angle bracket, backslash or non-ASCII letter (give a host in its punycode form, a path
    percent-encoded), a user name or password, a query or fragment. None when it is one."""
    if len(url) > MAX_URL:
        return f"longer than {MAX_URL} characters"
    bad = _URL_CHARS.match(url).end()  # type: ignore[union-attr]
    if bad < len(url):
        return f"holds {url[bad]!a} (character {bad + 1}), which a URL cannot hold raw; percent-encode it"
    if _BAD_ESCAPE.search(url):
        return "holds a % that does not start a %XX escape"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"cannot be read as a URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "must start with https:// or http://"
    if not parts.hostname:
        return "names no host"
    if parts.username is not None or parts.password is not None:
        return "must not hold a user name or password (it is published in the feed and sitemap)"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return "must not hold a query (?) or fragment (#)"
    if port == 0:
        return "port 0 is not a port a site is served on"
    return None


@dataclass(frozen=True)
class BuildOptions:
    project: Project
    assumptions: Path  # the assumptions file (the project's own unless --assumptions names another)
    out_dir: Path
    overrides: tuple[str, ...] = ()  # --set KEY=VALUE, in order
    scenario: str | None = None
    allow_failing_claims: bool = False
    base_url: str | None = None
    use_cache: bool = True
    display_name: str | None = None  # how diagnostics name the assumptions file
    request: dict[str, Any] | None = None  # the command line that asked for the build (memo.quick), not in the key

    def __post_init__(self) -> None:
        check_base_url(self.base_url)

    @classmethod
    def of(
        cls,
        assumptions: str | os.PathLike[str] | None = None,
        out_dir: str | os.PathLike[str] | None = None,
        project: Project | str | os.PathLike[str] | None = None,
        **settings: object,
    ) -> BuildOptions:
        """Options with the defaults filled in: the project found above the assumptions file (or the working
        directory), its own assumptions file, and ``build/`` in the project folder."""
        if not isinstance(project, Project):
            start = Path(assumptions).parent if assumptions is not None and project is None else None
            project = load_project(locate(project, start))
        path = Path(assumptions) if assumptions is not None else project.assumptions
        settings.setdefault("display_name", display(path))
        if settings.get("base_url") is None:  # --base-url, else memo.yml's base_url
            settings["base_url"] = project.base_url
        overrides = tuple(settings.pop("overrides", ()) or ())  # type: ignore[call-overload]
        out = Path(out_dir) if out_dir is not None else project.root / "build"
        return cls(project, path, out, overrides, **settings)  # type: ignore[arg-type]

    @cached_property
    def project_digest(self) -> str:
        """Every file of the project the build reads besides the assumptions: templates, charts, styles, assets,
        the project file and the model."""
        return self.project.source_digest()

    def cache_key(self) -> str | None:
        """Everything a build's outputs depend on: the inputs, these options, the project's files, memo's own code
        and the versions of the libraries and fonts that shape the bytes. None when the inputs cannot be read."""
        from memo import figures, fonts
        from memo.cache import code_digest, key
        from memo.errors import InputError
        from memo.load import read_bounded

        try:
            source = read_bounded(self.assumptions)  # never a blocking or unbounded read: validation says why
        except InputError:
            return None
        settings = [
            list(self.overrides),
            self.scenario,
            self.allow_failing_claims,
            self.base_url,
            str(self.project.root),
        ]
        return key(
            source,
            json.dumps(settings),
            self.project_digest,
            code_digest(),
            json.dumps(figures.library_versions(), sort_keys=True),
            fonts.digest(),
        )
