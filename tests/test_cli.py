"""The CLI end to end, as a user runs it, in a temporary directory."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import BUNDLED, ROOT, memo


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(BUNDLED, tmp_path / "assumptions.yaml")
    return tmp_path


def test_build_writes_figures_json(project: Path) -> None:
    result = memo("build", "-v", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "memo: wrote build/figures.json" in result.stdout.splitlines()
    data = json.loads((project / "build" / "figures.json").read_text())
    ps = data["figures"]["valuation.ps_forward"]
    assert set(ps) >= {"value", "unit", "low", "high", "formula", "inputs", "label"}
    assert ps["inputs"] == ["valuation.market_cap", "arr.forward"]
    assert ps["formula"] == "valuation.market_cap / arr.forward"
    assert data["inputs"]["users.conversion_rate"]["source"]["ref"] == "vvv-analysis"
    assert data["inputs"]["growth.new_sub_arr_week2"]["estimate"] is True
    assert len(data["build"]["inputs_sha256"]) == 64
    assert data["build"]["versions"]["weasyprint"] == "70.0"
    assert {c["figure"] for c in data["source_checks"] if not c["holds"]} >= {"growth.acceleration"}


REQUIRED_FIGURES = [
    "users.registered",
    "users.paid",
    "users.paid_growth",
    "subs.arppu_monthly",
    "subs.mrr",
    "subs.arr",
    "api.arr",
    "arr.current",
    "growth.weekly_new_sub_arr_first",
    "growth.weekly_new_sub_arr_last",
    "growth.acceleration",
    "growth.annualized_new_sub_arr",
    "growth.annualized_new_total_arr",
    "growth.base_new_arr",
    "arr.forward",
    "revenue.next_12m",
    "valuation.market_cap",
    "valuation.fdv",
    "valuation.ps_current",
    "valuation.fdv_ps_current",
    "valuation.ps_forward",
    "valuation.fdv_ps_forward",
    "peers.openrouter_ps",
    "market.inference_2027",
    "market.privacy_segment",
    "market.share_of_privacy_segment",
    "token.price",
    "token.circulating_supply",
    "token.fully_diluted_supply",
    "usage.tokens_per_day_growth",
]


def test_figures_contract_names(project: Path) -> None:
    assert memo("build", "--out", "out", cwd=project).returncode == 0
    figures = json.loads((project / "out" / "figures.json").read_text())["figures"]
    assert [name for name in REQUIRED_FIGURES if name not in figures] == []
    for name in ("market.inference_2027", "market.privacy_segment", "market.share_of_privacy_segment"):
        assert figures[name]["low"] < figures[name]["value"] < figures[name]["high"]


def test_rebuild_is_byte_identical_and_leaves_the_file_alone(project: Path) -> None:
    assert memo("build", cwd=project).returncode == 0
    target = project / "build" / "figures.json"
    first, mtime = target.read_bytes(), target.stat().st_mtime_ns
    again = memo("build", cwd=project)
    assert again.returncode == 0 and "build is up to date" in again.stdout
    assert target.read_bytes() == first and target.stat().st_mtime_ns == mtime


def test_timings_name_each_stage_in_order(project: Path) -> None:
    result = memo("build", "--timings", cwd=project)
    assert result.returncode == 0, result.stderr
    stages = re.findall(r"memo: timing: (.+) done at ([\d.]+) s", result.stderr)
    assert [stage for stage, _ in stages] == ["load and validate", "compute", "charts", "html", "pdf", "site", "write"]
    seconds = [float(at) for _, at in stages]
    assert seconds == sorted(seconds) and seconds[-1] > 0


def test_set_overrides_one_input(project: Path) -> None:
    assert memo("build", "--set", "users.conversion_rate=0.06", cwd=project).returncode == 0
    figures = json.loads((project / "build" / "figures.json").read_text())["figures"]
    assert figures["users.paid"]["value"] == pytest.approx(180_000)


def test_bad_input_exits_1_without_traceback_and_keeps_the_previous_build(project: Path) -> None:
    assert memo("build", cwd=project).returncode == 0
    good = (project / "build" / "figures.json").read_bytes()
    path = project / "assumptions.yaml"
    path.write_text(path.read_text().replace("    high: 0.15\n", "    high: 1.5\n"))
    result = memo("build", cwd=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "assumptions.yaml:" in result.stderr
        and "market.privacy_share.high: must be between 0 and 1, got 1.5" in result.stderr
    )
    assert (project / "build" / "figures.json").read_bytes() == good
    assert not [p.name for p in (project / "build").iterdir() if p.name.startswith(".staging")]


def test_model_failure_exits_1(project: Path) -> None:
    result = memo("build", "--set", "token.price=1e-320", cwd=project)  # above 0, as it must be, yet too small
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "token.circulating_supply" in result.stderr and "is not a finite number" in result.stderr


@pytest.mark.parametrize("args", [("build", "--bogus"), ("frobnicate",), ("build", "--set", "no-equals-sign"), ()])
def test_usage_errors_exit_2(project: Path, args: tuple[str, ...]) -> None:
    result = memo(*args, cwd=project)
    assert result.returncode == 2
    assert "usage: memo" in result.stderr


def test_missing_assumptions_file(tmp_path: Path) -> None:
    result = memo("build", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "assumptions.yaml:1:1: error: no such file"


def test_help_and_version(tmp_path: Path) -> None:
    assert "build" in memo("--help", cwd=tmp_path).stdout
    assert memo("--version", cwd=tmp_path).stdout.startswith("memo ")


def test_schema_reference_is_current() -> None:
    result = memo("schema", cwd=ROOT)
    assert result.returncode == 0
    committed = (ROOT / "docs" / "assumptions.md").read_text(encoding="utf-8")
    assert result.stdout == committed, "run: memo schema > docs/assumptions.md"


def test_project_file_reference_is_current() -> None:
    result = memo("schema", "project", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    committed = (ROOT / "docs" / "project.md").read_text(encoding="utf-8")
    assert result.stdout == committed, "run: memo schema project > docs/project.md"
