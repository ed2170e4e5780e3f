"""Output folders memo may write: the checks made before any work, the marker that says memo made a folder, and
the lock that keeps two memos from writing one folder at once.

A folder memo writes (``memo build --out``, ``memo diff --out``, ``memo publish --site``) must be new, empty, or
made by the same command earlier: it holds the marker file :data:`MARKER`, or, for folders written by memo
versions that had no marker, the file that command always wrote (:data:`LEGACY`). It is never ``/``, the home
folder, a system folder, the project folder, a folder holding the project or one of its sources, or a folder
inside the project's sources.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo.errors import MemoError

MARKER = ".memo-output.json"
# What each command always wrote before the marker existed: a folder holding it (and valid JSON) was made by memo.
LEGACY = {"build": ".memo-build.json", "diff": "changes.json", "site": "revisions.json"}
COMMANDS = {"build": "memo build", "diff": "memo diff", "site": "memo publish"}
SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"))
TRANSIENT = re.compile(r"^\..+\.memo-(lock|swap-.+|aside-.+)$")  # beside an output folder (memo.outputs)
LOCK_WAIT = 300.0  # seconds a second memo waits for the one writing the same folder (MEMO_LOCK_WAIT overrides)


@dataclass(frozen=True)
class Guarded:
    """What an output folder must keep clear of: folders it may not be inside, paths it may not hold."""

    inside: tuple[Path, ...] = ()  # the output may be none of these nor inside one (source folders)
    holds: tuple[Path, ...] = ()  # the output may be none of these nor hold one (project folder, source files)


def guarded(project: Any | None, *files: Path) -> Guarded:
    """The guard for a project (a :class:`memo.project.Project`, or None outside any project) and the input
    ``files`` a command reads (the assumptions file)."""
    files = tuple(f.resolve() for f in files)
    if project is None:
        return Guarded((), files)
    root = project.root.resolve()
    model = project.model_file.resolve()
    sources = tuple(p.resolve() for p in project.source_roots) + tuple(
        (root / name).resolve() for name in _listed_sources(project)
    )
    # an input's own folder inside the project (say inputs/) is a source folder too; the root, or a folder outside
    # the project (a scratch folder holding an --assumptions file), only may not be held
    beside = tuple(f.parent for f in (model, *files) if root in f.parent.parents)
    return Guarded(sources + beside, (root, project.project_file.resolve(), model, *sources, *files))


def build_folder(options: Any) -> Path:
    """The real output folder of a build (:class:`memo.options.BuildOptions`), once it is safe to build into.
    Fast, and light to import: commands call it before starting anything."""
    return checked(options.out_dir, "build", "--out", guarded(options.project, options.assumptions))


def _listed_sources(project: Any) -> tuple[str, ...]:
    """memo.yml ``sources:`` (folders beside the project), read without validating the project file when it has
    not been validated yet (the build reports any problem in it)."""
    if "_validated" in project.__dict__:
        return tuple(project.settings.sources)
    from memo import load

    try:
        data = load.load_file(project.project_file).data
    except Exception:  # an unreadable project file: the build says why, in its own words
        return ()
    listed = data.get("sources") if isinstance(data, dict) else None
    return tuple(s for s in listed if isinstance(s, str) and s) if isinstance(listed, list) else ()


def checked(out: Path, kind: str, flag: str, guard: Guarded = Guarded()) -> Path:
    """The real folder ``out`` names, once it is safe for ``kind`` ("build", "diff" or "site") to write there;
    otherwise a MemoError naming ``flag`` (the option that gave it), the path and why."""
    real = Path(os.path.abspath(out))
    try:
        real = real.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        _refuse(flag, out, "cannot be resolved (a symlink loop?)")
    reason = _not_a_folder(real) or (_unsafe_place(real, guard) or _unusable(real, kind))
    if reason:
        _refuse(flag, out, reason)
    return real


def _not_a_folder(real: Path) -> str | None:
    if not os.path.lexists(real) or real.is_dir():
        return None
    return "is a file, not a folder" if real.is_file() else "is not a folder"


def _refuse(flag: str, out: Path, reason: str) -> None:
    raise MemoError(f"memo: {flag} {out}: {reason}")


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _unsafe_place(real: Path, guard: Guarded) -> str | None:
    if real == Path(real.anchor):
        return "is the root folder; name a folder of its own for memo to write"
    if any(_within(real, system) for system in SYSTEM):
        return "is a system folder; name a folder of your own"
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError, OSError):  # no home folder known
        home = None
    if home is not None and _within(home, real):
        return "is your home folder" if real == home else f"holds your home folder {home}"
    for index, source in enumerate(guard.holds):
        if _within(source, real):
            what = f"the project folder {source}" if index == 0 and source.is_dir() else f"{source}, which memo reads"
            if source != real:
                return f"holds {what}"
            return (
                "is the project folder; outputs go in a folder of their own (e.g. build/)"
                if index == 0
                else f"is {what}"
            )
    for folder in guard.inside:
        if _within(real, folder):
            return f"is inside {folder}, which memo reads; outputs go in a folder of their own (e.g. build/)"
    return None


def _unusable(real: Path, kind: str) -> str | None:
    existing = next(p for p in (real, *real.parents) if os.path.lexists(p))
    if not existing.is_dir():
        return f"{existing} is not a folder"
    if real.is_dir() and not _ours(real, kind):
        made = made_by(real)
        if made is not None:
            return f"was made by {COMMANDS.get(made, 'memo')}, not {COMMANDS[kind]}; name another folder"
        return (
            f"exists, is not empty and was not made by {COMMANDS[kind]}; name a new or empty folder "
            "(memo writes only folders it made)"
        )
    return None


def made_by(folder: Path) -> str | None:
    """The kind of output memo made ``folder`` for, from its marker (or the file an older memo always wrote)."""
    marker = read_marker(folder)
    if marker is not None:
        return marker.get("memo") if isinstance(marker.get("memo"), str) else None
    for kind, name in LEGACY.items():
        if _json_object(folder / name) is not None:
            return kind
    return None


def _ours(folder: Path, kind: str) -> bool:
    """Whether ``kind`` may write ``folder``: it is empty, memo made it for ``kind``, or it holds only folders memo
    made (``memo build --out build/old`` makes ``build/`` to hold ``old/``; ``memo build`` may then use it)."""
    if made_by(folder) == kind:
        return True
    try:
        with os.scandir(folder) as entries:
            return all(_memos(Path(entry.path)) for entry in entries)
    except OSError as exc:
        raise MemoError(f"memo: {folder}: cannot read it ({exc.strerror})") from None


def _memos(path: Path) -> bool:
    """A folder memo made, or the lock or a half-switched folder memo keeps beside one."""
    if TRANSIENT.match(path.name):
        return True
    return path.is_dir() and not path.is_symlink() and made_by(path) is not None


def _json_object(path: Path) -> dict[str, Any] | None:
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > 16 << 20:
            return None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_marker(folder: Path) -> dict[str, Any] | None:
    return _json_object(folder / MARKER)


def marker(kind: str, files: Iterable[str]) -> bytes:
    """The marker of a folder memo made for ``kind``, listing the files it wrote there (so that the next run
    replaces those and keeps everything else)."""
    return (json.dumps({"memo": kind, "files": sorted(files)}, indent=1) + "\n").encode("utf-8")


# ---------------------------------------------------------------- the lock


def _lock_wait() -> float:
    try:
        return max(0.0, float(os.environ.get("MEMO_LOCK_WAIT", LOCK_WAIT)))
    except ValueError:
        return LOCK_WAIT


@contextmanager
def locked(real: Path, flag: str = "--out", wait: float | None = None) -> Iterator[None]:
    """Hold the lock of the output folder ``real`` (a file beside it, there only while held): a second memo
    writing the same folder waits for the first (at most ``wait`` seconds, then refuses)."""
    path = real.parent / f".{real.name}.memo-lock"
    wait = _lock_wait() if wait is None else wait
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        fd = _acquire(path, real, flag, wait)
    except OSError as exc:
        raise MemoError(f"memo: {flag} {real}: cannot write beside it ({exc.strerror})") from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with suppress(OSError):
            os.unlink(path)  # while still held: whoever opens the path next makes a fresh lock
        os.close(fd)


def _acquire(path: Path, real: Path, flag: str, wait: float) -> int:
    deadline, told = time.monotonic() + wait, False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                os.close(fd)
                raise
            holder = _holder(fd)
            os.close(fd)
            if time.monotonic() >= deadline:
                raise MemoError(
                    f"memo: {flag} {real}: another memo{holder} has been writing it for {wait:g} s; "
                    "wait for it to finish or stop it"
                ) from None
            if not told:
                print(f"memo: waiting for another memo{holder} writing {real}", file=sys.stderr, flush=True)
                told = True
            time.sleep(0.1)
            continue
        if _same_file(fd, path):
            return fd
        os.close(fd)  # the holder removed it as we took it: take the new one


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {text})" if text.isdigit() else ""


def _same_file(fd: int, path: Path) -> bool:
    try:
        mine, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)
