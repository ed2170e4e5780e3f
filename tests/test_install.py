"""A non-editable install works: the wheel carries the engine's own files, and ``memo build`` run inside a project
folder far from the checkout reads nothing from the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from memo.scaffold import starter_files
from tests.bundled import build
from tests.conftest import BUNDLED, ROOT

PROJECT_FILES = ("memo.yml", "model.yaml", "assumptions.yaml", "templates", "charts", "styles", "assets")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine as a wheel would install it: built from a copy of the sources, unpacked into its own folder."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "memo", source / "memo", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = work / "wheels"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = wheels.glob("memo-*.whl")
    site = work / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def test_the_wheel_carries_the_engines_files(installed: Path) -> None:
    engine = installed / "memo"
    for relative in ("assets/explorer.js", "assets/favicon.svg", "assets/vendor/vega-interpreter.js"):
        assert (engine / relative).read_bytes() == (ROOT / "memo" / relative).read_bytes(), relative
    assert {p.name for p in (engine / "templates").glob("*.j2")} >= {"head.html.j2", "review.html.j2"}
    assert sorted(
        p.relative_to(engine / "scaffold").as_posix() for p in (engine / "scaffold").rglob("*") if p.is_file()
    ) == sorted(starter_files())
    assert (engine / "review" / "sides.py").is_file()
    assert not list(installed.rglob("__pycache__"))


def test_memo_build_in_a_project_folder_uses_the_installed_engine(installed: Path, tmp_path: Path) -> None:
    project = tmp_path / "venice"
    project.mkdir()
    for name in PROJECT_FILES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, project / name)
    (tmp_path / "shared").symlink_to((ROOT.parent / "shared").resolve())  # the source folder memo.yml names
    env = {**os.environ, "PYTHONPATH": str(installed), "MEMO_CACHE_DIR": str(tmp_path / "cache")}
    where = subprocess.run(
        [sys.executable, "-c", "import memo; print(memo.__file__)"],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout + where.stderr
    result = subprocess.run(
        [sys.executable, "-m", "memo", "build"], env=env, cwd=project / "templates", capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    out = project / "build"
    assert f"memo: built {out} in " in result.stdout and (out / "memo.pdf").read_bytes()[:5] == b"%PDF-"
    reference = build(BUNDLED, tmp_path / "reference")
    assert reference.changed
    for name in ("memo.html", "figures.json", "site/index.html", "site/assets/explorer.js", "favicon.svg"):
        assert (out / name).read_bytes() == (tmp_path / "reference" / name).read_bytes(), name
