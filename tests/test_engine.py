"""The engine knows no subject; a project is found like git finds a repository; every project file is checked like
the assumptions, every problem at once, at its file, line and column."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from memo import cli, project
from memo.errors import InputError, MemoError
from tests.conftest import ROOT, line_col, memo

SUBJECT_WORDS = re.compile(r"venice|vvv|diem|openrouter", re.IGNORECASE)
ENGINE = ROOT / "memo"


def _engine_files() -> list[Path]:
    return [
        p
        for p in sorted(ENGINE.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".png", ".woff2", ".ttf"}
    ]


def test_the_engine_names_no_subject() -> None:
    """Nothing in memo/ (code, templates, assets, the starter project) names the bundled memo's subject or any of
    its inputs: they are the project's."""
    inputs = yaml.safe_load((ROOT / "model.yaml").read_text(encoding="utf-8"))["inputs"]
    names = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in inputs) + r")(?![\w])")
    found = []
    for path in _engine_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in [*SUBJECT_WORDS.finditer(line), *names.finditer(line)]:
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    assert not found, "\n".join(found)
    assert len(inputs) > 20 and len(_engine_files()) > 30  # the check looked at the real things


def test_the_subject_check_would_catch_a_mention(tmp_path: Path) -> None:
    line = "DEFAULT = 'users.conversion_rate'  # Venice"
    inputs = yaml.safe_load((ROOT / "model.yaml").read_text(encoding="utf-8"))["inputs"]
    assert SUBJECT_WORDS.search(line) and any(re.search(rf"(?<![\w.]){re.escape(n)}(?![\w])", line) for n in inputs)


# ------------------------------------------------------------------ finding the project


def test_a_project_is_found_from_any_folder_inside_it() -> None:
    assert project.find(ROOT / "templates" / "sections") == ROOT
    assert project.locate(None, ROOT / "charts") == ROOT


def test_outside_any_project_every_command_says_so_in_one_line(tmp_path: Path) -> None:
    for command in (["build"], ["check"], ["schema"], ["serve", "--port", "0"]):
        result = memo(*command, cwd=tmp_path, bundled=False)
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr.count("\n") == 1 and "no memo.yml in" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_check_runs_from_a_subfolder_and_with_project_from_elsewhere(tmp_path: Path) -> None:
    inside = memo("check", cwd=ROOT / "templates" / "sections")
    assert inside.returncode == 0, inside.stderr
    assert "figures" in inside.stdout
    elsewhere = memo("check", "--project", str(ROOT), cwd=tmp_path, bundled=False)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert inside.stdout.startswith(f"memo: {ROOT / 'assumptions.yaml'} is valid;"), inside.stdout
    assert elsewhere.stdout.startswith(f"memo: {ROOT / 'assumptions.yaml'} is valid;"), elsewhere.stdout
    assert inside.stdout.split(" is valid")[1] == elsewhere.stdout.split(" is valid")[1]


def test_project_names_a_folder_holding_the_project_file(tmp_path: Path) -> None:
    result = memo("check", "--project", str(tmp_path), cwd=tmp_path, bundled=False)
    assert result.returncode == 1
    assert result.stderr.strip() == f"memo: {tmp_path}: no memo.yml here (--project names the folder holding it)"


def test_every_command_takes_project() -> None:
    parser = cli._parser()
    for command in ("build", "check", "serve", "diff", "publish", "schema", "new"):
        args = parser.parse_args([command, "--project", "somewhere"])
        assert args.project == "somewhere", command


# ------------------------------------------------------------------ project files checked like the assumptions


def _copy_project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    for name in ("memo.yml", "model.yaml", "assumptions.yaml"):
        shutil.copy(ROOT / name, folder / name)
    for name in ("templates", "charts", "styles", "assets"):
        (folder / name).symlink_to(ROOT / name)
    return folder


def _problems(folder: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        project.load_project(folder)
    return str(caught.value).splitlines()


def test_model_and_project_file_errors_are_reported_together_with_positions(tmp_path: Path, monkeypatch) -> None:
    folder = _copy_project(tmp_path)
    monkeypatch.chdir(folder)
    model = (folder / "model.yaml").read_text(encoding="utf-8")
    model = model.replace('formula: "users.paid * subs.arppu_monthly"', 'formula: "users.paid * subs.arpu_monthly"')
    model = model.replace("subs.price_max: {unit: usd_per_month,", "subs.price_max: {unit: usd_per_mnth,")
    model = model.replace("  users.registered:\n    label:", "  users.registered:\n    colour: blue\n    label:", 1)
    (folder / "model.yaml").write_text(model, encoding="utf-8")
    settings = (folder / "memo.yml").read_text(encoding="utf-8")
    settings = settings.replace("tornado: [valuation.ps_forward]", "tornado: [valuation.ps_forwrd]")
    settings += "colour: blue\n"
    (folder / "memo.yml").write_text(settings, encoding="utf-8")

    problems = _problems(folder)
    line, col = line_col(model, '"users.paid * subs.arpu_monthly"')
    assert (
        f"model.yaml:{line}:{col}: error: figures.subs.mrr.formula: 'subs.arpu_monthly' is neither a figure nor an "
        "input (did you mean 'subs.arppu_monthly'?)"
    ) in problems
    line, col = line_col(model, "usd_per_mnth")
    assert (
        f"model.yaml:{line}:{col}: error: inputs.subs.price_max.unit: unknown unit text 'usd_per_mnth' "
        "(did you mean 'usd_per_month'?)"
    ) in problems
    line, col = line_col(model, "colour: blue")
    assert f"model.yaml:{line}:{col}: error: figures.users.registered.colour: unknown key 'colour'" in " ".join(
        problems
    )
    line, col = line_col(settings, "valuation.ps_forwrd")
    assert (
        f"memo.yml:{line}:{col}: error: tornado[0]: no figure named 'valuation.ps_forwrd' "
        "(did you mean 'valuation.ps_forward'?)"
    ) in problems
    line, col = line_col(settings, "colour: blue")
    assert any(p.startswith(f"memo.yml:{line}:{col}: error: colour: unknown key 'colour'") for p in problems)
    assert len(problems) == 5, problems


def test_a_circular_model_and_a_bad_card_figure_are_refused(tmp_path: Path, monkeypatch) -> None:
    folder = _copy_project(tmp_path)
    monkeypatch.chdir(folder)
    model = (folder / "model.yaml").read_text(encoding="utf-8")
    model = model.replace('formula: "subs.mrr * 12"', 'formula: "arr.current / 2"')
    (folder / "model.yaml").write_text(model, encoding="utf-8")
    settings = (folder / "memo.yml").read_text(encoding="utf-8").replace("figure: arr.forward}", "figure: arr.fwd}")
    (folder / "memo.yml").write_text(settings, encoding="utf-8")
    problems = _problems(folder)
    assert any("circular formulas: " in p and p.startswith("model.yaml:") for p in problems), problems
    assert any(p.startswith("memo.yml:") and "no figure named 'arr.fwd'" in p for p in problems), problems


def test_input_groups_and_units_are_the_projects(tmp_path: Path, monkeypatch) -> None:
    """An input group of another business is accepted once the model declares it; a unit of the project's own
    prints in its declared format."""
    from memo import format as fmt

    folder = _copy_project(tmp_path)
    monkeypatch.chdir(folder)
    model = (folder / "model.yaml").read_text(encoding="utf-8")
    model = model.replace(
        "\ninputs:\n",
        "\n  seats: {label: paid seats, format: count}\n\ninputs:\n  fleet.seats: {unit: seats, label: Seats}\n",
    )
    model += '  fleet.seats:\n    label: "Seats"\n    unit: seats\n    formula: "fleet.seats"\n'
    (folder / "model.yaml").write_text(model, encoding="utf-8")
    spec = project.load_project(folder).model
    assert "fleet" in spec.groups and spec.units["seats"].format == "count"
    assumptions = (folder / "assumptions.yaml").read_text(encoding="utf-8")
    missing = memo("check", cwd=folder)
    assert missing.returncode == 1 and "missing required key 'fleet'" in missing.stderr
    assumptions += "\nfleet:\n  seats: {value: 12500, unit: seats, estimate: true, note: A test value.}\n"
    (folder / "assumptions.yaml").write_text(assumptions, encoding="utf-8")
    ok = memo("check", cwd=folder)
    assert ok.returncode == 0, ok.stderr
    fmt.use_units(spec.units)
    assert fmt.by_unit(12500, "seats") == "12,500"


def test_a_content_file_with_a_duplicate_key_is_an_error_at_its_line(tmp_path: Path, monkeypatch) -> None:
    from memo import render

    monkeypatch.chdir(tmp_path)
    content = tmp_path / "templates" / "content"
    content.mkdir(parents=True)
    (content / "table.yaml").write_text("rows: 1\nnote: a\nrows: 2\n", encoding="utf-8")
    (content / "other.yaml").write_text("key: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        render.load_content(tmp_path / "templates")
    lines = str(caught.value).splitlines()
    assert (
        lines[0]
        == "templates/content/other.yaml:2:1: error: YAML syntax: while parsing a flow sequence "
        + (lines[0].split("while parsing a flow sequence ", 1)[1])
    )
    assert "templates/content/table.yaml:3:1: error: rows: duplicate key (first defined on line 1)" in lines


def test_an_empty_project_file_is_a_project_with_defaults(tmp_path: Path) -> None:
    folder = _copy_project(tmp_path)
    (folder / "memo.yml").write_text("", encoding="utf-8")
    loaded = project.load_project(folder)
    assert loaded.settings.tornado == () and loaded.settings.assumptions == "assumptions.yaml"
    with pytest.raises(MemoError):
        project.locate(tmp_path / "nowhere")
