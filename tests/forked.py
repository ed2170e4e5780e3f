"""Run many memo commands fast, each in a fresh fork of one process that has already imported memo.

Run as a script, it reads cases ({"args": [...], "cwd": ..., "env": {...}, "timeout": s, "ceiling": bytes or
null}) on stdin, one JSON line each, and answers each with a JSON line ({"status", "stdout", "stderr"}). Each case
runs in its own child: its own working directory, environment, memory ceiling and standard streams, killed at its
timeout (status -9), so a case that hangs or eats memory cannot take the others with it. Tests use it through
:func:`memo_forked`, which keeps one such process for the whole session.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(case: dict, out: str, err: str) -> None:
    import memo.cli

    os.chdir(case["cwd"])
    os.environ.update(case["env"])
    if case.get("ceiling"):
        resource.setrlimit(resource.RLIMIT_AS, (case["ceiling"], case["ceiling"]))
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    for fd, path in ((1, out), (2, err)):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    try:
        status = memo.cli.main(case["args"])
    except SystemExit as exc:  # argparse
        status = exc.code if isinstance(exc.code, int) else 2
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _run(case: dict, scratch: str) -> dict:
    out, err = os.path.join(scratch, "out"), os.path.join(scratch, "err")
    pid = os.fork()
    if pid == 0:
        try:
            _child(case, out, err)
        finally:
            os._exit(99)
    deadline = time.monotonic() + case["timeout"]
    while True:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, raw = os.waitpid(pid, 0)
            break
        time.sleep(0.01)
    status = os.waitstatus_to_exitcode(raw)
    read = lambda path: open(path, encoding="utf-8", errors="backslashreplace").read()  # noqa: E731, SIM115
    return {"status": status, "stdout": read(out), "stderr": read(err)}


def main() -> None:
    import memo.build
    import memo.publish
    import memo.review  # noqa: F401

    with tempfile.TemporaryDirectory() as scratch:
        for line in sys.stdin:
            json.dump(_run(json.loads(line), scratch), sys.stdout)
            sys.stdout.write("\n")
            sys.stdout.flush()


_server: subprocess.Popen[str] | None = None
_lock = threading.Lock()


def memo_forked(
    args: Sequence[str | bytes],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    ceiling: int | None = 3 * 2**30,
) -> subprocess.CompletedProcess[str]:
    """``memo ARGS`` in a fork of the session's warm process, isolated as a fresh process would be (but for the
    interpreter's start-up, which is what it saves): a case's own cwd, environment, memory ceiling and streams."""
    global _server
    request = {
        "args": [os.fsdecode(a) for a in args],
        "cwd": str(cwd),
        "env": dict(env or {}),
        "timeout": timeout,
        "ceiling": ceiling,
    }
    with _lock:
        if _server is None or _server.poll() is not None:
            _server = subprocess.Popen(
                [sys.executable, __file__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                text=True,
            )
            atexit.register(_server.kill)
        assert _server.stdin is not None and _server.stdout is not None
        _server.stdin.write(json.dumps(request) + "\n")
        _server.stdin.flush()
        answer = json.loads(_server.stdout.readline())
    return subprocess.CompletedProcess(list(args), answer["status"], answer["stdout"], answer["stderr"])


if __name__ == "__main__":
    main()
