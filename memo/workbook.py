"""The model as a live workbook, ``figures.xlsx``: the inputs, and every figure as an Excel formula over them.

Sheets: **Inputs** (one row per input; its value cell is the one to edit), **Figures** (each figure's value is
its formula translated by :mod:`memo.excel`, over the inputs' and other figures' defined names, so an edit to an
input recomputes every figure as the memo would), then one sheet per scenario (its inputs, with the scenario's
replacements, and its figures as formulas over that sheet's inputs). Figures the analysis stage computes (the
Monte Carlo percentiles) have no formula: they are values, in a section of the Figures sheet that says so.

Every input and figure has a workbook-level defined name, ``in_`` or ``fig_`` and its key with the dots as
underscores (``in_customers_active``, ``fig_revenue_forward``): the prefix keeps a name from reading as a cell
(``abc1``, ``r1c1``) and apart from a figure of the same key. A date cell holds Excel's day serial and shows as a
date; its name means memo's day number (the serial plus :data:`memo.excel.DATE_OFFSET`), so the formulas are the
model's. Same inputs, same bytes: the document's dates are the memo's as-of date and the zip entries' times too.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from memo import excel, expr
from memo.model import Figure, FigureDef, Spec
from memo.validate import Assumptions, Input

if TYPE_CHECKING:
    from memo.build import RenderedMemo

INPUTS, FIGURES = "Inputs", "Figures"
INPUT_COLUMNS = ("name", "label", "value", "low", "high", "unit", "source", "note")
FIGURE_COLUMNS = ("name", "label", "value", "unit", "formula in the memo", "note")
SCENARIO_COLUMNS = FIGURE_COLUMNS
VALUE_COLUMN = "C"  # on every sheet
ANALYSIS_SECTION = (
    "Computed by the analysis stage, not by a formula: values from this build, which do not recompute "
    "when an input is edited"
)

_BOLD = Font(bold=True)
_EDIT = PatternFill("solid", fgColor="FFF2CC")  # the cells an analyst edits
_EDIT_FONT = Font(color="0000CC")
_VALUE_FONT = Font(italic=True, color="666666")  # values that do not recompute
_WIDTHS = {"A": 38, "B": 56, "C": 16, "D": 16, "E": 16, "F": 18, "G": 48, "H": 60}
_SHEET_TITLE = re.compile(r"[\[\]:*?/\\]")


def of_build(memo: RenderedMemo) -> bytes:
    """The workbook of a build: its inputs and figures, each scenario as ``memo`` ran it, the analysis' values."""
    scenario_figures = memo.analysis.scenario_figures
    scoped = tuple(f"scenario.{name}." for name in scenario_figures)
    extra = {n: f for n, f in memo.analysis.extra_figures.items() if not n.startswith(scoped)}
    return workbook(memo.assumptions, memo.figures, memo.inputs.assumptions, scenario_figures, extra)


def workbook(
    assumptions: Assumptions,
    figures: Mapping[str, Figure],
    before_scenario: Assumptions | None = None,
    scenario_figures: Mapping[str, Mapping[str, Figure]] | None = None,
    extra: Mapping[str, Figure] | None = None,
) -> bytes:
    """``figures.xlsx`` for these inputs and figures. ``before_scenario`` is the inputs before ``--scenario``
    (from which every scenario runs); ``scenario_figures`` each scenario's figures, for each cell's number format
    and cached result; ``extra`` the figures the analysis stage computed (written as values)."""
    spec = assumptions.model
    assert spec is not None, "assumptions are validated against the project's model"
    book = _Book(spec, assumptions)
    book.inputs_sheet()
    book.figures_sheet(figures, extra or {})
    base = before_scenario or assumptions
    for name, scenario in assumptions.scenarios.items():
        book.scenario_sheet(name, scenario.rationale, scenario.overrides, base, (scenario_figures or {}).get(name))
    return _deterministic(book.wb, assumptions.memo.as_of, book.results)


@dataclass(frozen=True)
class _Cell:
    ref: str  # "C5" on its own sheet
    is_date: bool

    @property
    def row(self) -> int:
        return int(self.ref[1:])

    def on(self, sheet: str) -> str:
        """The cell as another sheet (or a defined name) refers to it: Inputs!$C$5."""
        return f"{sheet}!${self.ref[0]}${self.row}"

    def term(self, sheet: str | None = None) -> excel.Term:
        """The cell in a formula, as memo's number (a date as its day number)."""
        ref = self.on(sheet) if sheet else self.ref
        return excel.Term(f"{ref}+{excel.DATE_OFFSET}", excel.ADD) if self.is_date else excel.Term(ref)


class _Book:
    def __init__(self, spec: Spec, assumptions: Assumptions) -> None:
        self.spec, self.assumptions = spec, assumptions
        self.wb = Workbook()
        meta = assumptions.memo
        when = dt.datetime.combine(meta.as_of, dt.time())
        self.wb.properties.creator, self.wb.properties.title = meta.author, meta.title
        self.wb.properties.created = self.wb.properties.modified = when
        self.definitions = {d.name: d for d in spec.figures}
        self.input_names = _excel_names(assumptions.inputs, "in_")
        self.input_cells: dict[str, _Cell] = {}
        self.sign_of = _signs(spec)
        self.titles: set[str] = set()
        self.results: dict[str, dict[str, float | int]] = {}  # sheet -> formula cell -> the model's result

    def _is_date(self, unit: str) -> bool:
        return unit in self.spec.units and self.spec.units[unit].is_date

    def _kind(self, unit: str) -> str:
        return self.spec.units[unit].format if unit in self.spec.units else "plain"

    def _sheet(self, title: str, columns: Iterable[str], first: bool = False, header: int = 1) -> Worksheet:
        ws = self.wb.active if first else self.wb.create_sheet()
        ws.title = _unique_title(title, self.titles)
        self.titles.add(ws.title.lower())
        for column, width in _WIDTHS.items():
            ws.column_dimensions[column].width = width
        _header(ws, header, columns)
        ws.freeze_panes = f"A{header + 1}"
        return ws

    def _number(self, ws: Worksheet, ref: str, value: float, unit: str) -> None:
        """A number (a date as Excel's serial) in the unit's format."""
        cell = ws[ref]
        cell.value = _excel_value(value, self._is_date(unit))
        cell.number_format = excel.number_format(value, self._kind(unit))

    # ---------------------------------------------------------------- Inputs

    def inputs_sheet(self) -> None:
        ws = self._sheet(INPUTS, INPUT_COLUMNS, first=True)
        for row, (name, item) in enumerate(self.assumptions.inputs.items(), start=2):
            spec = self.spec.inputs.get(name)
            _texts(ws, row, {"A": name, "B": spec.label if spec else name, "F": item.unit})
            _texts(ws, row, {"G": self._source(item), "H": item.note or ""})
            self._number(ws, f"C{row}", item.number, item.unit)
            _editable(ws[f"C{row}"])
            for column, bound in (("D", item.low), ("E", item.high)):
                if bound is not None:
                    self._number(ws, f"{column}{row}", bound, item.unit)
            cell = _Cell(f"C{row}", self._is_date(item.unit))
            self.input_cells[name] = cell
            self._name(self.input_names[name], cell.term(INPUTS).text)

    def _source(self, item: Input) -> str:
        if item.estimate or item.source is None:
            return "estimate"
        source = self.assumptions.sources.get(item.source.ref)
        title = source.title if source is not None else item.source.ref
        return ", ".join(filter(None, (title, item.source.where, item.source.date)))

    def _name(self, name: str, refers_to: str) -> None:
        self.wb.defined_names[name] = DefinedName(name, attr_text=refers_to)

    # ---------------------------------------------------------------- Figures

    def figures_sheet(self, figures: Mapping[str, Figure], extra: Mapping[str, Figure]) -> None:
        ws = self._sheet(FIGURES, FIGURE_COLUMNS)
        names = _excel_names([*figures, *extra], "fig_", taken=self.input_names.values())
        cells = {name: _Cell(f"C{row}", self._is_date(figures[name].unit)) for row, name in enumerate(figures, start=2)}
        for name, cell in cells.items():
            resolve = self._resolver(
                name, lambda ref: excel.Term(names[ref]), lambda ref: excel.Term(self.input_names[ref])
            )
            self._figure_row(ws, cell.row, figures[name], resolve, known=True)
            self._name(names[name], cell.term(FIGURES).text)
        if extra:
            section = len(figures) + 3
            ws[f"A{section}"] = ANALYSIS_SECTION
            ws[f"A{section}"].font = _BOLD
            for row, (name, figure) in enumerate(extra.items(), start=section + 1):
                self._value_row(ws, row, figure, "a value from this build's analysis, not a formula")
                self._name(names[name], _Cell(f"C{row}", self._is_date(figure.unit)).term(FIGURES).text)

    def _resolver(
        self, own: str, figure: Callable[[str], excel.Term], item: Callable[[str], excel.Term]
    ) -> excel.Resolve:
        """Names in ``own``'s formula: a figure when one has the name (other than ``own``), else an input."""
        return lambda ref: figure(ref) if ref in self.definitions and ref != own else item(ref)

    def _figure_row(self, ws: Worksheet, row: int, figure: Figure, resolve: excel.Resolve, known: bool) -> None:
        """A figure's row: its value as a formula (with the model's result beside it when ``known``), or, for a
        formula with no Excel form, its value."""
        note = "rests on an estimate" if figure.estimate else ""
        _texts(ws, row, {"A": figure.name, "B": figure.label, "D": figure.unit, "E": figure.formula, "F": note})
        try:
            formula = excel.translate(figure.formula, resolve, self.sign_of(figure.name))
        except excel.Untranslatable as exc:
            self._value_row(ws, row, figure, f"the value, not a formula: {exc}")
            return
        if self._is_date(figure.unit):
            formula = f"({formula})-{excel.DATE_OFFSET}"  # memo's day number as Excel's serial
        ws[f"C{row}"] = "=" + formula
        ws[f"C{row}"].number_format = excel.number_format(figure.value, self._kind(figure.unit))
        if known:
            self._result(ws, f"C{row}", _excel_value(figure.value, self._is_date(figure.unit)))

    def _result(self, ws: Worksheet, ref: str, value: float | int) -> None:
        self.results.setdefault(ws.title, {})[ref] = value

    def _value_row(self, ws: Worksheet, row: int, figure: Figure, why: str) -> None:
        _texts(ws, row, {"A": figure.name, "B": figure.label, "D": figure.unit, "E": figure.formula, "F": why})
        self._number(ws, f"C{row}", figure.value, figure.unit)
        ws[f"C{row}"].font = _VALUE_FONT
        ws[f"C{row}"].comment = Comment(f"Not a formula: {why}.", "memo")

    # ---------------------------------------------------------------- scenarios

    def scenario_sheet(
        self,
        name: str,
        rationale: str,
        overrides: Mapping[str, float],
        base: Assumptions,
        figures: Mapping[str, Figure] | None,
    ) -> None:
        ws = self._sheet(_scenario_title(name), SCENARIO_COLUMNS, header=3)
        _texts(ws, 1, {"A": ws.title, "B": rationale})
        ws["A1"].font = _BOLD
        ws["A4"], ws["A4"].font = INPUTS, _BOLD
        row = 5
        cells: dict[str, _Cell] = {}
        for key, item in base.inputs.items():
            spec = self.spec.inputs.get(key)
            _texts(ws, row, {"A": key, "B": spec.label if spec else key, "D": item.unit})
            self._scenario_input(ws, row, key, item, overrides)
            cells[key] = _Cell(f"C{row}", self._is_date(item.unit))
            row += 1
        row += 1
        ws[f"A{row}"], ws[f"A{row}"].font = FIGURES, _BOLD
        order = list(self.definitions)
        first = row + 1
        figure_cells = {n: _Cell(f"C{first + i}", self._is_date(self.definitions[n].unit)) for i, n in enumerate(order)}
        for figure_name, cell in figure_cells.items():
            definition = self.definitions[figure_name]
            shown = figures[figure_name] if figures is not None else None
            figure = _as_figure(definition, shown)
            resolve = self._resolver(figure_name, lambda ref: figure_cells[ref].term(), lambda ref: cells[ref].term())
            self._figure_row(ws, cell.row, figure, resolve, known=shown is not None)

    def _scenario_input(self, ws: Worksheet, row: int, key: str, item: Input, overrides: Mapping[str, float]) -> None:
        ref = f"C{row}"
        if key in overrides:
            self._number(ws, ref, overrides[key], item.unit)
            _editable(ws[ref])
            _texts(ws, row, {"F": "set by this scenario"})
            return
        build_item = self.assumptions.inputs.get(key)
        if build_item is not None and build_item.number == item.number and key in self.input_cells:
            ws[ref] = f"={self.input_cells[key].on(INPUTS)}"
            self._result(ws, ref, _excel_value(item.number, self._is_date(item.unit)))
            ws[ref].number_format = excel.number_format(item.number, self._kind(item.unit))
            _texts(ws, row, {"F": "as on the Inputs sheet"})
            return
        self._number(ws, ref, item.number, item.unit)
        _editable(ws[ref])
        _texts(ws, row, {"F": "the value before the scenario this memo is built for"})


def _as_figure(definition: FigureDef, shown: Figure | None) -> Figure:
    """The figure a scenario row shows: the scenario's own (for its number format), or the definition alone."""
    value, estimate = (shown.value, shown.estimate) if shown is not None else (0.0, False)
    return Figure(
        definition.name, definition.label, definition.unit, definition.formula, (), value, None, None, estimate
    )


def _header(ws: Worksheet, row: int, columns: Iterable[str]) -> None:
    for index, title in enumerate(columns):
        cell = ws.cell(row=row, column=index + 1, value=title)
        cell.font = _BOLD


def _texts(ws: Worksheet, row: int, values: Mapping[str, str]) -> None:
    """Text cells, always text: a label that starts with "=" is not a formula."""
    for column, value in values.items():
        if not value:
            continue
        cell = ws[f"{column}{row}"]
        cell.value = value
        cell.data_type = "s"


def _editable(cell) -> None:  # type: ignore[no-untyped-def]
    cell.fill, cell.font = _EDIT, _EDIT_FONT


def _excel_value(number: float, is_date: bool) -> float | int:
    if is_date:
        return int(number) - excel.DATE_OFFSET
    return int(number) if number == int(number) and abs(number) < 2**53 else number


def _excel_names(keys: Iterable[str], prefix: str, taken: Iterable[str] = ()) -> dict[str, str]:
    """A defined name per key: ``prefix`` + the key with dots as underscores, unique whatever the case (Excel's
    names ignore it), at most 255 characters."""
    used = {name.lower() for name in taken}
    out: dict[str, str] = {}
    for key in keys:
        stem = prefix + re.sub(r"\W", "_", key)
        if len(stem) > 240:
            stem = stem[:230] + "_" + hashlib.sha256(key.encode()).hexdigest()[:8]
        name, n = stem, 1
        while name.lower() in used:
            n += 1
            name = f"{stem}_{n}"
        used.add(name.lower())
        out[key] = name
    return out


def _scenario_title(name: str) -> str:
    from memo.site import scenario_label

    return scenario_label(name)


def _unique_title(title: str, taken: set[str]) -> str:
    """A sheet title Excel accepts: none of []:*?/\\, no quote at the ends, 31 characters, unique."""
    clean = _SHEET_TITLE.sub(" ", title).strip().strip("'").strip() or "Sheet"
    candidate, n = clean[:31], 1
    while candidate.lower() in taken or candidate.lower() == "history":
        n += 1
        suffix = f" ({n})"
        candidate = clean[: 31 - len(suffix)] + suffix
    return candidate


def _signs(spec: Spec) -> Callable[[str], Callable[[ast.expr], int]]:
    """For a figure, what is known of the sign of a part of its formula, by the project checks' reasoning."""
    from memo.project import Signs

    signs = Signs({d.name: d for d in spec.figures}, spec.inputs, spec.units)
    return lambda own: lambda node: expr.sign(node, signs.resolver(own))


def _deterministic(wb: Workbook, as_of: dt.date, results: Mapping[str, Mapping[str, float | int]]) -> bytes:
    """The workbook's bytes, the same for the same workbook: openpyxl's zip stamps each entry with the time of
    writing; here every entry has the memo's as-of date (zip dates start in 1980) and fixed attributes. Each
    formula cell carries the model's result as its cached value (openpyxl writes none), for readers that show
    what the file holds without calculating; Excel recalculates on opening all the same."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    sheets = {ws.path.lstrip("/"): results.get(ws.title, {}) for ws in wb.worksheets}
    stamp = (as_of.year, as_of.month, as_of.day, 0, 0, 0) if as_of.year >= 1980 else (1980, 1, 1, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            data = source.read(info.filename)
            if sheets.get(info.filename):
                data = _with_results(data, sheets[info.filename])
            target.writestr(entry, data)
    return out.getvalue()


# An empty cached value as openpyxl writes it: <v/> or <v /> (the standard library's serializer), <v></v> (lxml's, which
# openpyxl uses when lxml is installed, as pikepdf installs it)
_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f>(?:<v\s*/>|<v></v>)')


def _with_results(xml: bytes, results: Mapping[str, float | int]) -> bytes:
    """A sheet's XML with each formula cell's cached value filled in from ``results``."""

    def fill(match: re.Match[bytes]) -> bytes:
        value = results.get(match[1].decode())
        if value is None:
            return match[0]
        return b'<c r="%s"%s><f>%s</f><v>%s</v>' % (match[1], match[2], match[3], repr(value).encode())

    return _FORMULA_CELL.sub(fill, xml)
