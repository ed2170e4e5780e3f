"""Live preview: build, serve the site on 127.0.0.1, rebuild when an input changes and reload the open page.

A failed rebuild keeps the last good build on disk (outputs are written atomically) and shows its error over the
page; the next good build clears it.

The server answers only what a browser on this machine asks for: a request whose path is malformed (a control
character, bad percent-encoding, a ``..`` segment, longer than :data:`MAX_PATH`) gets 400, and one whose Host
header is not this server (127.0.0.1, localhost or [::1] with the served port) gets 421, so a page on another site
cannot read the preview through DNS rebinding. :func:`bind` takes the port before anything is built, so a bad or
busy port is refused at once.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from memo.errors import MemoError, UsageError

HOST = "127.0.0.1"
MAX_PATH = 2048  # characters of a request target; the site's longest URL is well under 100
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
_RAW_PATH = re.compile(r"/[!-~]*")  # printable ASCII, no space: what a browser sends after percent-encoding
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")

RELOAD_JS = b"""(function () {
  "use strict";
  var seen = null;
  function overlay(text) {
    var box = document.getElementById("memo-build-error");
    if (!text) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("pre");
      box.id = "memo-build-error";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;left:0;right:0;bottom:0;max-height:50vh;overflow:auto;margin:0;padding:1rem;" +
        "background:#2b0b0b;color:#ffd9d0;font:13px/1.45 monospace;z-index:9999;white-space:pre-wrap";
      document.body.appendChild(box);
    }
    box.textContent = "memo build failed; showing the last good build.\\n\\n" + text;
  }
  function poll() {
    fetch("/__memo/status", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (s) {
      if (seen === null) seen = s.version;
      else if (s.version !== seen) {
        seen = s.version;
        if (!s.error) { location.reload(); return; }
      }
      overlay(s.error);
    }).catch(function () {}).finally(function () { setTimeout(poll, 400); });
  }
  poll();
})();
"""
RELOAD_TAG = b'<script src="/__memo/reload.js"></script>'


@dataclass
class State:
    version: int = 0
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    early: dict[str, bytes] = field(default_factory=dict)  # pages rendered by a build still making its PDF

    def show_early(self, pages: dict[str, bytes]) -> None:
        """A rebuild's HTML is ready before its PDF: serve it now and reload the open page."""
        with self.lock:
            self.early = dict(pages)
            self.version += 1
            self.error = None

    def as_json(self) -> bytes:
        with self.lock:
            return json.dumps({"version": self.version, "error": self.error}).encode("utf-8")


def request_problem(target: str) -> str | None:
    """Why a request target is malformed (None when it is a plain path): what the server answers 400 to."""
    if len(target) > MAX_PATH:
        return "request path too long"
    if not _RAW_PATH.fullmatch(target):
        return "request path must start with / and hold only printable ASCII"
    if _BAD_ESCAPE.search(target):
        return "bad percent-encoding in the request path"
    path = target.split("?", 1)[0].split("#", 1)[0]
    try:
        decoded = urllib.parse.unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return "request path is not UTF-8"
    if _CONTROL.search(decoded):
        return "control character or backslash in the request path"
    if ".." in decoded.split("/"):
        return "'..' in the request path"
    return None


def host_allowed(host: str | None, port: int) -> bool:
    """Whether a Host header names this server: 127.0.0.1, localhost or [::1], with the served port (a browser
    leaves the port out only when it is 80)."""
    text = (host or "").strip().lower()
    if text.startswith("["):
        end = text.find("]") + 1
        name, rest = (text[:end], text[end:]) if end else ("", "")
    else:
        name, colon, given = text.partition(":")
        rest = colon + given
    return name in LOCAL_NAMES and (rest == f":{port}" or (rest == "" and port == 80))


class Handler(http.server.SimpleHTTPRequestHandler):
    state: State

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _refused(self) -> bool:
        """Answer a malformed request or one for another host with an error, before any file is looked at."""
        problem = request_problem(self.path)
        if problem is not None:
            self.send_error(400, problem)
            return True
        if not host_allowed(self.headers.get("Host"), self.server.server_address[1]):
            self.send_error(421, "this preview answers only to 127.0.0.1, localhost or [::1] with its port")
            return True
        return False

    def do_HEAD(self) -> None:
        if not self._refused():
            super().do_HEAD()

    def do_GET(self) -> None:
        if self._refused():
            return
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path == "/__memo/status":
            return self._send(self.state.as_json(), "application/json")
        if path == "/__memo/reload.js":
            return self._send(RELOAD_JS, "text/javascript")
        if path.endswith("/") or path.endswith(".html"):
            page = self._page(path)
            if page is not None:
                return self._send(page.replace(b"</body>", RELOAD_TAG + b"</body>", 1), "text/html; charset=utf-8")
        return super().do_GET()

    def _page(self, path: str) -> bytes | None:
        """An HTML page of the site (or the rebuild's early copy of it); None when there is none."""
        target = Path(self.translate_path(path))
        root = Path(self.directory).resolve()
        try:
            if target.is_dir():
                target = target / "index.html"
            if not target.resolve().is_relative_to(root):
                return None
            with self.state.lock:
                here = target.parent.resolve() == root
                early = self.state.early.get(target.name) if here else None
            return early if early is not None else target.read_bytes() if target.is_file() else None
        except OSError:  # the page went away during a rebuild
            return None

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        """One line for a request that failed in the handler (a dropped connection, say), not a traceback."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            print(f"memo: serve: request from {client_address[0]} failed: {error!r}", file=sys.stderr)


def bind(port: object, host: str = HOST) -> Server:
    """Listen on ``host:port`` (0 picks a free port), before anything is built: a port that is not an integer
    0..65535 is a usage error (exit 2), one that cannot be had (busy, privileged) exits 1, each with one line."""
    if isinstance(port, bool) or not isinstance(port, int | str):
        raise UsageError(f"error: --port {port!r}: give a port number from 0 to 65535")
    text = str(port).strip()
    if not text.isascii() or not text.isdigit() or int(text) > 65535:
        raise UsageError(f"error: --port {text!r}: give a port number from 0 to 65535 (0 picks a free one)")
    try:
        return Server((host, int(text)), Handler)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise MemoError(
            f"error: --port {int(text)}: cannot listen on {host}:{int(text)} ({reason}); "
            "choose another port, or --port 0 for a free one"
        ) from None


def snapshot(paths: Iterable[Path]) -> dict[str, float]:
    out: dict[str, float] = {}
    for root in paths:
        candidates = (
            [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        )
        for path in candidates:
            if "__pycache__" not in path.parts:
                out[str(path)] = path.stat().st_mtime_ns
    return out


def serve(
    rebuild: Callable[[State], None],
    site_dir: Path,
    watched: list[Path],
    port: int | Server,
    ready: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> None:
    """Build, then serve ``site_dir`` and rebuild on every change of ``watched``; ``port`` is a port number or a
    server :func:`bind` made (the CLI binds first, so a bad port costs no build)."""
    server = port if isinstance(port, Server) else bind(port)
    state = State()
    try:
        rebuild(state)
    except Exception as exc:  # a failed first build still serves (nothing yet), with its error
        state.error = str(exc)
    state.early.clear()
    server.RequestHandlerClass = functools.partial(  # type: ignore[assignment]
        type("MemoHandler", (Handler,), {"state": state}), directory=str(site_dir)
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ready(f"memo: serving {site_dir} at http://{HOST}:{server.server_address[1]}/ (Ctrl-C to stop)")
    stop = stop or threading.Event()
    seen = snapshot(watched)
    try:
        while not stop.wait(0.3):
            current = snapshot(watched)
            if current == seen:
                continue
            seen = current
            try:
                rebuild(state)
                error = None
            except Exception as exc:
                error = str(exc)
            with state.lock:
                shown_early = bool(state.early)
                state.early.clear()  # the files on disk are now this build's (or, on failure, the last good one's)
                if error is not None or not shown_early:
                    state.version += 1
                state.error = error
            ready("memo: rebuilt" if error is None else f"memo: build failed, serving the last good build\n{error}")
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
