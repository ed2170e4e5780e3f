"""The build stamp: ``.memo-build.json`` records a build's key and the digest of every output, so a build whose
key is unchanged and whose outputs are all still there, byte for byte, has nothing to do and touches nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

STAMP = ".memo-build.json"


def record(build: str | None, files: dict[str, bytes], quick: dict[str, Any] | None = None) -> bytes:
    """The stamp; ``quick`` is what :mod:`memo.quick` checks before the engine is imported."""
    digests = {path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())}
    return (json.dumps({"build": build, "outputs": digests, "quick": quick}, indent=1) + "\n").encode("utf-8")


def up_to_date(out_dir: Path, build: str | None) -> bool:
    """True when the last build here had the same key and its outputs are all still there, byte for byte."""
    if build is None:
        return False
    try:
        recorded = json.loads((out_dir / STAMP).read_text(encoding="utf-8"))
        if recorded.get("build") != build:
            return False
        for path, digest in recorded["outputs"].items():
            if hashlib.sha256((out_dir / path).read_bytes()).hexdigest() != digest:
                return False
    except (OSError, ValueError, KeyError, AttributeError):
        return False
    return True
