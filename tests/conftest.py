from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "assumptions.yaml"


@pytest.fixture
def bundled_text() -> str:
    return BUNDLED.read_text(encoding="utf-8")


def line_col(text: str, needle: str, offset: int = 0) -> tuple[int, int]:
    """1-based line and column of ``needle`` (plus ``offset`` characters) in ``text``."""
    index = text.index(needle) + offset
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


PROJECT_PARTS = ("memo.yml", "model.yaml", "templates", "charts", "styles", "assets")


def link_project(folder: Path) -> Path:
    """Make ``folder`` a memo project with the bundled project's files (linked) and its own assumptions.yaml."""
    for name in PROJECT_PARTS:
        if not (folder / name).exists():
            (folder / name).symlink_to(ROOT / name)
    return folder


def memo(*args: str, cwd: Path, timeout: int = 600, bundled: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the memo CLI as a user would, in a fresh process. With ``bundled``, a working directory outside any
    project becomes one with the bundled project's files (so a test's own assumptions.yaml there is built)."""
    from memo.project import find

    if bundled and "--project" not in args and find(cwd) is None:
        link_project(cwd)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "memo", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def run_measured(
    command: list[str | bytes], cwd: Path, env: dict[str, str], timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """``command`` in a fresh process: its result, wall time in seconds and peak resident memory in bytes (its
    own and that of every process it waited for, as wait4 reports), measured for this process alone."""
    import tempfile
    import time

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        texts = [stream.read().decode("utf-8", "replace") for stream in (out, err)]
    return subprocess.CompletedProcess(command, child.returncode, *texts), elapsed, usage.ru_maxrss * 1024


# ---------------------------------------------------------------- one bundled build for the modules that only read it


@pytest.fixture(scope="session")
def bundled_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled memo built once per test process, for modules that read its outputs and write nothing there."""
    from tests.bundled import build

    out = tmp_path_factory.mktemp("bundled")
    build(BUNDLED, out)
    return out


@pytest.fixture(scope="session")
def bundled_tree(bundled_build: Path):
    import tinyhtml5

    return tinyhtml5.parse((bundled_build / "memo.html").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- one headless Chromium per module that drives one

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright; a missing browser fails in CI (and is only skipped elsewhere)."""
    reason = browser_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(f"BROWSER TESTS SKIPPED: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()
