"""What a command tells the person who ran it, at the verbosity they asked for.

``-q`` prints errors only; the default prints one line per stage with its time and a closing summary; ``-v`` adds
a line for every file written. On a terminal, a stage that runs for more than a moment shows a live line (its name
and the seconds so far), redrawn in place and replaced by the stage's line when it ends; to a pipe or a file
nothing is redrawn, so a log holds the same lines a terminal ends with.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from memo.terminal import printable

QUIET, NORMAL, VERBOSE = -1, 0, 1
LIVE_AFTER = 0.4  # seconds a stage runs before its live line appears (a quick stage never flickers)
REDRAW = 0.1
SPINNER = "|/-\\"
CLEAR_LINE = "\r\x1b[K"


def animates(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal that can redraw a line: not a pipe or file, not TERM=dumb."""
    try:
        return stream.isatty() and os.environ.get("TERM", "") != "dumb"
    except (AttributeError, ValueError, OSError):
        return False


class Reporter:
    """One command's lines: stages as they end, files written, a summary; warnings go to stderr.

    ``stages`` is the order the command's stages run in, so that the live line can name the stage under way
    (each stage starts when the one before it ends)."""

    def __init__(
        self,
        command: str,
        verbosity: int = NORMAL,
        stages: Sequence[str] = (),
        out: TextIO | None = None,
        err: TextIO | None = None,
        live: bool | None = None,
    ) -> None:
        self.command = command
        self.verbosity = verbosity
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.live = animates(self.out) if live is None else live
        self._order = list(stages)
        self._lock = threading.Lock()
        self._start = self._stage_start = time.perf_counter()
        self._current: str | None = self._order[0] if self._order else None
        self._drawn = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.width = max((len(s) for s in self._order), default=0)

    # ---------------------------------------------------------------- what the command calls

    def stage_done(self, stage: str, _since_start: float | None = None) -> None:
        """``stage`` ended: print its line (name and its own seconds) and let the live line follow the next one.
        The signature matches the builds' ``on_stage`` callback (name, seconds since the start)."""
        now = time.perf_counter()
        seconds = now - self._stage_start
        self._stage_start = now
        following = self._order.index(stage) + 1 if stage in self._order else len(self._order)
        with self._lock:
            self._current = self._order[following] if following < len(self._order) else None
            if self.verbosity >= NORMAL:
                self._line(f"{self.command}: {stage.ljust(self.width)} {seconds:6.2f} s")

    def begin(self, stage: str) -> None:
        """A stage outside the fixed order starts (e.g. building one side of a diff): the live line names it."""
        with self._lock:
            self._current, self._stage_start = stage, time.perf_counter()

    def wrote(self, path: str) -> None:
        if self.verbosity >= VERBOSE:
            with self._lock:
                self._line(f"{self.command}: wrote {path}")

    def info(self, text: str, level: int = NORMAL) -> None:
        if self.verbosity >= level:
            with self._lock:
                self._line(f"{self.command}: {text}")

    def warning(self, text: str) -> None:
        self.diagnostic(f"{self.command}: warning: {text}")

    def diagnostic(self, line: str) -> None:
        """A warning or note in its own form (``file:line:col: warning: ...``), on stderr; ``-q`` hides it."""
        if self.verbosity >= NORMAL:
            with self._lock:
                self._clear()
                self.err.write(printable(line) + "\n")
                self.err.flush()

    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    # ---------------------------------------------------------------- the live line

    @contextmanager
    def running(self) -> Iterator[Reporter]:
        """While the command runs, redraw the live line on a terminal; always leave the line clean."""
        if self.live and self.verbosity >= NORMAL:
            self._thread = threading.Thread(target=self._animate, name="memo-progress", daemon=True)
            self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
            with self._lock:
                self._clear()

    def _animate(self) -> None:
        tick = 0
        while not self._stop.wait(REDRAW):
            with self._lock:
                stage, seconds = self._current, time.perf_counter() - self._stage_start
                if stage is None or seconds < LIVE_AFTER:
                    continue
                tick += 1
                raw = _raw(self.out)
                raw.write(f"{CLEAR_LINE}{printable(f'{self.command}: {stage} {SPINNER[tick % 4]} {seconds:.1f} s')}")
                raw.flush()
                self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            raw = _raw(self.out)
            raw.write(CLEAR_LINE)
            raw.flush()
            self._drawn = False

    def _line(self, text: str) -> None:
        """Print one finished line (the caller holds the lock), over the live line if one is drawn."""
        self._clear()
        self.out.write(printable(text) + "\n")
        self.out.flush()


def _raw(stream: TextIO) -> TextIO:
    """The stream under memo's escaping wrapper, for the control sequences that redraw a line."""
    return getattr(stream, "target", stream)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"
