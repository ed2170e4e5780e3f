"""A content-addressed build cache under ``.memo-cache/``.

An entry is stored under the SHA-256 of everything that determines it (a chart's spec and the converter and font
versions, the PDF's final HTML, stylesheet and fonts, ...). Each entry carries the SHA-256 of its own bytes and is
verified on every read: a corrupt, truncated or foreign entry is treated as a miss and rebuilt, never used.
Writes go through a temporary file and a rename, so a crash cannot leave half an entry.

Entries are data (SVG, PNG, PDF and script bytes that become output files), never code: nothing read from the
cache is executed, unpickled or unmarshalled. Since the checksum only catches damage, not a forger, an entry is
used only when it belongs to the user running memo and nobody else may write it (its owner is this user, it is
not writable by group or others, and it is a regular file, not a link), so a cache folder others can write to
lets them feed a build nothing.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = b"memo-cache-1\n"
MAX_ENTRY = 256 * 1024 * 1024  # bytes; the largest entry (the PDF) is a few MB


def trusted(info: os.stat_result) -> bool:
    """Whether a cache entry may be used: a regular file of this user's that only this user can write."""
    if not stat.S_ISREG(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or info.st_size > MAX_ENTRY:
        return False
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


def _read(path: Path) -> bytes | None:
    """An entry's bytes, when it is :func:`trusted` (checked on the open file, so it cannot be swapped after)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if not trusted(os.fstat(fd)):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_ENTRY + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def key(*parts: bytes | str) -> str:
    """The cache key of a list of parts (each length-prefixed, so ("ab", "c") and ("a", "bc") differ)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


@dataclass
class Cache:
    root: Path | None  # None: caching off (--no-cache)
    hits: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def _path(self, kind: str, digest: str) -> Path:
        assert self.root is not None
        return self.root / kind / digest[:2] / digest

    def get(self, kind: str, digest: str) -> bytes | None:
        if self.root is None:
            return None
        raw = _read(self._path(kind, digest))
        if raw is None:
            return None
        header_end = len(MAGIC) + 64 + 1
        if not raw.startswith(MAGIC) or len(raw) < header_end:
            return None
        checksum, body = raw[len(MAGIC) : header_end - 1].decode("ascii", "replace"), raw[header_end:]
        if hashlib.sha256(body).hexdigest() != checksum:
            return None
        return body

    def put(self, kind: str, digest: str, body: bytes) -> None:
        if self.root is None:
            return
        path = self._path(kind, digest)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(MAGIC + hashlib.sha256(body).hexdigest().encode("ascii") + b"\n" + body)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs time

    def through(self, kind: str, digest: str, make: Callable[[], bytes]) -> bytes:
        """The cached bytes for ``digest``, or ``make()``'s, stored for next time."""

        def start() -> Callable[[], bytes]:
            body = make()
            return lambda: body

        return self.later(kind, digest, start)()

    def later(self, kind: str, digest: str, start: Callable[[], Callable[[], bytes]]) -> Callable[[], bytes]:
        """:meth:`through` for work done elsewhere while this process goes on: on a miss ``start()`` begins it and
        returns a function that waits for its bytes. The returned function gives the cached bytes, or waits for the
        made ones and stores them for next time."""
        cached = self.get(kind, digest)
        if cached is not None:
            self.hits.append(kind)
            return lambda: cached
        self.misses.append(kind)
        wait = start()

        def made() -> bytes:
            body = wait()
            self.put(kind, digest, body)
            return body

        return made


def files_digest(paths: Iterable[Path], root: Path | None = None) -> str:
    """One digest of many files' names and contents; names are relative to ``root``, or bare file names."""
    parts: list[bytes | str] = []
    for path in sorted(paths):
        parts += [path.relative_to(root).as_posix() if root is not None else path.name, path.read_bytes()]
    return key(*parts)


@functools.cache
def code_digest() -> str:
    """memo's own source code, templates (memo/templates/, whose head partial every page includes) and browser
    assets (memo/assets/, copied into every build): a change to them invalidates every cached stage (fixed for a
    running process)."""
    return files_digest(engine_files(), Path(__file__).parent)


def engine_files() -> list[Path]:
    """The files of :func:`code_digest`."""
    package = Path(__file__).parent
    return [*package.rglob("*.py"), *(package / "templates").glob("*.j2"), *(package / "assets").rglob("*.js")]
