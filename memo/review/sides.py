"""The two sides of a review: what OLD and NEW name on the command line, resolved to builds (or PDFs).

A side is a build directory, an assumptions file (built on the fly), a git revision of the project (its committed
tree built in a temporary directory), the working tree, or, for reviewers who only received the files, a PDF.
:func:`_build_into` is the one place the review package builds anything.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo.errors import MemoError


class DiffTrouble(MemoError):
    """The diff could not be made (bad or missing input): exit status 2, like diff(1)."""

    exit_status = 2


# What memo diff reads from a build folder, at most (the bundled memo's are 130 KB, 370 KB, 420 KB, 40 KB).
MAX_FIGURES_JSON = 16 * 1024 * 1024
MAX_HTML = 16 * 1024 * 1024
MAX_PDF = 64 * 1024 * 1024
MAX_SVG = 4 * 1024 * 1024
MAX_NAME = 200  # characters of a figure, input or chart name in figures.json
MAX_NUMBER = 1e300  # so that a difference or a ratio of two recorded numbers stays finite
CHART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,199}")  # a file name under charts/, as memo writes them


def read_capped(path: Path, limit: int, what: str, command: str = "memo diff") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (a FIFO, a device or a bigger file is refused at
    once, before it is read)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise DiffTrouble(f"{command}: {what}: cannot read {path} ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DiffTrouble(f"{command}: {what}: {path} is not a regular file")
        if info.st_size > limit:
            raise DiffTrouble(
                f"{command}: {what}: {path} is {info.st_size:,} bytes, over the {limit:,} {command} reads"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise DiffTrouble(f"{command}: {what}: cannot read {path} ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise DiffTrouble(f"{command}: {what}: {path} is over the {limit:,} bytes {command} reads")
    return data


def read_build_json(path: Path, what: str, limit: int = MAX_FIGURES_JSON, command: str = "memo diff") -> Any:
    """A JSON file of a build or a site: size-capped, UTF-8, no NaN or Infinity, nesting Python can parse."""

    def constant(name: str) -> None:
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(read_capped(path, limit, what, command).decode("utf-8"), parse_constant=constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise DiffTrouble(f"{command}: {what}: {path} is not valid JSON ({reason})") from None


class _Shape:
    """Checks one figures.json against the shape memo writes, naming the first key that is wrong."""

    def __init__(self, path: Path, what: str, command: str = "memo diff") -> None:
        self.path, self.what, self.command = path, what, command

    def fail(self, where: str, expected: str) -> DiffTrouble:
        return DiffTrouble(
            f"{self.command}: {self.what}: {self.path}: {where} must be {expected}; is it a figures.json memo wrote?"
        )

    def mapping(self, value: Any, where: str, names: re.Pattern[str] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "an object")
        for name in value:
            if len(name) > MAX_NAME or (names is not None and not names.fullmatch(name)):
                raise self.fail(f"{where} name {name[:MAX_NAME]!r}", "letters, digits, '_' or '-', at most 200")
        return value

    def entries(self, value: Any, where: str, names: re.Pattern[str] | None = None) -> dict[str, dict[str, Any]]:
        for name, entry in self.mapping(value, where, names).items():
            if not isinstance(entry, dict):
                raise self.fail(f"{where}.{name}", "an object")
        return value

    def number(self, value: Any, where: str, text: bool = False) -> None:
        if isinstance(value, str) and text and len(value) <= MAX_NAME:
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(where, "a finite number" + (" or a short text" if text else ""))
        if abs(value) > MAX_NUMBER:
            raise self.fail(where, f"a number between -{MAX_NUMBER:g} and {MAX_NUMBER:g}")

    def values(self, entry: dict[str, Any], where: str, text: bool = False, required: bool = True) -> None:
        if required and "value" not in entry:
            raise self.fail(f"{where}.value", "given")
        for part in ("value", "low", "high"):
            if entry.get(part) is not None:
                self.number(entry[part], f"{where}.{part}", text)
        if (entry.get("low") is None) != (entry.get("high") is None):
            raise self.fail(f"{where}.low and .high", "given together")

    def text(self, entry: dict[str, Any], key: str, where: str, required: bool = False) -> None:
        if (required or key in entry) and not isinstance(entry.get(key), str):
            raise self.fail(f"{where}.{key}", "a text")

    def texts(self, entry: dict[str, Any], key: str, where: str) -> None:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(f"{where}.{key}", "a list of texts")

    def check(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise self.fail("the file", "an object")
        for name, entry in self.entries(data.get("figures"), "figures").items():
            self.values(entry, f"figures.{name}")
            self.text(entry, "unit", f"figures.{name}", required=True)
            self.text(entry, "label", f"figures.{name}")
            self.texts(entry, "inputs", f"figures.{name}")
        for name, entry in self.entries(data.get("inputs", {}), "inputs").items():
            self.values(entry, f"inputs.{name}", text=True)
            self.text(entry, "unit", f"inputs.{name}", required=True)
            if entry.get("sourced") is not None:
                sourced = self.entries({"sourced": entry["sourced"]}, f"inputs.{name}")["sourced"]
                self.values(sourced, f"inputs.{name}.sourced", text=True, required=False)
        for name, entry in self.entries(data.get("charts", {}), "charts", CHART_NAME).items():
            self.text(entry, "title", f"charts.{name}")
            self.texts(entry, "figures", f"charts.{name}")
        claims = data.get("claims") if data.get("claims") is not None else []
        if not isinstance(claims, list) or not all(isinstance(c, dict) for c in claims):
            raise self.fail("claims", "a list of objects")
        for index, claim in enumerate(claims):
            self.text(claim, "id", f"claims[{index}]", required=True)
            self.text(claim, "text", f"claims[{index}]")
        build = data.get("build", {})
        if not isinstance(build, dict) or not isinstance(build.get("versions", {}), dict):
            raise self.fail("build.versions", "an object")
        if not all(isinstance(v, str) for v in build.get("versions", {}).values()):
            raise self.fail("build.versions", "an object of texts")
        self.mapping(data.get("units", {}), "units")


def check_figures_json(data: Any, path: Path, what: str, command: str = "memo diff") -> dict[str, Any]:
    """``data`` when it has the shape memo writes figures.json in (the parts memo diff and memo publish read);
    otherwise one line naming the file and the first key that is wrong (exit 2)."""
    _Shape(path, what, command).check(data)
    return data


@dataclass
class Side:
    label: str
    build_dir: Path | None = None
    pdf: Path | None = None
    figures_data: dict[str, Any] | None = None

    @property
    def figures(self) -> dict[str, Any]:
        return (self.figures_data or {}).get("figures", {})

    @property
    def inputs(self) -> dict[str, Any]:
        return (self.figures_data or {}).get("inputs", {})

    @property
    def charts(self) -> dict[str, Any]:
        return (self.figures_data or {}).get("charts", {})

    @property
    def claims(self) -> dict[str, dict[str, Any]]:
        entries = (self.figures_data or {}).get("claims") or []
        return {c["id"]: c for c in entries if isinstance(c, dict) and "id" in c}

    def file(self, name: str) -> Path | None:
        """A file of the build folder by its relative name; None when there is none or the name (a chart's, from
        figures.json) leads outside the folder."""
        if self.build_dir is None:
            return None
        root = self.build_dir.resolve()
        path = (root / name).resolve()
        return path if path.is_relative_to(root) and path != root and path.is_file() else None


def load_side(path: Path, label: str, command: str = "memo diff") -> Side:
    if not path.exists():
        raise DiffTrouble(f"{command}: {label}: no such file or directory: {path}")
    if path.is_dir():
        figures_json = path / "figures.json"
        if not figures_json.exists() and not figures_json.is_symlink():  # a FIFO or folder: refused by read_capped
            raise DiffTrouble(f"{command}: {label}: {path} has no figures.json; is it a build directory?")
        data = read_build_json(figures_json, label, command=command)
        check_figures_json(data, figures_json, label, command)
        pdf = path / "memo.pdf"
        return Side(label, path, pdf if pdf.is_file() else None, data)
    if path.suffix.lower() == ".pdf":
        if read_capped(path, MAX_PDF, label)[:5] != b"%PDF-":
            raise DiffTrouble(f"{command}: {label}: {path} is not a PDF")
        return Side(label, None, path, None)
    raise DiffTrouble(f"{command}: {label}: {path} is neither a build directory, an assumptions file nor a PDF")


def use_recorded_units(*sides: Side) -> None:
    """Print numbers in the units the sides' builds recorded (figures.json ``units``), so a project's own units read
    as in its memo."""
    from memo import format as fmt

    units: dict[str, str] = {}
    for side in sides:
        for name, entry in (side.figures_data or {}).get("units", {}).items():
            if isinstance(entry, dict) and isinstance(entry.get("format"), str):
                units[name] = entry["format"]
    fmt.use_units(units)


@contextmanager
def resolved(spec: str, label: str, kind: str, project_root: Path | None = None) -> Iterator[Side]:
    """A side as named on the command line: kind is "path", "rev" or "worktree" (the project as it is now).
    An assumptions file is built with the project holding it (or ``project_root``); a revision with the project as
    that revision has it (its own memo.yml, model and templates)."""
    if kind == "path":
        path = Path(spec)
        if path.suffix.lower() in (".yaml", ".yml"):
            with tempfile.TemporaryDirectory(prefix="memo-diff-") as tmp:
                _build_into(path, Path(tmp) / "build", _project_of(path, project_root, label), label)
                yield load_side(Path(tmp) / "build", f"{label} ({spec})")
            return
        yield load_side(path, f"{label} ({spec})")
        return
    if project_root is None:
        raise DiffTrouble(f"memo diff: {label}: --rev works inside a memo project (or give --project DIR)")
    with tempfile.TemporaryDirectory(prefix="memo-diff-") as tmp:
        root = _export_revision(spec, Path(tmp) / "tree", label, project_root) if kind == "rev" else project_root
        _build_into(None, Path(tmp) / "build", root, label)
        yield load_side(Path(tmp) / "build", f"{label} ({spec if kind == 'rev' else 'working tree'})")


def _project_of(assumptions: Path, fallback: Path | None, label: str) -> Path:
    from memo.project import find

    root = find(assumptions.parent) or fallback
    if root is None:
        raise DiffTrouble(f"memo diff: {label}: {assumptions} is in no memo project (give --project DIR)")
    return root


def _build_into(assumptions: Path | None, out: Path, root: Path, label: str) -> None:
    from memo.build import build
    from memo.options import BuildOptions
    from memo.project import load_project

    try:
        project = load_project(root)
        shown = str(assumptions) if assumptions is not None else None
        build(BuildOptions.of(assumptions, out, project, display_name=shown or project.settings.assumptions))
    except MemoError as exc:
        raise DiffTrouble(f"memo diff: {label}: the build failed:\n{exc}") from None


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise DiffTrouble("memo diff: --rev needs git, which is not installed") from None


def _toplevel(cwd: Path | None = None) -> Path:
    result = _git("rev-parse", "--show-toplevel", cwd=cwd)
    if result.returncode != 0:
        raise DiffTrouble("memo diff: --rev works inside a git checkout of the project")
    return Path(result.stdout.decode().strip())


def _export_revision(rev: str, into: Path, label: str, project_root: Path) -> Path:
    """The project as committed at ``rev``, unpacked into a fresh directory (a temporary worktree without git
    state), with the project's source folders (memo.yml ``sources:``) linked beside it as they stand beside the
    project; returns the exported project's folder."""
    from memo.project import PROJECT_FILE, load_project

    root = _toplevel(project_root)
    check = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=root)
    if check.returncode != 0:
        raise DiffTrouble(f"memo diff: {label}: unknown git revision {rev!r}")
    archive = _git("archive", "--format=tar", rev, cwd=root)
    if archive.returncode != 0:
        raise DiffTrouble(f"memo diff: {label}: git archive {rev} failed: {archive.stderr.decode().strip()}")
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    exported = into / project_root.resolve().relative_to(root.resolve())
    if not (exported / PROJECT_FILE).is_file():
        raise DiffTrouble(f"memo diff: {label}: {rev} has no {PROJECT_FILE} in {exported.relative_to(into) or '.'}")
    try:
        folders = load_project(exported).settings.sources
    except MemoError as exc:
        raise DiffTrouble(f"memo diff: {label}: the project at {rev} is not valid:\n{exc}") from None
    for folder in folders:
        original, copy = (project_root / folder).resolve(), exported / folder
        if original.exists() and not copy.exists() and not os.path.lexists(copy):
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.symlink_to(original)
    return exported
