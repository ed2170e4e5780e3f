"""Load stage: read an assumptions file as safe YAML, keeping the line and column of every key and value.

Only plain mappings, lists and scalars are accepted. Aliases, custom tags, duplicate keys, non-string keys,
multiple documents and oversized or deeply nested documents are refused with a positioned diagnostic, before
any value is built, so an alias bomb costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from memo.errors import Diagnostic, InputError

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_NODES = 50_000

Path_ = tuple[str | int, ...]

_PLAIN_TAGS = {
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Document:
    """A loaded YAML document: plain values plus where each key and value stands in its file."""

    file: str
    data: Any
    value_positions: dict[Path_, Position] = field(default_factory=dict)
    key_positions: dict[Path_, Position] = field(default_factory=dict)
    origins: dict[Path_, str] = field(default_factory=dict)  # paths set elsewhere (``--set``) -> that origin
    problems: list[Diagnostic] = field(default_factory=list)  # found while loading; reported with validation's

    def position(self, path: Path_, *, of_key: bool = False) -> Position:
        """Where the value at ``path`` (or its key) stands; falls back to the nearest enclosing entry."""
        table = self.key_positions if of_key else self.value_positions
        while path:
            if path in table:
                return table[path]
            if path in self.value_positions:
                return self.value_positions[path]
            path = path[:-1]
        return self.value_positions.get((), Position(1, 1))

    def origin(self, path: Path_) -> str:
        for end in range(len(path), 0, -1):
            if path[:end] in self.origins:
                return self.origins[path[:end]]
        return self.file

    def diagnostic(self, path: Path_, message: str, *, of_key: bool = False) -> Diagnostic:
        pos = self.position(path, of_key=of_key)
        return Diagnostic(self.origin(path), pos.line, pos.column, dotted(path), message)

    def override(self, assignment: str, index: int) -> None:
        """Apply one ``--set KEY=VALUE``: VALUE is read as a YAML scalar and replaces the value at KEY.

        KEY names an input (its value, or its base when it has a range) or any key in the file
        (``market.share.high``, ``memo.title``). The result is validated like the file;
        errors point at ``--set:INDEX:COLUMN``.
        """
        origin = "--set"
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError([Diagnostic(origin, index, 1, "", f"expected KEY=VALUE, got {assignment!r}")])
        value_pos = Position(index, len(assignment) - len(text) + 1)
        try:
            loaded = load_text(text, origin) if text.strip() else None
            if loaded is not None and loaded.problems:
                raise InputError(loaded.problems)
            parsed = loaded.data if loaded is not None else None
        except InputError as exc:
            shifted = [
                Diagnostic(origin, index, value_pos.column + d.column - 1, key, d.message) for d in exc.diagnostics
            ]
            raise InputError(shifted) from None
        if isinstance(parsed, dict | list):
            raise InputError([Diagnostic(origin, index, value_pos.column, key, "--set takes a single value")])
        path: Path_ = tuple(key.split("."))
        parent = self.data
        for depth, part in enumerate(path[:-1]):
            if not isinstance(parent, dict) or part not in parent:
                known = dotted(path[:depth]) or "the file"
                raise InputError([Diagnostic(origin, index, 1, key, f"no key '{part}' in {known}")])
            parent = parent[part]
        if not isinstance(parent, dict):
            raise InputError([Diagnostic(origin, index, 1, key, f"{dotted(path[:-1])} is not a mapping")])
        if path[-1] not in parent:
            known = dotted(path[:-1]) or "the file"
            raise InputError([Diagnostic(origin, index, 1, key, f"no key '{path[-1]}' in {known}")])
        target = parent.get(path[-1])
        if isinstance(target, dict):  # an input entry: set its value, or its base when it has a range
            path = (*path, "base" if "base" in target else "value")
            parent = target
        parent[path[-1]] = parsed
        self.value_positions[path] = value_pos
        self.key_positions[path] = Position(index, 1)
        self.origins[path] = origin


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class _Refused(Exception):
    def __init__(self, mark: yaml.Mark, message: str) -> None:
        self.mark = mark
        self.message = message


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and bounds depth and size while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(event.start_mark, "YAML aliases (*name) are not allowed")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(event.start_mark, f"document has more than {MAX_NODES} values")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"document is nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# YAML 1.2 reads 3e9 and 1.5e-3 as numbers; PyYAML (YAML 1.1) would read the first as a string.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _pos(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def load_file(path: Path, display_name: str | None = None) -> Document:
    name = display_name or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Diagnostic(name, 1, 1, "", "no such file")]) from None
    except OSError as exc:
        raise InputError([Diagnostic(name, 1, 1, "", f"cannot read file: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise InputError([Diagnostic(name, 1, 1, "", f"file is {len(raw)} bytes; the limit is {MAX_BYTES}")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([Diagnostic(name, 1, 1, "", f"not UTF-8 text (byte {exc.start})")]) from None
    return load_text(text, name)


def load_text(text: str, file: str) -> Document:
    """Parse ``text``. Syntax errors raise InputError; other problems (duplicate keys, tags) are kept in
    ``Document.problems`` so validation reports them together with its own."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except _Refused as exc:
            pos = _pos(exc.mark)
            raise InputError([Diagnostic(file, pos.line, pos.column, "", exc.message)]) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            pos = _pos(mark) if mark else Position(1, 1)
            problem = " ".join(part for part in (exc.context, exc.problem) if part)
            raise InputError([Diagnostic(file, pos.line, pos.column, "", f"YAML syntax: {problem}")]) from None
        except yaml.YAMLError as exc:
            raise InputError([Diagnostic(file, 1, 1, "", f"YAML syntax: {exc}")]) from None
        doc = Document(file, None)
        if node is None:
            raise InputError([Diagnostic(file, 1, 1, "", "file is empty")])
        doc.data = _build(node, (), doc, loader, doc.problems)
        return doc
    finally:
        loader.dispose()


def _build(node: yaml.Node, path: Path_, doc: Document, loader: _Loader, problems: list[Diagnostic]) -> Any:
    doc.value_positions[path] = _pos(node.start_mark)
    if node.tag not in _PLAIN_TAGS:
        problems.append(doc.diagnostic(path, f"YAML tag {node.tag} is not allowed"))
        return None
    if isinstance(node, yaml.MappingNode):
        return _build_mapping(node, path, doc, loader, problems)
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, loader, problems) for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError) as exc:
        problems.append(doc.diagnostic(path, f"cannot read value {node.value!r}: {exc}"))
        return None


def _build_mapping(
    node: yaml.MappingNode, path: Path_, doc: Document, loader: _Loader, problems: list[Diagnostic]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key_pos = _pos(key_node.start_mark)
        if key_node.tag == "tag:yaml.org,2002:merge":
            problems.append(
                Diagnostic(doc.file, key_pos.line, key_pos.column, dotted(path), "merge keys (<<) are not allowed")
            )
            continue
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
            shown = repr(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "a collection"
            problems.append(
                Diagnostic(doc.file, key_pos.line, key_pos.column, dotted(path), f"keys must be text, got {shown}")
            )
            continue
        key = key_node.value
        child = (*path, key)
        if key in out:
            first = doc.key_positions[child]
            problems.append(
                Diagnostic(
                    doc.file,
                    key_pos.line,
                    key_pos.column,
                    dotted(child),
                    f"duplicate key (first defined on line {first.line})",
                )
            )
            continue
        doc.key_positions[child] = key_pos
        out[key] = _build(value_node, child, doc, loader, problems)
    return out
