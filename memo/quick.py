"""Is the last build still up to date? Answered from its stamp with the standard library alone, before memo imports
its engine (numpy, Jinja, the model: about 0.4 s), so that ``memo build`` with nothing changed returns at once.

The full check (:func:`memo.stamp.up_to_date` with the build's key) stays the authority. A build records in its
stamp what its key was made of that can change outside the command line: every file it read (the assumptions,
the project's files, memo's own code, the fonts) by digest, the files under each folder it read (so an added or
removed file counts), where each library that shapes the bytes is installed (a new version is a new dist-info
folder), the Python version and the font subsetter, and the command line that asked for it. This module re-reads
exactly those; any difference, or anything it cannot read, sends the build down the full path.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from memo.stamp import STAMP  # standard library only, like this module

QUICK = "quick"  # the stamp's key for this record
PROJECT_FILE = "memo.yml"  # memo.schema.PROJECT_FILE (not imported: this module must stay light)
NOT_SOURCES = frozenset({"__pycache__", ".memo-cache"})  # Python's bytecode; memo's cache, made where a build runs


def request(cwd: Path, **asked: Any) -> dict[str, Any]:
    """The command line of a build, as this check compares it: the same words in the same folder."""
    return {"cwd": str(cwd.resolve()), **{k: list(v) if isinstance(v, tuple) else v for k, v in sorted(asked.items())}}


def record(
    asked: Mapping[str, Any],
    files: Iterable[Path],
    folders: Iterable[Path],
    libraries: Mapping[str, str | None],
    subsetter: str,
    warnings: Iterable[str],
) -> dict[str, Any] | None:
    """What :func:`still_holds` checks, or None when a library's install folder is unknown (no quick answer)."""
    if any(path is None for path in libraries.values()):
        return None
    return {
        "request": dict(asked),
        "files": {str(p.resolve()): _digest(p) for p in sorted(set(files))},
        "folders": {str(f.resolve()): _listing(f) for f in sorted(set(folders))},
        "libraries": dict(sorted(libraries.items())),
        "python": sys.version,
        "subsetter": subsetter,
        "warnings": list(warnings),
    }


def up_to_date(out_dir: Path, asked: Mapping[str, Any]) -> list[str] | None:
    """The warnings the last build in ``out_dir`` gave, when it is certainly up to date for ``asked``; else None."""
    try:
        if _leftovers(out_dir):
            return None  # a killed build's folders beside it: the full path removes them
        stamp = json.loads((out_dir / STAMP).read_text(encoding="utf-8"))
        quick = stamp[QUICK]
        if quick is None or quick["request"] != dict(asked) or quick["python"] != sys.version:
            return None
        if any(not Path(path).is_dir() for path in quick["libraries"].values()):
            return None
        if any(_listing(Path(folder)) != names for folder, names in quick["folders"].items()):
            return None
        if any(_digest(Path(path)) != digest for path, digest in quick["files"].items()):
            return None
        if any(_digest(out_dir / path) != digest for path, digest in stamp["outputs"].items()):
            return None
        from memo.fonts import font_tools  # after the cheap checks: it loads a shared library

        if font_tools() != quick["subsetter"]:
            return None
        return list(quick["warnings"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def find_project(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds a project file (memo.project.find, light to import)."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def _leftovers(out_dir: Path) -> bool:
    """Whether a killed run left folders beside ``out_dir`` (memo.outputs' swap and aside folders)."""
    name = out_dir.name
    with os.scandir(out_dir.parent) as entries:
        return any(entry.name.startswith((f".{name}.memo-swap-", f".{name}.memo-aside-")) for entry in entries)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(folder: Path) -> list[str]:
    """Every file below ``folder`` (relative paths, sorted), bytecode and memo's cache aside."""
    names = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in NOT_SOURCES)
        base = Path(root).relative_to(folder)
        names += [(base / name).as_posix() for name in files]
    return sorted(names)
