"""Errors that reach the user: each names where it happened and exits with status 1."""

from __future__ import annotations

from collections.abc import Iterable
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


def did_you_mean(name: object, known: Iterable[str], otherwise: str = "") -> str:
    """`` (did you mean 'x'?)`` for the known name closest to ``name``, or ``otherwise`` when none is close."""
    import difflib

    hint = difflib.get_close_matches(name, list(known), n=1) if isinstance(name, str) else []
    return f" (did you mean '{hint[0]}'?)" if hint else otherwise
