"""Run many memo commands fast, each in a fresh fork of one process that has already imported memo.

Reads a JSON list of cases ({"args": [...], "cwd": ..., "env": {...}, "timeout": s, "ceiling": bytes or null}) on
stdin and writes one JSON result per case ({"status", "stdout", "stderr"}). Each case runs in its own child: its
own working directory, environment, memory ceiling and standard streams, killed at its timeout (status -9), so a
case that hangs or eats memory cannot take the others with it.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import tempfile
import time

import memo.build
import memo.cli
import memo.publish
import memo.review


def _child(case: dict, out: str, err: str) -> None:
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
    cases = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as scratch:
        results = [_run(case, scratch) for case in cases]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
