"""Errors that reach the user: each names where it happened and exits with status 1."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in an input file, printed compiler style: ``file:line:col: error: key: message``."""

    file: str
    line: int
    column: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        subject = f"{self.key}: " if self.key else ""
        return f"{where}: error: {subject}{self.message}"


class MemoError(Exception):
    """A failure caused by the user's input or environment; printed without a traceback, exit 1."""

    exit_status = 1

    def __init__(self, message: str = "", exit_status: int | None = None) -> None:
        super().__init__(message)
        if exit_status is not None:
            self.exit_status = exit_status


class InputError(MemoError):
    """One or more diagnostics about an input file, reported together."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.file, d.line, d.column, d.key))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class UsageError(MemoError):
    """The command line itself is wrong; exit 2 like argparse."""

    exit_status = 2


_UNPRINTABLE = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, 0xFFFE, 0xFFFF)
}


def printable(text: str) -> str:
    """``text`` safe to print to a terminal: control characters (but tab and line feed), DEL, the C1 controls and
    the line and paragraph separators written as escapes (ESC as \\x1b), lone surrogates as \\udcNN, so no text
    from an input can move the cursor, clear the screen or retitle the window."""
    escaped = text.translate(_UNPRINTABLE)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in escaped):
        escaped = "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in escaped)
    return escaped
