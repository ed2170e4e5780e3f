"""Live preview: build, serve the site on 127.0.0.1, rebuild when an input changes and reload the open page.

A failed rebuild keeps the last good build on disk (outputs are written atomically) and shows its error over the
page; the next good build clears it.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

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


class Handler(http.server.SimpleHTTPRequestHandler):
    state: State

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/__memo/status":
            return self._send(self.state.as_json(), "application/json")
        if path == "/__memo/reload.js":
            return self._send(RELOAD_JS, "text/javascript")
        if path.endswith("/") or path.endswith(".html"):
            target = Path(self.translate_path(path))
            if target.is_dir():
                target = target / "index.html"
            with self.state.lock:
                here = target.parent.resolve() == Path(self.directory).resolve()
                early = self.state.early.get(target.name) if here else None
            if early is not None or target.is_file():
                body = (early if early is not None else target.read_bytes()).replace(
                    b"</body>", RELOAD_TAG + b"</body>", 1
                )
                return self._send(body, "text/html; charset=utf-8")
        return super().do_GET()

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


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
    port: int,
    ready: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> None:
    state = State()
    try:
        rebuild(state)
    except Exception as exc:  # a failed first build still serves (nothing yet), with its error
        state.error = str(exc)
    state.early.clear()
    handler = functools.partial(type("MemoHandler", (Handler,), {"state": state}), directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ready(f"memo: serving {site_dir} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
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
