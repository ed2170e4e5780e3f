"""vl-convert, in this process or in a second one.

vl-convert's engine takes about 0.3 s to warm up on its first conversion in a process, and making the Vega bundle
for the site takes about a second. ``memo build`` therefore starts a ``Worker`` before anything else: the child
warms the engine on the other core while the build imports its libraries and computes, converts the charts when
they are ready, and makes the bundle and the social card while the build renders the PDF. A long-lived process
(the live preview) converts ``InProcess`` instead, where the engine stays warm between rebuilds.

Both give the same bytes; a failed conversion raises ``ConversionError`` with the same message either way.
This module imports nothing heavy, so that starting the worker costs the build nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

Result = Callable[[], bytes]  # waits for a conversion and returns its bytes (or raises ConversionError)
WARM_UP = {"data": {"values": []}, "mark": "point"}


class ConversionError(Exception):
    """vl-convert failed; the message names the exception vl-convert raised."""


class Converter(Protocol):
    def submit(self, op: str, spec: dict[str, Any] | None = None) -> Result:
        """Start ``op`` ("svg" or "png" of a Vega-Lite spec, or "bundle"); the returned function waits for it."""
        ...


@cache
def _vl_convert() -> ModuleType:
    import vl_convert

    # Warm the engine before registering the fonts: the first conversion after a registration holds the GIL
    # throughout, which would stall any other thread of the process.
    with contextlib.suppress(Exception):  # a real conversion reports any trouble
        vl_convert.vegalite_to_svg(WARM_UP)
    from memo import fonts

    fonts.register_with_vl_convert()
    return vl_convert


def convert(op: str, spec: dict[str, Any] | None = None) -> bytes:
    """Do ``op`` with vl-convert in this process."""
    vl_convert = _vl_convert()
    try:
        if op == "svg":
            return vl_convert.vegalite_to_svg(spec).encode("utf-8")
        if op == "png":
            return bytes(vl_convert.vegalite_to_png(spec, scale=1))
        if op == "bundle":
            return vl_convert.javascript_bundle().encode("utf-8")
    except Exception as exc:
        message = "\n".join(line for line in str(exc).splitlines() if not line.startswith("    at "))  # no JS stack
        raise ConversionError(f"{type(exc).__name__}: {message}") from exc
    raise ValueError(f"unknown conversion {op!r}")


class InProcess:
    """vl-convert in this process; the bundle, a second of work that is rarely needed, is made by a worker so that
    it overlaps whatever this process does next."""

    def submit(self, op: str, spec: dict[str, Any] | None = None) -> Result:
        if op == "bundle":
            worker = Worker.start()
            result = worker.submit(op)

            def wait() -> bytes:
                try:
                    return result()
                finally:
                    worker.close()

            return wait
        body = convert(op, spec)
        return lambda: body


class Worker:
    """vl-convert in a child process (``python -m memo.converter``), fed one request per line on its stdin and
    answering in order; a thread drains the answers, so neither side can block the other. Should the worker stop
    or fail to start, its requests are converted in this process instead: slower, never different."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self._answers: queue.Queue[tuple[bool, bytes] | None] = queue.Queue()
        self._received: dict[int, tuple[bool, bytes] | None] = {}
        self._requests: list[tuple[str, dict[str, Any] | None]] = []
        self._taken = 0
        threading.Thread(target=self._drain, name="memo converter", daemon=True).start()

    @classmethod
    def start(cls) -> Worker:
        return cls(start_child("memo.converter"))

    def submit(self, op: str, spec: dict[str, Any] | None = None) -> Result:
        ticket = len(self._requests)
        self._requests.append((op, spec))
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"op": op, "spec": spec}).encode("utf-8") + b"\n")
            self.process.stdin.flush()
        except OSError:
            pass  # the worker has stopped: the answer is made here
        return lambda: self._answer(ticket)

    def _answer(self, ticket: int) -> bytes:
        while ticket not in self._received:
            answer = self._answers.get()
            if answer is None:  # the worker stopped: every later request hears so too
                self._answers.put(None)
            self._received[self._taken] = answer
            self._taken += 1
        answer = self._received[ticket]  # kept: waiting twice gives the same answer
        if answer is None:
            body = convert(*self._requests[ticket])
            self._received[ticket] = (True, body)
            return body
        ok, body = answer
        if not ok:
            raise ConversionError(body.decode("utf-8"))
        return body

    def _drain(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        try:
            while header := stream.readline():
                status, size = header.split()
                self._answers.put((status == b"ok", stream.read(int(size))))
        except (OSError, ValueError):
            pass  # a garbled answer: treat the worker as stopped
        finally:
            self._answers.put(None)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        stop_child(self.process)


def start_child(module: str, *arguments: str) -> subprocess.Popen[bytes]:
    """``python -m module [arguments]`` with this same memo importable, talking over its stdin and stdout (memo's
    workers)."""
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL}
    return subprocess.Popen([sys.executable, "-m", module, *arguments], env=env, **pipes)


def stop_child(process: subprocess.Popen[bytes]) -> None:
    """End a worker: its stdin closed, then killed, since nothing it holds is worth waiting for."""
    with contextlib.suppress(OSError):
        if process.stdin is not None:
            process.stdin.close()
    process.kill()
    process.wait()


def serve() -> None:
    """The worker's side: warm up, then answer requests until stdin closes. Answers go to a private copy of
    stdout; anything else written to stdout (by vl-convert's engine, say) is sent to stderr instead."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _vl_convert()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            status, body = b"ok", convert(request["op"], request["spec"])
        except (ConversionError, ValueError) as exc:
            status, body = b"error", str(exc).encode("utf-8")
        answers.write(status + b" %d\n" % len(body) + body)
        answers.flush()


if __name__ == "__main__":
    serve()
