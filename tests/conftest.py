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


def memo(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run the memo CLI as a user would, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "memo", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
