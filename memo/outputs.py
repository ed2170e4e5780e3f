"""Write a command's outputs whole: into a new folder beside the output folder, switched in with one atomic step.

A run that fails before the switch leaves the previous outputs as they were; a kill at any moment leaves either
the complete old outputs or the complete new ones (on Linux and macOS the two folders are swapped in one rename;
elsewhere the old folder is renamed aside first, and put back by the next run if a kill came between the two
renames). Files whose bytes have not changed are hard links to the previous ones (same mtime), so tools watching
the output see only real changes. What the previous run did not write (a user's notes, ``memo diff``'s default
``build/diff/``) is carried over unchanged; what it wrote and this run does not is dropped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from memo import outdir
from memo.errors import MemoError

if TYPE_CHECKING:
    from memo.build import RenderedMemo

Pause = Callable[[str], None]  # hears each step of a switch (for the kill tests)
SWAP, ASIDE = "memo-swap-", "memo-aside-"  # memo.quick looks for these too


def switch_whole(real: Path, files: Mapping[str, bytes], kind: str, pause: Pause | None = None) -> list[str]:
    """Make ``files`` (relative path -> bytes) the outputs in the folder ``real`` (checked by
    :func:`memo.outdir.checked`, its lock held) in one atomic step; return the paths whose bytes changed."""
    try:
        return _switch_whole(real, files, kind, pause or (lambda _: None))
    except OSError as exc:  # a full disk, a read-only or foreign file system, a mount point as the folder
        raise MemoError(
            f"memo: {real}: cannot write the outputs ({exc.strerror or exc}); the previous outputs are unchanged"
        ) from None


def _switch_whole(real: Path, files: Mapping[str, bytes], kind: str, step: Pause) -> list[str]:
    real.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(real)
    current = real if real.is_dir() else None
    owned = _owned(current, kind) if current is not None else set()
    staging = Path(tempfile.mkdtemp(prefix=f".{real.name}.{SWAP}", dir=real.parent))
    try:
        _write_file(staging / outdir.MARKER, outdir.marker(kind, files))  # first: it says the folder is memo's
        changed = [rel for rel in files if _place(staging, current, _relative(rel), files[rel])]
        step("written")
        if current is not None:
            _carry_over(current, staging, owned, set(files))
        step("carried")
        _switch(staging, real, step)
    except BaseException:
        remove_outputs(staging)
        raise
    step("switched")
    _fsync_dir(real.parent)
    remove_outputs(staging)  # the previous outputs, now at the staging name
    step("cleaned")
    return changed


def _relative(path: str) -> str:
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise MemoError(f"memo: internal error: output path {path!r} is not a plain relative path")
    return path


def _place(staging: Path, current: Path | None, rel: str, data: bytes) -> bool:
    """Put one file in the new folder: a hard link to the current one when its bytes are the same (False), else
    the new bytes (True)."""
    target = staging / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if current is not None and _same_bytes(current / rel, data):
        try:
            os.link(current / rel, target, follow_symlinks=False)
            return False
        except OSError:  # a file system without hard links: a copy keeps the mtime
            shutil.copy2(current / rel, target, follow_symlinks=False)
            return False
    _write_file(target, data)
    return True


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        info = path.lstat()
        if not path.is_file() or path.is_symlink() or info.st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _owned(current: Path, kind: str) -> set[str]:
    """The files the previous run wrote in ``current`` (from its marker, or what an older memo always wrote)."""
    marker = outdir.read_marker(current)
    if marker is not None and isinstance(marker.get("files"), list):
        return {f for f in marker["files"] if isinstance(f, str)} | {outdir.MARKER}
    legacy = outdir.LEGACY[kind]
    owned = {legacy} | {p.name for p in current.glob(".staging-*")}  # older memo's leftover staging folders
    data = outdir._json_object(current / legacy) or {}
    if kind == "build" and isinstance(data.get("outputs"), dict):
        owned |= set(data["outputs"])
    if kind == "diff":
        owned |= {"index.html"} | {
            p.relative_to(current).as_posix() for p in current.glob("pages/page-[0-9][0-9][0-9]-*.png")
        }
    return owned


def _carry_over(current: Path, staging: Path, owned: set[str], written: set[str]) -> None:
    """Link into the new folder everything in ``current`` that the previous run did not write."""
    written_dirs = {str(parent) for w in written for parent in PurePosixPath(w).parents}

    def walk(folder: Path, prefix: str) -> bool:
        carried = False
        with os.scandir(folder) as entries:
            listing = sorted(entries, key=lambda e: e.name)
        for entry in listing:
            rel, is_dir = f"{prefix}{entry.name}", entry.is_dir(follow_symlinks=False)
            if rel == outdir.MARKER or (rel in owned and (not is_dir or rel.startswith(".staging-"))):
                continue  # memo wrote it (a folder where memo wrote a file is the user's)
            if is_dir:
                if rel in written:
                    _conflict(current, rel, "a folder where memo writes a file")
                inner = walk(Path(entry.path), rel + "/")
                if not inner and not any(os.scandir(entry.path)):
                    (staging / rel).mkdir(parents=True, exist_ok=True)  # a user's empty folder
                carried |= inner
                continue
            if rel in written or rel in written_dirs:
                _conflict(current, rel, "in the way of a file memo writes")
            _link(Path(entry.path), staging / rel, entry)
            carried = True
        return carried

    walk(current, "")


def _conflict(current: Path, rel: str, what: str) -> None:
    raise MemoError(f"memo: {current / rel} is {what}, and memo did not make it; move it elsewhere and run again")


def _link(source: Path, target: Path, entry: os.DirEntry[str]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if entry.is_symlink():
        os.symlink(os.readlink(source), target)
    elif entry.is_file(follow_symlinks=False):
        try:
            os.link(source, target, follow_symlinks=False)
        except OSError:
            shutil.copy2(source, target, follow_symlinks=False)
    else:
        raise MemoError(f"memo: {source} is not a file, folder or symlink; move it out of the output folder")


def clean_leftovers(real: Path) -> None:
    """Remove what a killed run left beside ``real``: a half-written new folder or the previous outputs after a
    switch (only folders memo made: with its marker or an older memo's file, or empty). A folder renamed aside
    with no folder back in its place is put back."""
    if not real.parent.is_dir():
        return
    for kind in (ASIDE, SWAP):
        for path in sorted(real.parent.glob(f".{_escape(real.name)}.{kind}*")):
            if not path.is_dir() or path.is_symlink():
                continue
            if kind == ASIDE and not os.path.lexists(real):
                os.rename(path, real)
            elif _only_a_marker(path) or outdir.made_by(path) is not None:
                remove_outputs(path)


def _only_a_marker(folder: Path) -> bool:
    """Empty, or holding only a marker (perhaps half written: a kill came before any output)."""
    with os.scandir(folder) as entries:
        return {entry.name for entry in entries} <= {outdir.MARKER}


def remove_outputs(folder: Path) -> None:
    """Remove a folder of outputs, its marker last: a kill part way leaves a folder still known to be memo's."""
    try:
        with os.scandir(folder) as entries:
            listing = [entry for entry in entries if entry.name != outdir.MARKER]
    except OSError:  # gone already (the first run's new folder became the output folder itself)
        return
    for entry in listing:
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
    shutil.rmtree(folder, ignore_errors=True)


def _escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _switch(staging: Path, real: Path, step: Pause) -> None:
    if not os.path.lexists(real):
        os.rename(staging, real)
        return
    if _exchange(staging, real):
        return
    aside = Path(tempfile.mktemp(prefix=f".{real.name}.{ASIDE}", dir=real.parent))
    os.rename(real, aside)
    step("aside")
    os.rename(staging, real)
    os.rename(aside, staging)  # where the caller removes the previous outputs


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one rename (Linux renameat2 RENAME_EXCHANGE, macOS renamex_np RENAME_SWAP); False
    when this system cannot."""
    libc = _libc()
    if libc is None:
        return False
    function = getattr(libc, "renameat2", None)
    if function is not None:
        result = function(-100, os.fsencode(a), -100, os.fsencode(b), 2)  # AT_FDCWD, RENAME_EXCHANGE
    elif (function := getattr(libc, "renamex_np", None)) is not None:
        result = function(os.fsencode(a), os.fsencode(b), 2)  # RENAME_SWAP
    else:
        return False
    if result == 0:
        return True
    error = ctypes.get_errno()
    if error in (38, 22, 95, 45):  # ENOSYS, EINVAL, EOPNOTSUPP (Linux and macOS): not on this file system
        return False
    raise OSError(error, os.strerror(error), str(b))


_LIBC: list[Any] = []


def _libc() -> Any:
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL(None, use_errno=True) if sys.platform != "win32" else None)
        except OSError:
            _LIBC.append(None)
    return _LIBC[0]


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_outputs(out_dir: Path, files: Mapping[str, bytes]) -> list[str]:
    """Write ``files`` into ``out_dir`` in place, each file replaced atomically (for a folder kept across runs,
    like a published site); return the paths whose bytes changed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for leftover in out_dir.glob(".staging-*"):  # of a run killed while writing here
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        changed: list[str] = []
        for relative, data in files.items():
            target = out_dir / _relative(relative)
            if _same_bytes(target, data):
                continue
            staged = staging / relative
            staged.parent.mkdir(parents=True, exist_ok=True)
            _write_file(staged, data)
            changed.append(relative)
        for relative in changed:
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target)
        return changed
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def files_of(
    memo: RenderedMemo,
    data: dict[str, Any],
    pdf: Callable[[], bytes],
    artefacts: dict[str, bytes],
    assumptions_yaml: bytes,
) -> dict[str, bytes]:
    """Every file a build writes, by path in the output directory (the site under site/). ``pdf`` waits for the PDF:
    it is called once the other files are made, which they are while it renders in another process."""
    from memo import figures as figures_json
    from memo import fonts, site, workbook

    figures_bytes = figures_json.dumps(data)
    figures_xlsx = workbook.of_build(memo)  # the model as a live workbook, beside figures.csv on the site
    chart_svgs = {name: chart.svg.encode("utf-8") for name, chart in memo.charts.items()}
    font_files = {font.name: font.path.read_bytes() for font in fonts.font_files()} | fonts.licenses()
    pdf_bytes = pdf()
    site_files = site.files(
        meta=memo.assumptions.memo,
        figures=memo.figures,
        memo_html=memo.html,
        index_html=memo.index_html,
        pdf_bytes=pdf_bytes,
        payload=data,
        figures_json=figures_bytes,
        chart_svgs=chart_svgs,
        font_files=font_files,
        assumptions_yaml=assumptions_yaml,
        base_url=memo.document.base_url,
        artefacts=artefacts,
        scenario=memo.document.scenario,
        settings=memo.project.settings,
    )
    return {
        "figures.json": figures_bytes,
        "figures.xlsx": figures_xlsx,
        "site/figures.xlsx": figures_xlsx,
        "memo.html": memo.html.encode("utf-8"),
        "memo.pdf": pdf_bytes,
        **{f"charts/{name}.vl.json": chart.spec_json for name, chart in memo.charts.items()},
        **{f"charts/{name}.svg": svg for name, svg in chart_svgs.items()},
        **{f"fonts/{name}": data for name, data in font_files.items()},
        **{path: site_files[path] for path in site_files if path.startswith("assets/")},
        **{name: site_files[name] for name in ("favicon.svg", "social.png", "feed.xml")},
        **{f"site/{path}": data for path, data in site_files.items()},
    }
