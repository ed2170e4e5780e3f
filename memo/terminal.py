"""What memo prints reaches a terminal as text, never as control sequences.

Text from a project's files (a source's ``where``, a scenario's name, a title) can hold escape sequences that would
retitle the window or clear the screen if printed raw. Every line memo prints goes through ``printable``: control
characters other than newline and tab are shown as escapes (``\\x1b``), and characters the terminal's encoding
cannot show become backslash escapes instead of an encoding error.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import TextIO

# C0 controls except \t and \n, DEL, C1 controls, line and paragraph separators, bidi overrides and isolates,
# lone surrogates and the noncharacters U+FFFE and U+FFFF
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape, safe to print to a terminal."""
    return _UNSAFE.sub(_escape, text)


class PrintableStream(io.TextIOBase):
    """A text stream that escapes control characters on their way to ``target``."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def fileno(self) -> int:
        return self.target.fileno()

    def isatty(self) -> bool:
        return self.target.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.target.encoding


def guard_streams() -> tuple[TextIO, TextIO]:
    """Route ``sys.stdout`` and ``sys.stderr`` through ``printable``; return the streams they replaced."""
    replaced = sys.stdout, sys.stderr
    for stream in replaced:
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    sys.stdout, sys.stderr = PrintableStream(replaced[0]), PrintableStream(replaced[1])  # type: ignore[assignment]
    return replaced


def display(path: Path) -> str:
    """``path`` as the user would type it: relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
