"""The build cache: reuse what did not change, never serve a wrong output, and leave a no-op rebuild untouched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from memo.cache import Cache, key
from tests.bundled import build
from tests.conftest import BUNDLED, ROOT, run_measured


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("MEMO_CACHE_DIR", str(path))
    return path


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One cold build, shared: the cache it filled and its outputs (computed from nothing, like --no-cache's)."""
    root = tmp_path_factory.mktemp("seed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEMO_CACHE_DIR", str(root / "cache"))
        result = build(BUNDLED, root / "out")
    assert result.cache is not None and result.cache.hits == []
    return root / "cache", root / "out"


@pytest.fixture
def warm_cache(cache_dir: Path, seeded: tuple[Path, Path]) -> Path:
    """This test's own copy of the seeded cache."""
    shutil.copytree(seeded[0], cache_dir)
    return cache_dir


def _files(out: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(out).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()
    }


def test_entries_are_verified_on_read(tmp_path: Path) -> None:
    store = Cache(tmp_path)
    store.put("kind", key("a"), b"payload")
    assert store.get("kind", key("a")) == b"payload"
    entry = next(p for p in (tmp_path / "kind").rglob("*") if p.is_file())
    entry.write_bytes(entry.read_bytes()[:-3] + b"XYZ")  # corrupt the body
    assert store.get("kind", key("a")) is None
    entry.write_bytes(b"not a cache entry")
    assert store.get("kind", key("a")) is None
    assert Cache(None).get("kind", key("a")) is None


def test_keys_separate_their_parts() -> None:
    assert key("ab", "c") != key("a", "bc")
    assert key(b"x") == key("x")


def test_a_no_op_rebuild_touches_nothing(tmp_path: Path, warm_cache: Path) -> None:
    out = tmp_path / "out"
    build(BUNDLED, out)
    before = _files(out)
    again = build(BUNDLED, out)
    assert again.up_to_date and again.changed == []
    assert _files(out) == before


def test_a_damaged_output_is_rebuilt(tmp_path: Path, warm_cache: Path) -> None:
    out = tmp_path / "out"
    build(BUNDLED, out)
    good = (out / "memo.pdf").read_bytes()
    (out / "memo.pdf").write_bytes(b"damaged")
    result = build(BUNDLED, out)
    assert not result.up_to_date and result.changed == ["memo.pdf"]
    assert (out / "memo.pdf").read_bytes() == good


def test_corrupt_cache_entries_never_reach_the_outputs(
    tmp_path: Path, warm_cache: Path, seeded: tuple[Path, Path]
) -> None:
    reference = seeded[1]  # built from an empty cache: every stage computed
    entries = [entry for entry in warm_cache.rglob("*") if entry.is_file()]
    assert {e.parent.parent.name for e in entries} >= {"chart", "pdf"}
    for entry in entries:
        if entry.is_file():
            data = entry.read_bytes()
            entry.write_bytes(data[:-10] + b"0123456789")
    out = tmp_path / "out"
    result = build(BUNDLED, out)
    assert result.cache.hits == []  # nothing corrupt was used
    for name in ("memo.html", "memo.pdf", "figures.json", "site/assets/vega.js", "site/social.png"):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name


def test_one_input_edit_reuses_the_charts_it_does_not_touch(tmp_path: Path, warm_cache: Path) -> None:
    edited = build(BUNDLED, tmp_path / "second", overrides=["users.paid_earlier=100001"])
    # users.paid_earlier feeds the paid-growth figures: the charts that show them run again, the rest are reused
    assert edited.cache.hits.count("chart") >= 8
    assert "pdf" in edited.cache.misses
    plain = build(BUNDLED, tmp_path / "third", overrides=["users.paid_earlier=100001"], use_cache=False)
    for name in ("memo.html", "memo.pdf"):
        assert (tmp_path / "second" / name).read_bytes() == (tmp_path / "third" / name).read_bytes()
    assert plain.cache.hits == []


def test_no_cache_flag_bypasses_the_cache(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MEMO_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "memo", "build", "--assumptions", str(BUNDLED), "--out", str(tmp_path / "out")]
    cold, _, peak = run_measured([*command, "--no-cache"], ROOT, env, timeout=600)
    assert cold.returncode == 0, cold.stderr
    assert not (tmp_path / "cache").exists()
    assert peak < 1.5 * 2**30, f"the bundled build peaked at {peak / 2**20:.0f} MB"  # with its converter
    again = subprocess.run([*command, "--no-cache"], env=env, check=True, capture_output=True, text=True)
    assert "memo: pdf " in again.stdout and "no file changed" in again.stdout  # every stage ran, found the same bytes
