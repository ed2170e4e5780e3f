"""The PDF stage in a second process, so that the build goes on while WeasyPrint works.

``memo build`` starts a ``PdfWorker`` with its converter: the child imports WeasyPrint (most of a second, a third of
it cffi reading its C declarations) while the build computes and vl-convert draws the charts, then lays out and writes
the PDF of memo.html while the build makes the site's files. Without a worker (the live preview, a diff, a library
call) the PDF is made in the build's own process, by the same function: both give the same bytes.

Should the child stop or fail to start, the PDF is made in this process instead, and reports any error the usual way.
This module imports nothing heavy, so that starting the worker costs the build nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from memo.converter import start_child, stop_child

Result = Callable[[], bytes]  # waits for the PDF and returns its bytes (or raises what write_pdf raised)


class InProcess:
    """The PDF made in this process, at once, behind the same ``submit`` as the worker's (as memo.converter's
    InProcess is for vl-convert)."""

    def submit(self, html: str, *, out_dir: Path, project_dir: Path, as_of: dt.date, store: Any) -> Result:
        from memo import pdf

        body = pdf.write_pdf(html, out_dir=out_dir, project_dir=project_dir, as_of=as_of, cache=store)
        return lambda: body


class PdfWorker:
    """memo.pdf.write_pdf in a child process (``python -m memo.pdfworker``): each request a JSON line and the HTML on
    its stdin, each answer a status line and the bytes on its stdout, in the order asked (so wait for each request's
    answer before the next one's)."""

    def __init__(self, process: subprocess.Popen[bytes] | None) -> None:
        self.process = process

    @classmethod
    def start(cls, languages: Sequence[str] = ()) -> PdfWorker:
        """The worker; it loads the hyphenation patterns of ``languages`` (those of the last build's memo.html, say)
        while it waits for the HTML, rather than while it lays the PDF out."""
        try:
            return cls(start_child("memo.pdfworker", *languages))
        except OSError:
            return cls(None)

    def submit(self, html: str, *, out_dir: Path, project_dir: Path, as_of: dt.date, store: Any) -> Result:
        """Start the PDF of ``html``; the returned function waits for it."""
        arguments = {"out_dir": out_dir, "project_dir": project_dir, "as_of": as_of, "store": store}
        body = html.encode("utf-8")
        root = getattr(store, "root", None)
        header = {
            "out_dir": str(out_dir), "project_dir": str(project_dir), "as_of": as_of.isoformat(),
            "cache": None if root is None else str(root), "size": len(body),
        }  # fmt: skip
        # sent from a thread: the child reads it once it has imported WeasyPrint, and this process goes on meanwhile
        sending = threading.Thread(target=self._send, args=(json.dumps(header).encode() + b"\n" + body,), daemon=True)
        sending.start()

        def wait() -> bytes:
            sending.join()
            answer = self._receive()
            if answer is None:  # the worker stopped: the PDF is made here
                return InProcess().submit(html, **arguments)()
            status, message = answer
            if status == b"ok":
                return message
            from memo import pdf
            from memo.errors import MemoError

            raise (pdf.RefusedURL if status == b"refused" else MemoError)(message.decode("utf-8"))

        return wait

    def _send(self, request: bytes) -> None:
        if self.process is None or self.process.stdin is None:
            return
        with contextlib.suppress(OSError, ValueError):  # the worker stopped, or was closed: the answer is made here
            self.process.stdin.write(request)
            self.process.stdin.flush()

    def _receive(self) -> tuple[bytes, bytes] | None:
        if self.process is None or self.process.stdout is None:
            return None
        try:
            status, size = self.process.stdout.readline().split()
            body = self.process.stdout.read(int(size))
        except (OSError, ValueError):
            return None
        return (status, body) if len(body) == int(size) else None

    def __enter__(self) -> PdfWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self.process is not None:
            stop_child(self.process)


def serve() -> None:
    """The worker's side: import WeasyPrint, then answer requests until stdin closes. A MemoError (a refused URL, a
    failed render) is answered with its message; anything else ends the worker, and the build makes the PDF itself."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    from memo import pdf
    from memo.cache import Cache
    from memo.errors import MemoError

    pdf.start_renderer(lowest_priority=True, languages=sys.argv[1:])  # write_pdf waits for it
    requests = sys.stdin.buffer
    while line := requests.readline():
        request = json.loads(line)
        html = requests.read(request["size"]).decode("utf-8")
        store = Cache(Path(request["cache"])) if request["cache"] is not None else None
        with pdf.collector_paused():  # until the answer is sent: the build waits for it, not for the collector
            try:
                status, body = b"ok", pdf.write_pdf(
                    html, out_dir=Path(request["out_dir"]), project_dir=Path(request["project_dir"]),
                    as_of=dt.date.fromisoformat(request["as_of"]), cache=store,
                )  # fmt: skip
            except pdf.RefusedURL as exc:
                status, body = b"refused", str(exc).encode("utf-8")
            except MemoError as exc:
                status, body = b"error", str(exc).encode("utf-8")
            answers.write(status + b" %d\n" % len(body) + body)
            answers.flush()


def languages_of(html_file: Path) -> list[str]:
    """The language a page declares on its <html> element (the build before's memo.html), for ``PdfWorker.start``."""
    try:
        with html_file.open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(2048)
    except OSError:
        return []
    found = re.search(r"<html\b[^>]*\blang=\"([A-Za-z0-9_-]{1,35})\"", head)
    return [found.group(1)] if found else []


if __name__ == "__main__":
    serve()
