"""The two sides of a review: what OLD and NEW name on the command line, resolved to builds (or PDFs).

A side is a build directory, an assumptions file (built on the fly), a git revision of the project (its committed
tree built in a temporary directory), the working tree, or, for reviewers who only received the files, a PDF.
:func:`_build_into` is the one place the review package builds anything.
"""

from __future__ import annotations

import io
import json
import os
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
        if self.build_dir is None:
            return None
        path = self.build_dir / name
        return path if path.is_file() else None


def load_side(path: Path, label: str) -> Side:
    if not path.exists():
        raise DiffTrouble(f"memo diff: {label}: no such file or directory: {path}")
    if path.is_dir():
        figures_json = path / "figures.json"
        if not figures_json.is_file():
            raise DiffTrouble(f"memo diff: {label}: {path} has no figures.json; is it a build directory?")
        try:
            data = json.loads(figures_json.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DiffTrouble(f"memo diff: {label}: {figures_json} is not valid JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("figures"), dict):
            raise DiffTrouble(f"memo diff: {label}: {figures_json} has no figures mapping")
        pdf = path / "memo.pdf"
        return Side(label, path, pdf if pdf.is_file() else None, data)
    if path.suffix.lower() == ".pdf":
        if path.read_bytes()[:5] != b"%PDF-":
            raise DiffTrouble(f"memo diff: {label}: {path} is not a PDF")
        return Side(label, None, path, None)
    raise DiffTrouble(f"memo diff: {label}: {path} is neither a build directory, an assumptions file nor a PDF")


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
