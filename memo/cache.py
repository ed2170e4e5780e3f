"""A content-addressed build cache under ``.memo-cache/``.

An entry is stored under the SHA-256 of everything that determines it (a chart's spec and the converter and font
versions, the PDF's final HTML, stylesheet and fonts, ...). Each entry carries the SHA-256 of its own bytes and is
verified on every read: a corrupt, truncated or foreign entry is treated as a miss and rebuilt, never used.
Writes go through a temporary file and a rename, so a crash cannot leave half an entry.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = b"memo-cache-1\n"


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
        try:
            raw = self._path(kind, digest).read_bytes()
        except OSError:
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
        body = self.get(kind, digest)
        if body is not None:
            self.hits.append(kind)
            return body
        self.misses.append(kind)
        body = make()
        self.put(kind, digest, body)
        return body


def files_digest(paths: Iterable[Path], root: Path | None = None) -> str:
    """One digest of many files' names and contents; names are relative to ``root``, or bare file names."""
    parts: list[bytes | str] = []
    for path in sorted(paths):
        parts += [path.relative_to(root).as_posix() if root is not None else path.name, path.read_bytes()]
    return key(*parts)


@functools.cache
def code_digest() -> str:
    """memo's own source code and templates (memo/templates/, whose head partial every page includes): a change
    to them invalidates every cached stage (fixed for a running process)."""
    package = Path(__file__).parent
    return files_digest([*package.rglob("*.py"), *(package / "templates").glob("*.j2")], package)
