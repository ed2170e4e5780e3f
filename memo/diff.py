"""Diff stage: what an assumption edit changed between two builds: inputs, figures, prose, charts and PDF pages.

A side is a build directory, an assumptions file (built on the fly), a git revision of the project (its committed
tree built in a temporary directory) or, for reviewers who only received the files, a PDF.
"""

from __future__ import annotations

import difflib
import io
import json
import math
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memo import format as fmt
from memo.errors import MemoError

BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "dt", "dd", "figcaption", "caption", "tr", "div", "section"}
CELLS = {"td", "th"}  # a table row reads as one line, its cells separated
SKIP_CLASSES = {"fn-call", "fn-body", "chart-body"}
XHTML = "{http://www.w3.org/1999/xhtml}"


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

    def file(self, name: str) -> Path | None:
        if self.build_dir is None:
            return None
        path = self.build_dir / name
        return path if path.is_file() else None


@dataclass
class FigureChange:
    name: str
    label: str
    unit: str
    old: dict[str, float] | None
    new: dict[str, float] | None
    caused_by: list[str]

    @property
    def status(self) -> str:
        return "added" if self.old is None else "removed" if self.new is None else "changed"

    def text(self, side: str) -> str:
        values = self.old if side == "old" else self.new
        if values is None:
            return "\u2014"
        shown = fmt.by_unit(values["value"], self.unit)
        if "low" in values:
            shown += f" ({fmt.span(values['low'], values['high'], self.unit)})"
        return shown

    @property
    def absolute(self) -> float | None:
        return None if self.old is None or self.new is None else self.new["value"] - self.old["value"]

    @property
    def relative(self) -> float | None:
        if self.old is None or self.new is None or self.old["value"] == 0:
            return None
        return self.new["value"] / self.old["value"] - 1

    def change_text(self) -> str:
        if self.absolute is None:
            return self.status
        if self.unit == "share":
            points = self.absolute * 100
            text = f"{'+' if points >= 0 else fmt.MINUS}{fmt._sig(abs(points), 2)} pt"
        elif self.unit == "date":
            text = f"{self.absolute:+.0f} days"
        else:
            text = ("+" if self.absolute >= 0 else fmt.MINUS) + fmt.by_unit(abs(self.absolute), self.unit)
        if self.relative is not None and self.unit != "share":
            text += f" ({'+' if self.relative >= 0 else ''}{fmt.pct(self.relative)})"
        return text


@dataclass
class SentenceChange:
    old: str | None
    new: str | None
    words: list[tuple[str, str]]  # ("equal" | "delete" | "insert", text)


@dataclass
class Changes:
    old: Side
    new: Side
    inputs: list[dict[str, Any]] = field(default_factory=list)
    figures: list[FigureChange] = field(default_factory=list)
    prose: dict[str, list[SentenceChange]] = field(default_factory=dict)
    charts: list[dict[str, Any]] = field(default_factory=list)
    pages: Any = None  # pagediff.PageReport, or None when the PDFs are identical or absent
    tool_changed: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(self.inputs or self.figures or self.prose or self.charts or (self.pages and self.pages.changes))


# ---------------------------------------------------------------- resolving what the user named


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


# ---------------------------------------------------------------- comparing


def _values(entry: Mapping[str, Any]) -> dict[str, float]:
    return {k: entry[k] for k in ("value", "low", "high") if k in entry and entry[k] is not None}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return a == b


def _same_values(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def input_changes(old: Side, new: Side) -> list[dict[str, Any]]:
    out = []
    for name in [*old.inputs, *(n for n in new.inputs if n not in old.inputs)]:
        a, b = old.inputs.get(name), new.inputs.get(name)
        va, vb = (_values(a) if a else None), (_values(b) if b else None)
        if va is not None and vb is not None and _same_values(va, vb):
            continue
        unit = (b or a)["unit"]
        out.append({"name": name, "unit": unit, "old": va, "new": vb})
    return out


def closure(figures: Mapping[str, Any], name: str, memo: dict[str, tuple[str, ...]] | None = None) -> set[str]:
    """The inputs a figure rests on, following the ``inputs`` lists of figures.json."""
    from memo.model import reach  # numpy comes with the model; identical builds never get here

    return set(reach({n: f.get("inputs", []) for n, f in figures.items()}, name, memo))


def figure_changes(old: Side, new: Side, changed_inputs: set[str]) -> list[FigureChange]:
    out = []
    memo: dict[str, tuple[str, ...]] = {}
    for name in [*old.figures, *(n for n in new.figures if n not in old.figures)]:
        a, b = old.figures.get(name), new.figures.get(name)
        if a is not None and b is not None and _same_values(_values(a), _values(b)):
            continue
        entry = b or a
        source = new.figures if b is not None else old.figures
        causes = sorted(closure(source, name, memo if b is not None else {}) & changed_inputs)
        out.append(
            FigureChange(
                name,
                entry.get("label", name),
                entry["unit"],
                _values(a) if a else None,
                _values(b) if b else None,
                causes,
            )
        )
    return out


def section_sentences(html: str) -> dict[str, list[str]]:
    """The rendered text of each section (and the cover), split into sentences; charts and notes left out."""
    import tinyhtml5

    tree = tinyhtml5.parse(re.sub(r"<svg\b.*?</svg>", "", html, flags=re.S))  # charts are compared on their own
    out: dict[str, list[str]] = {}
    for element in tree.iter():
        tag = element.tag.removeprefix(XHTML) if isinstance(element.tag, str) else ""
        if tag in ("section", "div") and element.get("id") and (tag == "section" or element.get("id") == "cover"):
            blocks: list[str] = []
            _collect(element, blocks, [""])
            text = [re.sub(r"\s+", " ", block).strip(" \u00b7") for block in blocks]
            out[element.get("id")] = [s for block in text if block for s in _sentences(block)]
    return out


def _collect(element: Any, blocks: list[str], current: list[str]) -> None:
    tag = element.tag.removeprefix(XHTML) if isinstance(element.tag, str) else ""
    if set((element.get("class") or "").split()) & SKIP_CLASSES or tag in ("svg", "style", "script"):
        if element.tail:
            current[0] += element.tail
        return
    block = tag in BLOCKS
    if block:
        blocks.append(current[0])
        current[0] = ""
    if element.text:
        current[0] += element.text
    for child in element:
        _collect(child, blocks, current)
    if tag in CELLS:
        current[0] += " \u00b7 "
    if block:
        blocks.append(current[0])
        current[0] = ""
    if element.tail:
        current[0] += element.tail


def _sentences(block: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z$\u201c\"(0-9])", block) if s]


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    a, b = old.split(), new.split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("delete", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("insert", " ".join(b[j1:j2])))
    return out


def prose_changes(old_html: str, new_html: str) -> dict[str, list[SentenceChange]]:
    old, new = section_sentences(old_html), section_sentences(new_html)
    out: dict[str, list[SentenceChange]] = {}
    for section in [*new, *(s for s in old if s not in new)]:
        a, b = old.get(section, []), new.get(section, [])
        changes: list[SentenceChange] = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal":
                continue
            olds, news = a[i1:i2], b[j1:j2]
            for k in range(max(len(olds), len(news))):
                o = olds[k] if k < len(olds) else None
                n = news[k] if k < len(news) else None
                changes.append(SentenceChange(o, n, word_diff(o or "", n or "")))
        if changes:
            out[section] = changes
    return out


def chart_changes(old: Side, new: Side) -> list[dict[str, Any]]:
    names = [*new.charts, *(n for n in old.charts if n not in new.charts)]
    out = []
    for name in names:
        a = old.file(f"charts/{name}.svg")
        b = new.file(f"charts/{name}.svg")
        if a and b and a.read_bytes() == b.read_bytes():
            continue
        meta = new.charts.get(name) or old.charts.get(name) or {}
        out.append(
            {
                "name": name,
                "title": meta.get("title", name),
                "figures": meta.get("figures", []),
                "status": "added" if a is None else "removed" if b is None else "changed",
                "old_svg": a.read_text(encoding="utf-8") if a else None,
                "new_svg": b.read_text(encoding="utf-8") if b else None,
            }
        )
    return out


def _identical(old: Side, new: Side) -> bool:
    if old.build_dir is None or new.build_dir is None:
        return old.pdf is not None and new.pdf is not None and old.pdf.read_bytes() == new.pdf.read_bytes()
    names = {"figures.json", "memo.html", "memo.pdf"}
    names |= {f"charts/{n}.svg" for n in (*old.charts, *new.charts)}
    for name in sorted(names):
        a, b = old.file(name), new.file(name)
        if (a is None) != (b is None) or (a and b and a.read_bytes() != b.read_bytes()):
            return False
    return True


def compare(old: Side, new: Side, *, page_images: bool = True) -> Changes:
    changes = Changes(old, new)
    if _identical(old, new):
        return changes
    if old.figures_data and new.figures_data:
        changes.inputs = input_changes(old, new)
        changes.figures = figure_changes(old, new, {c["name"] for c in changes.inputs})
        old_versions = old.figures_data.get("build", {}).get("versions", {})
        new_versions = new.figures_data.get("build", {}).get("versions", {})
        changes.tool_changed = {
            k: (old_versions.get(k, "-"), new_versions.get(k, "-"))
            for k in sorted(set(old_versions) | set(new_versions))
            if old_versions.get(k) != new_versions.get(k)
        }
        old_html, new_html = old.file("memo.html"), new.file("memo.html")
        if old_html and new_html:
            changes.prose = prose_changes(old_html.read_text(encoding="utf-8"), new_html.read_text(encoding="utf-8"))
        changes.charts = chart_changes(old, new)
    if old.pdf and new.pdf and old.pdf.read_bytes() != new.pdf.read_bytes():
        from memo import pagediff

        changes.pages = pagediff.compare(old.pdf, new.pdf, images=page_images)
    return changes


def run(specs: list[tuple[str, str]], out_dir: Path) -> Changes:
    """Resolve both sides, compare them and write the review page and changes.json."""
    from memo import review

    with ExitStack() as stack:
        (old_spec, old_kind), (new_spec, new_kind) = specs
        old = stack.enter_context(resolved(old_spec, "OLD", old_kind))
        new = stack.enter_context(resolved(new_spec, "NEW", new_kind))
        if (old.figures_data is None) != (new.figures_data is None):
            raise DiffTrouble("memo diff: compare two PDFs, or two builds (directories, assumptions files, revisions)")
        changes = compare(old, new)
        review.write(changes, out_dir)
        return changes
