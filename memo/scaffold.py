"""``memo new DIR``: a small, complete memo project that builds as it is, to start from.

The starter project is package data (``memo/scaffold/``), copied file for file; memo refuses a DIR that exists and
is not empty, so it never replaces anything of the author's.
"""

from __future__ import annotations

from pathlib import Path

from memo.errors import MemoError

STARTER = Path(__file__).resolve().parent / "scaffold"


def starter_files() -> dict[str, bytes]:
    """The starter project, by path relative to its folder."""
    return {
        path.relative_to(STARTER).as_posix(): path.read_bytes()
        for path in sorted(STARTER.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def create(target: Path) -> Path:
    """Write the starter project into ``target`` (created; refused when it exists and holds anything)."""
    if target.exists() and not target.is_dir():
        raise MemoError(f"memo new: {target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()):
        raise MemoError(f"memo new: {target} is not empty; name a new or empty folder")
    files = starter_files()
    if not files:
        raise MemoError("memo new: the starter project is missing from this installation of memo")
    for relative, data in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target
