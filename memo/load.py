"""Load stage: read an assumptions file as safe YAML, keeping the line and column of every key and value.

Only plain mappings, lists and scalars are accepted. Aliases, custom tags, duplicate keys, non-string keys,
multiple documents and oversized or deeply nested documents are refused with a positioned diagnostic, before
any value is built, so an alias bomb costs nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import yaml.composer
import yaml.constructor
import yaml.resolver

from memo.errors import Diagnostic, InputError, did_you_mean

MAX_BYTES = 1_000_000  # schema.MAX_FILE_BYTES
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
        found = forbidden_character(assignment)
        if found is not None:
            message = f"{found[1]} is not allowed in --set; remove it"
            raise InputError([Diagnostic(origin, index, found[0] + 1, "", message)])
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
                hint = did_you_mean(part, parent) if isinstance(parent, dict) else ""
                raise InputError([Diagnostic(origin, index, 1, key, f"no key '{part}' in {known}{hint}")])
            parent = parent[part]
        if not isinstance(parent, dict):
            raise InputError([Diagnostic(origin, index, 1, key, f"{dotted(path[:-1])} is not a mapping")])
        if path[-1] not in parent:
            known = dotted(path[:-1]) or "the file"
            hint = did_you_mean(path[-1], parent)
            raise InputError([Diagnostic(origin, index, 1, key, f"no key '{path[-1]}' in {known}{hint}")])
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


class _Checked:
    """Refuses aliases and bounds depth and size while composing (the mixin of both loaders below)."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(event.start_mark, "YAML aliases (*name) are not allowed")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(event.start_mark, f"document has more than {MAX_NODES} values")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"document is nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1


class _Loader(_Checked, yaml.SafeLoader):
    """SafeLoader that refuses aliases and bounds depth and size while composing."""


try:
    from yaml.cyaml import CParser as _LibyamlParser
except ImportError:  # PyYAML built without libyaml: its own parser reads every file
    _LibyamlParser = None

_FastLoader: type | None = None
if _LibyamlParser is not None:

    class _Fast(
        _Checked, yaml.composer.Composer, _LibyamlParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver
    ):
        """:class:`_Loader` over the events of libyaml's parser: a tenth of the time of PyYAML's own scanner and
        parser, with the same marks. The composer stays PyYAML's (it comes before libyaml's), so that each node is
        checked as it is made. libyaml's syntax errors say less ("found character that cannot start any token",
        where PyYAML names the tab), so a file it refuses is read again by :class:`_Loader`, in whose words the
        diagnostic is given."""

        def __init__(self, stream: str) -> None:
            _LibyamlParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _FastLoader = _Fast


# YAML 1.2 reads 3e9 and 1.5e-3 as numbers; PyYAML (YAML 1.1) would read the first as a string.
for _loader in (_Loader, _FastLoader) if _FastLoader is not None else (_Loader,):
    _loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )


def _pos(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _special_devices() -> frozenset[int]:
    """The devices of the kernel's pseudo file systems (/proc, /sys): their "regular" files never end or change
    as they are read, so no project file may be one."""
    devices = set()
    for folder in ("/proc", "/sys"):
        with contextlib.suppress(OSError):
            devices.add(os.stat(folder).st_dev)
    return frozenset(devices)


def read_bounded(path: Path, display_name: str | None = None, limit: int = MAX_BYTES) -> bytes:
    """The bytes of the project file at ``path``, which must be a regular file of at most ``limit`` bytes.

    Every file the project reads as input goes through here. The file is opened without blocking (a FIFO or a
    device never holds the process), checked on the open descriptor (no race with a rename), and read to at most
    ``limit + 1`` bytes, so ``/dev/zero``, a folder or a file growing without end costs nothing. Any problem is
    one InputError at the file's line 1.
    """
    name = display_name or str(path)

    def refuse(message: str) -> InputError:
        return InputError([Diagnostic(name, 1, 1, "", message)])

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise refuse("no such file") from None
    except IsADirectoryError:
        raise refuse("is a folder, not a file") from None
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror or exc}") from None
    except ValueError:  # a NUL in the path
        raise refuse("cannot read file: the path holds a NUL character") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise refuse("is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise refuse(f"is not a regular file ({_file_kind(info.st_mode)}); give the path of a file")
        if info.st_dev in _special_devices():
            raise refuse("is a file of the system (/proc or /sys), not a project file")
        if info.st_size > limit:
            raise refuse(f"file is {info.st_size} bytes; the limit is {limit}")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except BlockingIOError:
        raise refuse("cannot read file: it is not ready (not a regular file)") from None
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise refuse(f"file is more than {limit} bytes; the limit is {limit}")
    return b"".join(chunks)


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((kind for test, kind in kinds if test(mode)), "a special file")


def decode(raw: bytes, name: str) -> str:
    """``raw`` as UTF-8 text; invalid bytes are refused at their line and column."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        message = f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} is not valid UTF-8"
        raise InputError([Diagnostic(name, line, column, "", message)]) from None


# Characters refused anywhere in an input: the C0 controls but tab, line feed and carriage return, DEL, the C1
# controls, lone surrogates (from undecodable command-line bytes) and the noncharacters (U+FFFE, U+FFFF, ...).
# YAML's reader refuses most of them with a traceback; a NUL or ESC written as an escape ("\0", "\e") would pass
# it and reach the terminal, the PDF renderer or the chart renderer.
_NONCHARACTERS = "".join(f"\\U{plane:04x}fffe\\U{plane:04x}ffff" for plane in range(1, 17))
_FORBIDDEN = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff" + _NONCHARACTERS + "]"
)
_LINE_CONTROLS = re.compile(r"[\t\n\r]")


def forbidden_character(text: str, allow_lines: bool = True) -> tuple[int, str] | None:
    """The offset and description of the first character ``text`` may not hold, or None. Tab, line feed and
    carriage return are allowed unless ``allow_lines`` is false."""
    found = _FORBIDDEN.search(text)
    if not allow_lines:
        line = _LINE_CONTROLS.search(text)
        if line is not None and (found is None or line.start() < found.start()):
            found = line
    if found is None:
        return None
    return found.start(), describe_character(found.group())


def describe_character(char: str) -> str:
    """A character as a message names it: U+0007 (BEL), U+FFFE (a noncharacter)."""
    code = ord(char)
    names = {0: "NUL", 7: "BEL", 8: "BS", 9: "TAB", 10: "LF", 13: "CR", 0x1B: "ESC", 0x7F: "DEL", 0x85: "NEL"}
    if code in names:
        kind = names[code]
    elif 0xD800 <= code <= 0xDFFF:
        kind = "a lone surrogate: the text was not valid UTF-8"
    elif unicodedata.category(char) == "Cc":
        kind = "a control character"
    else:
        kind = "a noncharacter"
    return f"U+{code:04X} ({kind})"


def _check_characters(text: str, file: str) -> None:
    found = forbidden_character(text)
    if found is None:
        return
    offset, what = found
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    raise InputError([Diagnostic(file, line, column, "", f"{what} is not allowed in the file; remove it")])


def load_file(path: Path, display_name: str | None = None) -> Document:
    name = display_name or str(path)
    return load_text(decode(read_bounded(path, name), name), name)


def load_text(text: str, file: str) -> Document:
    """Parse ``text``. Syntax errors raise InputError; other problems (duplicate keys, tags) are kept in
    ``Document.problems`` so validation reports them together with its own. A character no input may hold
    (a control character, a noncharacter) is refused at its line and column before YAML reads the text."""
    if len(text) > MAX_BYTES:
        raise InputError([Diagnostic(file, 1, 1, "", f"text is {len(text)} characters; the limit is {MAX_BYTES}")])
    _check_characters(text, file)
    if _FastLoader is not None:
        fast = _FastLoader(text)
        try:
            node = fast.get_single_node()
        except (_Refused, yaml.YAMLError):
            pass  # read again below, to report it in PyYAML's words
        else:
            return _document(node, file, fast)
        finally:
            fast.dispose()
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
        return _document(node, file, loader)
    finally:
        loader.dispose()


def _document(node: yaml.Node | None, file: str, loader: Any) -> Document:
    doc = Document(file, None)
    if node is None:
        raise InputError([Diagnostic(file, 1, 1, "", "file is empty")])
    doc.data = _build(node, (), doc, loader, doc.problems)
    return doc


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
        value = loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        problems.append(doc.diagnostic(path, f"cannot read value {_shown(node.value)}: {exc}"))
        return None
    found = forbidden_character(value) if isinstance(value, str) else None
    if found is not None:  # written as an escape in a quoted string ("\0", "\e"): the file itself was clean
        problems.append(doc.diagnostic(path, f"holds {found[1]}, written as an escape; remove it"))
        return None
    return value


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


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
        found = forbidden_character(key, allow_lines=False)
        if found is not None:
            problems.append(
                Diagnostic(doc.file, key_pos.line, key_pos.column, dotted(path), f"a key holds {found[1]}; remove it")
            )
            continue
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
