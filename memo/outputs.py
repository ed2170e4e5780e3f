"""Write a build's outputs atomically: everything is staged first, then moved into place.

A build that fails before this point writes nothing, so the previous build's files stay intact. Files whose
bytes have not changed are left untouched (same mtime), so tools watching the output see only real changes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path


def write_outputs(out_dir: Path, files: Mapping[str, bytes]) -> list[str]:
    """Write ``files`` (relative path -> bytes) under ``out_dir``; return the paths whose bytes changed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        changed: list[str] = []
        for relative, data in files.items():
            target = out_dir / relative
            if target.is_file() and target.read_bytes() == data:
                continue
            staged = staging / relative
            staged.parent.mkdir(parents=True, exist_ok=True)
            with open(staged, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            changed.append(relative)
        for relative in changed:
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target)
        return changed
    finally:
        shutil.rmtree(staging, ignore_errors=True)
