"""``memo new DIR``: a starter project that builds and checks with no edit, and never writes over anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from memo.pdf import for_print
from memo.scaffold import starter_files
from tests.conftest import memo
from tests.test_htmltree import same_as_html5


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("new")
    result = memo("new", "memo-of-mine", cwd=where, bundled=False)
    assert result.returncode == 0, result.stderr
    assert "created a memo project in memo-of-mine" in result.stdout
    return where / "memo-of-mine"


def test_it_writes_the_whole_starter_project(starter: Path) -> None:
    files = starter_files()
    assert {"memo.yml", "model.yaml", "assumptions.yaml", "templates/memo.html.j2", "styles/memo.css"} <= set(files)
    for relative, data in files.items():
        assert (starter / relative).read_bytes() == data, relative


def test_the_starter_shows_every_feature_in_small(starter: Path) -> None:
    model = yaml.safe_load((starter / "model.yaml").read_text(encoding="utf-8"))
    assumptions = yaml.safe_load((starter / "assumptions.yaml").read_text(encoding="utf-8"))
    assert 8 <= len(model["inputs"]) <= 12 and 10 <= len(model["figures"]) <= 20
    assert model.get("units"), "the starter declares a unit of its own"
    entries = [entry for group in {n.split(".")[0] for n in model["inputs"]} for entry in assumptions[group].values()]
    assert any(e.get("estimate") for e in entries) and sum("source" in e for e in entries) >= len(entries) - 2
    assert any("low" in e for e in entries)
    assert {"bear", "bull"} <= set(assumptions["scenarios"])
    assert assumptions["sensitivity"] and len(assumptions["claims"]) >= 2
    assert len(list((starter / "charts").glob("*.py"))) == 2
    assert len(list((starter / "templates" / "sections").glob("*.j2"))) == 3


def test_it_checks_with_no_warning(starter: Path) -> None:
    result = memo("check", cwd=starter)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and "is valid" in result.stdout


def test_it_builds_with_no_edit(starter: Path) -> None:
    result = memo("build", cwd=starter / "charts")  # from inside the project, as git works from any folder in it
    assert result.returncode == 0, result.stderr
    out = starter / "build"
    data = json.loads((out / "figures.json").read_text(encoding="utf-8"))
    assert data["units"] and data["charts"] and len(data["claims"]) >= 2
    assert (out / "memo.pdf").read_bytes()[:5] == b"%PDF-" and (out / "site" / "index.html").is_file()
    assert same_as_html5(for_print((out / "memo.html").read_text(encoding="utf-8")))  # the PDF's fast parse
    again = memo("build", cwd=starter)
    assert again.returncode == 0 and "is up to date" in again.stdout


@pytest.mark.parametrize("kind", ["file", "non-empty folder"])
def test_it_refuses_to_write_over_anything(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "taken"
    if kind == "file":
        target.write_text("mine")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    result = memo("new", str(target), cwd=tmp_path, bundled=False)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "memo new:" in result.stderr and "Traceback" not in result.stderr
    assert (target.read_text() if kind == "file" else (target / "notes.txt").read_text()) == "mine"
    assert kind == "file" or sorted(p.name for p in target.iterdir()) == ["notes.txt"]
