"""Every command, given hostile or careless files, arguments and environments, answers with lines of text and its
documented exit status: 1 bad input, 2 usage error or ``memo diff`` trouble. Never a traceback, never a hang.

The areas have their own modules (test_hostile_values, test_hostile_outputs, test_hostile_serve); this one runs
every command across them, in a fresh process each, as a user would.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BUNDLED, PROJECT_PARTS, ROOT
from tests.forked import memo_forked


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundled project (copied, not linked: some cases aim outputs at its source folders)."""
    base = tmp_path_factory.mktemp("hostile")
    (base / "shared").symlink_to(ROOT.parent / "shared")
    root = base / "memo"
    root.mkdir()
    for name in PROJECT_PARTS:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    shutil.copy(BUNDLED, root / "assumptions.yaml")
    (root / "a-file").write_text("not a folder\n")
    (root / "not.pdf").write_bytes(b"%PDF-1.7\n garbage that is no PDF \x00\xff")
    (root / "other.pdf").write_bytes(b"%PDF-1.4\n other garbage")
    (root / "garbage.bin").write_bytes(bytes(range(256)) * 8)
    (root / "nul.yaml").write_bytes(BUNDLED.read_bytes().replace(b"memo:\n", b"memo:\n  \x00: 1\n", 1))
    (root / "latin1.yaml").write_bytes(BUNDLED.read_bytes().replace(b"memo:\n", b"memo:\n# caf\xe9\n", 1))
    (root / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    os.mkfifo(root / "fifo")
    crafted = root / "crafted"
    crafted.mkdir()
    (crafted / "figures.json").write_text('{"figures": [1, 2], "inputs": "x", "units": null}\n')
    return root


def _busy_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    status: int
    env: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return " ".join(self.args)


def case(status: int, *args: str, **env: str) -> Case:
    return Case(args, status, tuple(env.items()))


CASES: list[Case] = [
    # usage errors: argparse's own exit 2
    case(2),
    case(2, "frobnicate"),
    case(2, "build", "--no-such-flag"),
    case(2, "build", "--set", "no-equals-sign"),
    case(2, "serve", "--port", "eighty"),
    case(2, "schema", "nonsense"),
    case(2, "diff", "only-one"),
    case(2, "new"),
    # the assumptions file: missing, not a regular file, not text, not YAML, too deep
    case(1, "check", "--assumptions", "missing.yaml"),
    case(1, "check", "--assumptions", "/dev/zero"),
    case(1, "check", "--assumptions", "fifo"),
    case(1, "check", "--assumptions", "templates"),
    case(1, "check", "--assumptions", "garbage.bin"),
    case(1, "check", "--assumptions", "nul.yaml"),
    case(1, "check", "--assumptions", "latin1.yaml"),
    case(1, "check", "--assumptions", "deep.yaml"),
    case(1, "build", "--assumptions", "/dev/zero"),
    case(1, "build", "--assumptions", "nul.yaml"),
    # --set: values the ranges allow that the formulas cannot take, out-of-range magnitudes, control characters
    case(1, "check", "--set", "users.conversion_rate=0"),
    case(1, "check", "--set", "valuation.fdv=0"),
    case(0, "check", "--set", "valuation.fdv=1e200"),  # huge, finite: computed and printed
    case(1, "check", "--set", "valuation.fdv=1e-320"),
    case(1, "check", "--set", "memo.title=bell\x07"),
    case(1, "check", "--set", "memo.title=\x1b]0;owned\x07"),
    case(1, "check", "--set", "memo.title=c1\u0085"),
    case(1, "check", "--set", "memo.title=\ufffe"),
    case(1, "build", "--set", "memo.title=esc\x1b[2J"),
    case(1, "check", "--set", "no.such.key=1"),
    case(1, "check", "--scenario", "\x1b[2Jnone"),
    # --out: anything but a folder memo made, or a new one, is refused before the build runs
    case(1, "build", "--out", "/"),
    case(1, "build", "--out", "."),
    case(1, "build", "--out", "templates"),
    case(1, "build", "--out", "assets"),
    case(1, "build", "--out", "a-file"),
    case(1, "build", "--out", "/dev/null"),
    case(1, "build", "--out", "/proc/self"),
    case(1, "build", "--out", "..", "--assumptions", "assumptions.yaml"),
    # --base-url must be an absolute http(s) URL
    case(2, "build", "--base-url", "javascript:alert(1)"),
    case(2, "build", "--base-url", "https://example.org/\nDisallow: /"),
    # memo diff: trouble is exit 2
    case(2, "diff", "missing-a", "missing-b"),
    case(2, "diff", "not.pdf", "other.pdf"),
    case(0, "diff", "not.pdf", "not.pdf"),  # the same bytes: no differences, as cmp says
    case(2, "diff", "garbage.bin", "garbage.bin"),
    case(2, "diff", "crafted", "crafted"),
    case(2, "diff", "fifo", "fifo"),
    case(2, "diff", "--rev", "no-such-revision-xyz"),
    # memo publish
    case(1, "publish", "--build", "missing-build"),
    case(1, "publish", "--build", "crafted", "--site", "a-file"),
    case(1, "publish", "--build", "crafted", "--label", "good\n"),
    case(1, "publish", "--build", "crafted", "--label", "../escape"),
    # memo serve: bad and busy ports are refused before anything is built
    case(2, "serve", "--port", "-1"),
    case(2, "serve", "--port", "70000"),
    # memo new: never over something that exists
    case(1, "new", "a-file"),
    case(1, "new", "templates"),
    case(1, "new", "/proc/self/memo"),
    # schema and project discovery
    case(1, "schema", "--project", "/nonexistent"),
    case(1, "check", "--project", "a-file"),
    # a hostile environment
    case(1, "check", "--assumptions", "nul.yaml", PYTHONIOENCODING="ascii", LANG="C", LC_ALL="C"),
    case(0, "check", MEMO_CACHE_DIR="a-file/cache"),
    case(0, "schema", PYTHONIOENCODING="ascii", LANG="C", LC_ALL="C"),
    case(0, "--version"),
]


CEILING = 3 * 2**30  # a memory ceiling, so that an unbounded read fails the test rather than the machine
STARTUP = {"PYTHONIOENCODING", "LANG", "LC_ALL"}  # cases whose environment must be there when Python starts


def _ceiling(args: tuple[str, ...]) -> int | None:
    return None if args[:1] in (("build",), ("serve",)) else CEILING  # a converter reserves space it never uses


def run(
    project: Path, args: tuple[str, ...], env: dict[str, str], timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """One command in a fresh interpreter, as a user runs it."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "MEMO_CACHE_DIR": str(project / ".memo-cache"), **env}
    ceiling = _ceiling(args)
    return subprocess.run(
        [sys.executable, "-m", "memo", *args],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))) if ceiling else None,
    )


def run_forked(project: Path, case: Case, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """One command in a fork of a warm process (tests/forked.py): the same isolation, a fraction of the start-up."""
    env = {"MEMO_CACHE_DIR": str(project / ".memo-cache"), **dict(case.env)}
    return memo_forked(case.args, project, env, timeout, _ceiling(case.args))


@pytest.fixture(scope="module")
def answers(project: Path) -> dict[Case, subprocess.CompletedProcess[str]]:
    return {
        c: run(project, c.args, dict(c.env)) if STARTUP & dict(c.env).keys() else run_forked(project, c) for c in CASES
    }


def assert_answered(result: subprocess.CompletedProcess[str], status: int, what: str) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, f"{what}:\n{output}"
    assert "panicked" not in output and "RUST_BACKTRACE" not in output, f"{what}:\n{output}"
    assert result.returncode == status, f"{what}: exit {result.returncode}, expected {status}:\n{output}"
    if status:
        assert result.stderr.strip(), f"{what}: failed without saying why"
    assert "\x1b" not in output and "\x07" not in output, f"{what}: control characters reached the terminal"


@pytest.mark.parametrize("hostile", CASES, ids=str)
def test_every_command_answers_hostile_input(
    answers: dict[Case, subprocess.CompletedProcess[str]], hostile: Case
) -> None:
    assert_answered(answers[hostile], hostile.status, str(hostile))


def test_a_busy_port_is_refused_before_building(project: Path) -> None:
    for port in _busy_port():
        result = run(project, ("serve", "--port", str(port)), {}, timeout=30)
        assert_answered(result, 1, f"serve --port {port} (busy)")
        assert str(port) in result.stderr


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(project: Path, tmp_path: Path) -> None:
    """A bug inside memo (here: a chart module that raises) still ends in one line; --debug adds the traceback."""
    plugin = tmp_path / "sitecustomize.py"
    plugin.write_text(
        "import memo.build\n"
        "def _boom(*a, **k):\n"
        "    raise RuntimeError('a bug inside memo')\n"
        "memo.build.check = _boom\n"
    )
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    quiet = run(project, ("check",), env)
    assert_answered(quiet, 1, "check with a bug")
    assert quiet.stderr.strip().splitlines() == [
        "memo check: unexpected error: RuntimeError: a bug inside memo "
        "(run again with --debug for the traceback, and please report it)"
    ]
    loud = run(project, ("check", "--debug"), env)
    assert loud.returncode == 1 and "Traceback" in loud.stderr and "a bug inside memo" in loud.stderr


def test_a_closed_pipe_ends_quietly(project: Path) -> None:
    command = [sys.executable, "-m", "memo", "schema"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.read(10)
        process.stdout.close()
        errors = process.stderr.read().decode()
        process.wait(timeout=60)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors


def test_text_from_the_project_is_escaped_on_the_terminal() -> None:
    from memo.terminal import printable

    assert (
        printable("title \x1b]0;owned\x07 \x9b2J\u202e ok\n\tnext")
        == "title \\x1b]0;owned\\x07 \\x9b2J\\u202e ok\n\tnext"
    )


def test_a_stylesheet_that_is_no_file_is_refused_at_load(tmp_path: Path) -> None:
    """Project files beyond the YAML ones are read bounded too: a FIFO as styles/memo.css would block forever."""
    (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    root = tmp_path / "memo"
    root.mkdir()
    for name in PROJECT_PARTS:
        if name != "styles":
            (root / name).symlink_to(ROOT / name)
    (root / "styles").mkdir()
    os.mkfifo(root / "styles" / "memo.css")
    shutil.copy(BUNDLED, root / "assumptions.yaml")
    result = memo_forked(["build"], root, {"MEMO_CACHE_DIR": str(tmp_path / "cache")}, timeout=60, ceiling=None)
    assert_answered(result, 1, "build with a FIFO stylesheet")
    assert (
        result.stderr.strip()
        == "styles/memo.css:1:1: error: is not a regular file (a named pipe); give the path of a file"
    )


def test_a_mistyped_set_key_gets_a_suggestion(project: Path) -> None:
    result = run_forked(project, case(1, "check", "--set", "users.convrsion_rate=0.05"))
    assert_answered(result, 1, "check --set users.convrsion_rate")
    assert result.stderr.strip() == (
        "--set:1:1: error: users.convrsion_rate: no key 'convrsion_rate' in users (did you mean 'conversion_rate'?)"
    )
