"""figures.xlsx, the model as a live workbook: evaluated by an Excel formula engine (the ``formulas`` package), every
figure cell must be the figure of figures.json (1e-9 relative), on the Figures sheet and on each scenario's sheet;
an input edited in the engine must move exactly the figures the model says it moves, by what the model says; the
file is byte-identical when written again in another process.

The bundled memo is read from the session's one build (build/figures.xlsx beside its figures.json); the second
project, tests/projects/tollbridge, is rendered in this process (no PDF) and its workbook written from that.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import formulas
import openpyxl
import pytest

from memo import build as build_stage
from memo import excel, model, scenarios, validate, workbook
from memo.model import FigureDef, Spec
from memo.options import BuildOptions
from memo.project import load_project
from memo.schema import ENGINE_UNITS, InputSpec
from tests.bundled import BUNDLED, ROOT, read_inputs

TOLLBRIDGE = ROOT / "tests" / "projects" / "tollbridge"
REL = 1e-9


# ---------------------------------------------------------------- reading a workbook through the formula engine


@dataclass
class Sheet:
    title: str
    inputs: dict[str, int]  # input name -> row of its value cell (column C)
    figures: dict[str, int]  # figure name -> row
    values: dict[str, int]  # figures written as values (the analysis stage's), name -> row


class Evaluated:
    """A workbook loaded by openpyxl (its layout) and by the formula engine (its values)."""

    def __init__(self, path: Path) -> None:
        self.path, self.book = path, openpyxl.load_workbook(path)
        self.sheets = {title: _layout(self.book[title]) for title in self.book.sheetnames}
        self.engine = formulas.ExcelModel().loads(str(path)).finish()
        self.solution = self.engine.calculate()

    def key(self, sheet: str, row: int) -> str:
        return f"'[{self.path.name}]{sheet.upper()}'!C{row}"

    def value(self, sheet: str, row: int, solution: Mapping[str, Any] | None = None) -> float:
        cell = (solution or self.solution)[self.key(sheet, row)]
        return float(cell.value[0][0]) if hasattr(cell, "value") else float(cell)

    def recalculate(self, sheet: str, row: int, value: float) -> Mapping[str, Any]:
        return self.engine.calculate(inputs={self.key(sheet, row): value})


def _layout(ws: Any) -> Sheet:
    """Where each input and figure sits: rows under the header (base sheets) or under the Inputs / Figures
    section rows (scenario sheets); the analysis section's rows are values."""
    if ws.title == workbook.INPUTS:
        section = "inputs"
    elif ws.title == workbook.FIGURES:
        section = "figures"
    else:
        section = None
    sheet = Sheet(ws.title, {}, {}, {})
    for row in ws.iter_rows(min_row=2):
        name = row[0].value
        if name in (workbook.INPUTS, workbook.FIGURES):
            section = name.lower()
        elif name == workbook.ANALYSIS_SECTION:
            section = "values"
        elif name and section is not None and name != "name":
            getattr(sheet, section)[name] = row[0].row
    return sheet


def _as_model(value: float, unit: str) -> float:
    """A cell's number as memo's: a date cell holds Excel's serial."""
    return value + excel.DATE_OFFSET if unit == "date" else value


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(abs(a), abs(b)) or a == b


def _mismatches(book: Evaluated, payload: Mapping[str, Any]) -> tuple[list[str], int]:
    """Every figure cell against figures.json: the base figures, the analysis' values and each scenario's."""
    figures, bad, seen = payload["figures"], [], 0
    scenario_of = {workbook._scenario_title(name): name for name in payload["scenarios"]}
    for title, sheet in book.sheets.items():
        prefix = f"scenario.{scenario_of[title]}." if title in scenario_of else ""
        for name, row in {**sheet.figures, **sheet.values}.items() if title != workbook.INPUTS else ():
            expected = figures[prefix + name]
            got = _as_model(book.value(title, row), expected["unit"])
            seen += 1
            if not _close(got, expected["value"]):
                bad.append(f"{title}!C{row} {name}: {got!r} != {expected['value']!r}")
    return bad, seen


# ---------------------------------------------------------------- the two projects


@pytest.fixture(scope="module")
def bundled(bundled_build: Path) -> tuple[Evaluated, dict[str, Any]]:
    return Evaluated(bundled_build / "figures.xlsx"), json.loads((bundled_build / "figures.json").read_text())


@pytest.fixture(scope="module")
def tollbridge(tmp_path_factory: pytest.TempPathFactory) -> tuple[Evaluated, build_stage.RenderedMemo]:
    project = load_project(TOLLBRIDGE)
    options = BuildOptions.of(TOLLBRIDGE / "assumptions.yaml", tmp_path_factory.mktemp("toll") / "build", project)
    memo = build_stage.render_memo(options)
    path = tmp_path_factory.mktemp("toll-xlsx") / "figures.xlsx"
    path.write_bytes(workbook.of_build(memo))
    return Evaluated(path), memo


def _payload_of(memo: build_stage.RenderedMemo) -> dict[str, Any]:
    figures = {n: {"value": f.value, "unit": f.unit} for n, f in memo.document.figures.items()}
    return {"figures": figures, "scenarios": dict(memo.assumptions.scenarios)}


# ---------------------------------------------------------------- tests


def test_every_build_writes_the_workbook_and_the_site_links_it(bundled_build: Path) -> None:
    data = (bundled_build / "figures.xlsx").read_bytes()
    assert data[:2] == b"PK"
    assert (bundled_build / "site" / "figures.xlsx").read_bytes() == data
    index = (bundled_build / "site" / "index.html").read_text(encoding="utf-8")
    assert 'href="figures.xlsx"' in index and 'href="figures.csv"' in index


def test_bundled_figures_match_figures_json(bundled: tuple[Evaluated, dict[str, Any]]) -> None:
    book, payload = bundled
    bad, seen = _mismatches(book, payload)
    assert bad == []
    # every figure of figures.json is a cell: the base ones, the analysis' values and every scenario's
    assert seen == len(payload["figures"])
    assert list(book.book.sheetnames) == ["Inputs", "Figures", "Bear scenario", "Base scenario", "Bull scenario"]
    figures_sheet = book.book[workbook.FIGURES]
    for name, row in book.sheets[workbook.FIGURES].figures.items():
        assert str(figures_sheet[f"C{row}"].value).startswith("="), f"{name} is not a formula"
    values = book.sheets[workbook.FIGURES].values
    assert values and all(name.startswith("uncertainty.") for name in values)
    assert all(not str(figures_sheet[f"C{row}"].value).startswith("=") for row in values.values())


def test_each_formula_cell_carries_the_models_result(bundled: tuple[Evaluated, dict[str, Any]]) -> None:
    """For readers that show the file without calculating (previewers, openpyxl's data_only, pandas)."""
    book, payload = bundled
    cached = openpyxl.load_workbook(book.path, data_only=True)
    for title in book.book.sheetnames[1:]:
        prefix = "" if title == workbook.FIGURES else f"scenario.{title.removesuffix(' scenario').lower()}."
        for name, row in book.sheets[title].figures.items():
            expected = payload["figures"][prefix + name]
            value = cached[title][f"C{row}"].value
            assert isinstance(value, int | float), f"{title} {name}: no cached value"
            assert _close(_as_model(value, expected["unit"]), expected["value"]), f"{title} {name}"


def test_tollbridge_figures_match_its_model(tollbridge: tuple[Evaluated, build_stage.RenderedMemo]) -> None:
    book, memo = tollbridge
    payload = _payload_of(memo)
    bad, seen = _mismatches(book, payload)
    assert bad == []
    assert seen == len(payload["figures"])
    assert [t for t in book.book.sheetnames[2:]] == ["Recession scenario", "Toll rise scenario"]
    # the power with a negative, variable exponent: its base is 1 + a positive coupon, so no 0 ** 0 guard
    row = book.sheets[workbook.FIGURES].figures["bond.debt_service"]
    assert book.book[workbook.FIGURES][f"C{row}"].value == (
        "=fig_bond_principal*in_bond_coupon/(1-(1+in_bond_coupon)^(-in_bond_term))"
    )


def test_a_build_for_a_scenario_with_an_edit(tmp_path: Path) -> None:
    """Built with --scenario and --set: the Inputs sheet is the build's inputs (the scenario's replacements made
    the inputs), every scenario sheet still runs from the inputs before --scenario, as figures.json says."""
    project = load_project(TOLLBRIDGE)
    options = BuildOptions.of(
        TOLLBRIDGE / "assumptions.yaml", tmp_path / "build", project,
        scenario="toll_rise", overrides=("tolls.collection_rate=0.95",),
    )  # fmt: skip
    memo = build_stage.render_memo(options)
    path = tmp_path / "figures.xlsx"
    path.write_bytes(workbook.of_build(memo))
    book = Evaluated(path)
    bad, seen = _mismatches(book, _payload_of(memo))
    assert bad == [] and seen == len(memo.document.figures)
    inputs, rows = book.book[workbook.INPUTS], book.sheets[workbook.INPUTS].inputs
    assert inputs[f"C{rows['tolls.car_toll']}"].value == 5.25  # the scenario's
    assert inputs[f"C{rows['tolls.collection_rate']}"].value == 0.95  # --set
    recession = book.book["Recession scenario"]
    row = book.sheets["Recession scenario"].inputs["tolls.car_toll"]
    assert recession[f"C{row}"].value == memo.inputs.assumptions.inputs["tolls.car_toll"].number  # not 5.25
    row = book.sheets["Recession scenario"].inputs["bond.coupon"]
    assert recession[f"C{row}"].value == f"=Inputs!$C${rows['bond.coupon']}"  # the same in both: linked


def _values(memo_inputs: Mapping[str, validate.Input]) -> dict[str, float]:
    return {name: item.number for name, item in memo_inputs.items()}


@pytest.mark.parametrize(
    ("edited", "to"),
    [("tolls.collection_rate", 0.9), ("bond.coupon", 0.061), ("traffic.truck_share", 0.2)],
)
def test_an_edited_input_moves_what_the_model_says(
    tollbridge: tuple[Evaluated, build_stage.RenderedMemo], edited: str, to: float
) -> None:
    book, memo = tollbridge
    solution = book.recalculate(workbook.INPUTS, book.sheets[workbook.INPUTS].inputs[edited], to)
    _check_edit(book, memo.assumptions, edited, to, solution)


def test_an_edited_date_and_a_ranged_input_move_the_bundled_figures(
    bundled: tuple[Evaluated, dict[str, Any]],
) -> None:
    book, _ = bundled
    assumptions = read_inputs(BUNDLED).assumptions
    rows = book.sheets[workbook.INPUTS].inputs
    # a date: the analyst types a date (Excel's serial); the model reads its day number
    end = dt.date(2026, 5, 31)
    solution = book.recalculate(workbook.INPUTS, rows["revenue.ytd_end"], end.toordinal() - excel.DATE_OFFSET)
    moved = _check_edit(book, assumptions, "revenue.ytd_end", float(end.toordinal()), solution)
    assert moved == {"revenue.ytd_at_current_run_rate"}
    solution = book.recalculate(workbook.INPUTS, rows["users.conversion_rate"], 0.07)
    moved = _check_edit(book, assumptions, "users.conversion_rate", 0.07, solution)
    assert {"users.paid", "arr.current", "valuation.ps_forward"} <= moved


def _check_edit(
    book: Evaluated,
    assumptions: validate.Assumptions,
    edited: str,
    to: float,
    solution: Mapping[str, Any],
) -> set[str]:
    """Every figure cell after the edit against the model run with the input changed, in process: the base sheet
    and every scenario sheet (a scenario keeps the base's value of an input it does not replace). Returns the base
    figures that moved; those that do not rest on the input must not have."""
    assert assumptions.model is not None
    definitions = assumptions.model.figures
    units = {d.name: d.unit for d in definitions}
    inputs_of = {d.name: d.expression.names for d in definitions}
    rests_on = {d.name for d in definitions if edited in model.reach(inputs_of, d.name)}
    base = _values(assumptions.inputs)
    cases = {workbook.FIGURES: {}}
    for name, scenario in assumptions.scenarios.items():
        cases[workbook._scenario_title(name)] = scenario.overrides
    moved: set[str] = set()
    for title, overrides in cases.items():
        expected = model.evaluate(base | {edited: to} | overrides, definitions=definitions)
        before = model.evaluate(base | overrides, definitions=definitions)
        for name, row in book.sheets[title].figures.items():
            unit = units[name]
            got = _as_model(book.value(title, row, solution), unit)
            assert _close(got, float(expected[name])), f"{title} {name}: {got} != {float(expected[name])}"
            was = _as_model(book.value(title, row), unit)
            if name not in rests_on:
                assert got == was, f"{title} {name} moved but does not rest on {edited}"
            elif title == workbook.FIGURES and float(expected[name]) != float(before[name]):
                assert got != was
                moved.add(name)
    assert moved, f"no figure moved when {edited} changed"
    return moved


def test_number_formats_show_what_the_memo_shows(bundled: tuple[Evaluated, dict[str, Any]]) -> None:
    book, payload = bundled
    figures, inputs = book.book[workbook.FIGURES], book.book[workbook.INPUTS]
    rows, input_rows = book.sheets[workbook.FIGURES].figures, book.sheets[workbook.INPUTS].inputs
    formats = {name: figures[f"C{row}"].number_format for name, row in rows.items()}
    assert formats["valuation.ps_forward"] == '0.0"x";-0.0"x"'  # 2.6x
    assert formats["arr.forward"] == '$#,##0,,"M";-$#,##0,,"M"'  # $660M-style: millions, the memo's digits
    assert formats["valuation.fdv"] == '$#,##0.00,,,"B";-$#,##0.00,,,"B"'  # $1.12B-style
    assert formats["market.share_of_privacy_segment"] == "0.00%;-0.00%"  # under 1 %: two decimals, as the memo
    assert formats["market.forecast_year"] == "0"
    assert formats["usage.tokens_per_day_growth"].startswith('0.0"x"')
    date_cell = inputs[f"C{input_rows['users.registered_date']}"]
    assert date_cell.number_format == "d mmmm yyyy"
    assert date_cell.value == dt.datetime.fromisoformat(payload["inputs"]["users.registered_date"]["value"])
    assert inputs[f"C{input_rows['subs.arppu_monthly']}"].number_format == "$#,##0.00;-$#,##0.00"


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (660e6, "money", '$#,##0,,"M"'),
        (1.12e9, "money", '$#,##0.00,,,"B"'),
        (18.5, "money", "$#,##0.00"),
        (14, "money", "$#,##0"),
        (200e3, "money", '$#,##0,"K"'),
        (2.5e15, "money", "$0.0E+00"),
        (150_000, "count", "#,##0"),
        (3.0e6, "count", '#,##0.0,,"M"'),
        (60e9, "count", '#,##0,,,"B"'),
        (0.3, "percent", "0%"),
        (0.075, "percent", "0.0%"),
        (0.0039, "percent", "0.00%"),
        (-0.2, "percent", "0%"),
        (0.75, "ratio", '0.00":1"'),
        (11.3, "multiple", '0.0"x"'),
        (58.3, "plain", "#,##0.0"),
    ],
)
def test_number_format_per_kind(value: float, kind: str, expected: str) -> None:
    assert excel.number_format(value, kind) == f"{expected};-{expected}"


# ---------------------------------------------------------------- the whole formula language, names like cells


def _spec_and_assumptions(
    inputs: Mapping[str, tuple[str, float]], figures: Mapping[str, str], scenarios_: Mapping[str, dict[str, float]]
) -> tuple[Spec, validate.Assumptions]:
    spec = Spec(
        units=ENGINE_UNITS,
        inputs={n: InputSpec(n, unit, f"input {n}", positive=v > 0) for n, (unit, v) in inputs.items()},
        figures=tuple(FigureDef(n, f"=HYPERLINK(\"x\") {n}" if i == 0 else n, "number", f) for i, (n, f) in enumerate(figures.items())),
    )  # fmt: skip
    items = {
        n: validate.Input(n, unit, dt.date.fromordinal(int(v)) if unit == "date" else v)
        for n, (unit, v) in inputs.items()
    }
    meta = validate.MemoMeta("A test memo", "Tester", dt.date(2026, 5, 16), "None.")
    found = {n: validate.Scenario(n, f"the {n} case", dict(s)) for n, s in scenarios_.items()}
    return spec, validate.Assumptions(meta, {}, items, (), found, model=spec)


LANGUAGE = {
    "abc1.r1c1": "a1.b2 * 2",  # names that read like cells (A1, R1C1, XFD1)
    "xfd1.c3": "-a1.b2 ** 2 + (-a1.b2) ** 2 - a1.b2 ** 3 ** 0.5",  # unary minus below **, ** to the right
    "logic.cmp": "(a1.b2 < r2c2.x) + (a1.b2 <= 2) * 10 + (a1.b2 > 1) * 100 + (a1.b2 >= 3) + (a1.b2 == 2) + (a1.b2 != 2)",
    "logic.chain": "1 < a1.b2 < r2c2.x < 10",
    "logic.bool": "(a1.b2 > 1 and r2c2.x > 1) + (a1.b2 > 5 or r2c2.x > 5) * 2 + (not a1.b2 > 5) * 4 + (not zero.v) * 8",
    "logic.bare": "a1.b2 < r2c2.x",  # a condition as a figure's value: 1 or 0
    "logic.minmax": "min(a1.b2 > 1, 0.5) + max(a1.b2, r2c2.x) + abs(zero.v - a1.b2) + min(-a1.b2, +r2c2.x)",
    "power.zero": "zero.v ** zero.v + a1.b2 ** (r2c2.x - r2c2.x)",  # 0 ** 0 is 1 in the model: guarded
    "power.neg": "r2c2.x ** -a1.b2 + 2 ** -1 + 1e-3 * 2.5e3",
    "order.sub": "r2c2.x - (a1.b2 - zero.v) - a1.b2 / (r2c2.x / 4) + +a1.b2",
    "dates.span": "(d1.end - d1.start) / 7 + logic.bare * abc1.r1c1",  # a figure reading other figures and dates
    "inf.literal": "min(1e999, a1.b2)",  # infinity has no Excel form: written as the value
    "power.deep": "zero.v ** (" * 12 + "zero.v" + ")" * 12,  # each guard repeats its exponent: too long for Excel
}
AS_VALUES = {"inf.literal", "power.deep"}
LANGUAGE_INPUTS = {
    "a1.b2": ("number", 2.0),
    "r2c2.x": ("number", 5.0),
    "zero.v": ("number", 0.0),
    "d1.start": ("date", float(dt.date(2026, 1, 1).toordinal())),
    "d1.end": ("date", float(dt.date(2026, 5, 16).toordinal())),
}


@pytest.fixture(scope="module")
def language(tmp_path_factory: pytest.TempPathFactory) -> tuple[Evaluated, Spec, validate.Assumptions]:
    spec, assumptions = _spec_and_assumptions(LANGUAGE_INPUTS, LANGUAGE, {"up": {"a1.b2": 3.0}})
    from memo.inputs import quantities

    figures = model.compute(quantities(assumptions), spec.figures)
    per_scenario = scenarios.run_scenarios(quantities(assumptions), assumptions.scenarios, spec.figures)
    path = tmp_path_factory.mktemp("language") / "figures.xlsx"
    path.write_bytes(workbook.workbook(assumptions, figures, None, per_scenario, {}))
    return Evaluated(path), spec, assumptions


def test_every_construct_of_the_formula_language_computes_as_the_model(language) -> None:
    book, spec, assumptions = language
    from memo.inputs import quantities

    for title, overrides in ((workbook.FIGURES, {}), ("Up scenario", {"a1.b2": 3.0})):
        expected = model.evaluate(_values(assumptions.inputs) | overrides, definitions=spec.figures)
        for name in LANGUAGE:
            got = book.value(title, book.sheets[title].figures[name])
            assert _close(got, float(expected[name])), f"{title} {name}: {got} != {float(expected[name])}"
    figures = model.compute(quantities(assumptions), spec.figures)
    assert figures["power.zero"].value == 2.0 and figures["logic.chain"].value == 1.0  # the cases are live
    sheet, rows = book.book[workbook.FIGURES], book.sheets[workbook.FIGURES].figures
    formula = {name: sheet[f"C{rows[name]}"].value for name in LANGUAGE}
    assert formula["abc1.r1c1"] == "=in_a1_b2*2"
    assert formula["xfd1.c3"] == "=-(in_a1_b2^2)+(-in_a1_b2)^2-in_a1_b2^(3^0.5)"
    assert formula["logic.chain"] == "=AND(1<in_a1_b2,in_a1_b2<in_r2c2_x,in_r2c2_x<10)*1"
    assert formula["logic.bare"] == "=(in_a1_b2<in_r2c2_x)*1"
    assert formula["power.zero"] == "=IF(in_zero_v=0,1,in_zero_v^in_zero_v)+in_a1_b2^(in_r2c2_x-in_r2c2_x)"
    # the one untranslatable formula: its value, marked as such
    cell = sheet[f"C{rows['inf.literal']}"]
    assert cell.value == 2 and "not a formula" in cell.comment.text and "infinity" in cell.comment.text
    cell = sheet[f"C{rows['power.deep']}"]
    assert cell.value == figures["power.deep"].value and "8,192" in cell.comment.text
    assert all(str(formula[name]).startswith("=") for name in LANGUAGE if name not in AS_VALUES)
    # a label that starts with "=" is text, not a formula
    assert sheet[f"B{rows['abc1.r1c1']}"].data_type == "s"
    assert sheet[f"B{rows['abc1.r1c1']}"].value.startswith("=HYPERLINK")
    names = book.book.defined_names
    assert {"in_a1_b2", "in_r2c2_x", "fig_abc1_r1c1", "fig_xfd1_c3"} <= set(names)
    assert names["in_d1_end"].attr_text == f"Inputs!$C${book.sheets['Inputs'].inputs['d1.end']}+{excel.DATE_OFFSET}"


def test_an_edit_moves_a_cell_like_name(language) -> None:
    book, spec, assumptions = language
    solution = book.recalculate(workbook.INPUTS, book.sheets[workbook.INPUTS].inputs["r2c2.x"], 7.0)
    expected = model.evaluate(_values(assumptions.inputs) | {"r2c2.x": 7.0}, definitions=spec.figures)
    for name, row in book.sheets[workbook.FIGURES].figures.items():
        if name in AS_VALUES:
            continue
        assert _close(book.value(workbook.FIGURES, row, solution), float(expected[name])), name
    assert book.value(workbook.FIGURES, book.sheets["Figures"].figures["abc1.r1c1"], solution) == 4.0  # unmoved


# ---------------------------------------------------------------- same inputs, same bytes

_WRITE = """
import sys
from memo import workbook
from tests.bundled import BUNDLED, render_memo
sys.stdout.buffer.write(workbook.of_build(render_memo(BUNDLED)))
"""


def test_byte_identical_when_written_again_in_another_process(bundled_build: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"}
    again = subprocess.run(
        [sys.executable, "-c", _WRITE], cwd=ROOT, env=env, capture_output=True, check=True, timeout=300
    ).stdout
    data = (bundled_build / "figures.xlsx").read_bytes()
    assert again == data
    with zipfile.ZipFile(bundled_build / "figures.xlsx") as archive:
        assert {info.date_time for info in archive.infolist()} == {(2026, 5, 16, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2026-05-16T00:00:00Z" in core and core.count("2026-05-16T00:00:00Z") == 2


@pytest.mark.parametrize("empty", [b"<v/>", b"<v />", b"<v></v>"])
def test_a_formula_cell_gets_its_cached_value_however_its_empty_value_was_written(empty: bytes) -> None:
    xml = b'<row r="2"><c r="C2" s="24"><f>in_users</f>' + empty + b'</c><c r="D2"><f>x</f>' + empty + b"</c></row>"
    filled = workbook._with_results(xml, {"C2": 3000000})
    assert (
        filled
        == b'<row r="2"><c r="C2" s="24"><f>in_users</f><v>3000000</v></c><c r="D2"><f>x</f>' + empty + b"</c></row>"
    )
