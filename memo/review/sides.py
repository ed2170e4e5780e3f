"""The two sides of a review: what OLD and NEW name on the command line, resolved to builds (or PDFs).

A side is a build directory, an assumptions file (built on the fly), a git revision of the project (its committed
tree built in a temporary directory), the working tree, or, for reviewers who only received the files, a PDF.
:func:`_build_into` is the one place the review package builds anything.
"""

from __future__ import annotations

import io
import json
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


@contextmanager
def resolved(spec: str, label: str, kind: str) -> Iterator[Side]:
    """A side as named on the command line: kind is "path", "rev" or "worktree" (the project as it is now)."""
    if kind == "path":
        path = Path(spec)
        if path.suffix.lower() in (".yaml", ".yml"):
            with tempfile.TemporaryDirectory(prefix="memo-diff-") as tmp:
                _build_into(path, Path(tmp) / "build", None, label)
                yield load_side(Path(tmp) / "build", f"{label} ({spec})")
            return
        yield load_side(path, f"{label} ({spec})")
        return
    with tempfile.TemporaryDirectory(prefix="memo-diff-") as tmp:
        root = _export_revision(spec, Path(tmp) / "tree", label) if kind == "rev" else _toplevel()
        _build_into(root / "assumptions.yaml", Path(tmp) / "build", root, label)
        yield load_side(Path(tmp) / "build", f"{label} ({spec if kind == 'rev' else 'working tree'})")


def _build_into(assumptions: Path, out: Path, root: Path | None, label: str) -> None:
    from memo.build import Project, build

    try:
        build(assumptions, out, display_name=str(assumptions), project=Project(root) if root else None)
    except MemoError as exc:
        raise DiffTrouble(f"memo diff: {label}: the build failed:\n{exc}") from None


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise DiffTrouble("memo diff: --rev needs git, which is not installed") from None


def _toplevel() -> Path:
    result = _git("rev-parse", "--show-toplevel")
    if result.returncode != 0:
        raise DiffTrouble("memo diff: --rev works inside a git checkout of the project")
    return Path(result.stdout.decode().strip())


def _export_revision(rev: str, into: Path, label: str) -> Path:
    """The committed tree of ``rev``, unpacked into a fresh directory (a temporary worktree without git state)."""
    root = _toplevel()
    check = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=root)
    if check.returncode != 0:
        raise DiffTrouble(f"memo diff: {label}: unknown git revision {rev!r}")
    archive = _git("archive", "--format=tar", rev, cwd=root)
    if archive.returncode != 0:
        raise DiffTrouble(f"memo diff: {label}: git archive {rev} failed: {archive.stderr.decode().strip()}")
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    shared = root.parent / "shared"
    if shared.exists() and not (into.parent / "shared").exists():
        (into.parent / "shared").symlink_to(shared)
    return into
