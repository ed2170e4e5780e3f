"""Charts stage: each chart in ``charts/NAME.py`` builds a Vega-Lite chart from the model's figures, and
vl-convert exports it to SVG (vector in the PDF, inline in the HTML).

A chart module defines ``TITLE`` (shown as "Figure N. TITLE"), ``SOURCE`` (the source line) and
``build(data: ChartData) -> tuple[chart, str]`` returning the chart and its alt text. The chart is a Vega-Lite spec
as a dict (what the bundled charts return: building Altair objects and importing Altair and pandas cost a cold
build about 0.8 s) or an Altair chart, which is converted with ``to_dict``. Every figure the chart reads through
``data`` is recorded, so a later diff knows which charts show a changed figure.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from memo import fonts, phrases
from memo import format as fmt
from memo.cache import Cache
from memo.cache import key as cache_key
from memo.converter import ConversionError, Converter, InProcess
from memo.errors import Diagnostic, InputError, MemoError, did_you_mean
from memo.model import Figure, Spec
from memo.schema import InputSpec
from memo.svg import scope_ids
from memo.validate import Input

if TYPE_CHECKING:
    from memo.explorer import Explorer
    from memo.project import Project

# Okabe & Ito's palette, distinguishable with the common forms of colour blindness.
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
SKY = "#56B4E9"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#8C8C8C"
INK = "#1F2933"
PALETTE = [BLUE, ORANGE, GREEN, SKY, VERMILLION, PURPLE, GREY]

WIDTH = 520
HEIGHT = 220

THEME: dict[str, Any] = {
    "background": "white",
    "font": fonts.SANS,
    "padding": 4,
    "view": {"stroke": None},
    "axis": {
        "labelFont": fonts.SANS,
        "titleFont": fonts.SANS,
        "labelFontSize": 11,
        "titleFontSize": 11,
        "titleFontWeight": 500,
        "labelColor": INK,
        "titleColor": INK,
        "domainColor": "#9AA5B1",
        "tickColor": "#9AA5B1",
        "gridColor": "#E4E7EB",
    },
    "legend": {
        "labelFont": fonts.SANS,
        "titleFont": fonts.SANS,
        "labelFontSize": 11,
        "titleFontSize": 11,
        "orient": "bottom",
    },
    "header": {"labelFont": fonts.SANS, "titleFont": fonts.SANS, "labelFontSize": 11},
    "text": {"font": fonts.SANS, "fontSize": 11, "color": INK},
    "range": {"category": PALETTE},
    "bar": {"color": BLUE},
    "line": {"color": BLUE, "strokeWidth": 2},
    "point": {"color": BLUE, "filled": True, "size": 50},
}


class UnknownName(KeyError):
    """A chart asked for a figure or input the model does not define."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.message = f"{kind} '{name}': the model defines no such {kind}" + did_you_mean(name, known)
        super().__init__(self.message)


class _RecordingContent(Mapping[str, Any]):
    """The content files by name, noting which ones a chart reads."""

    def __init__(self, content: Mapping[str, Any], reads: list[str]) -> None:
        self._content, self._reads = content, reads

    def __getitem__(self, key: str) -> Any:
        if key not in self._reads:
            self._reads.append(key)
        return self._content[key]

    def __iter__(self):
        return iter(self._content)

    def __len__(self) -> int:
        return len(self._content)


class ChartData:
    """What a chart module may read: figures and inputs by name (recorded), content, and the formatters."""

    fmt = fmt
    colors: ClassVar[dict[str, str]] = {
        "blue": BLUE,
        "orange": ORANGE,
        "green": GREEN,
        "sky": SKY,
        "vermillion": VERMILLION,
        "purple": PURPLE,
    }

    def __init__(
        self,
        figures: Mapping[str, Figure],
        inputs: Mapping[str, Input],
        content: Mapping[str, Any],
        analysis: Any = None,
        project: Project | None = None,
    ) -> None:
        self._figures = figures
        self._inputs = inputs
        self._content = content
        self._analysis = analysis
        self._project = project
        self.reads: list[str] = []
        self.content_reads: list[str] = []
        self.analysis_reads: list[str] = []
        self.input_reads: list[str] = []

    def analysis(self, part: str) -> Any:
        """A part of the build's analysis: "grids", "tornado", "simulation" or "scenario_figures"."""
        if part not in self.analysis_reads:
            self.analysis_reads.append(part)
        return getattr(self._analysis, part)

    @property
    def content(self) -> _RecordingContent:
        return _RecordingContent(self._content, self.content_reads)

    def figure(self, name: str) -> Figure:
        if name not in self._figures:
            raise UnknownName("figure", name, self._figures)
        if name not in self.reads:
            self.reads.append(name)
        return self._figures[name]

    def value(self, name: str) -> float:
        return self.figure(name).value

    def input(self, name: str) -> Input:
        if name not in self._inputs:
            raise UnknownName("input", name, self._inputs)
        if name not in self.input_reads:
            self.input_reads.append(name)
        return self._inputs[name]

    def input_spec(self, name: str) -> InputSpec:
        """What the project's model says of an input: its label, unit and flags."""
        self.input(name)
        return self._model.inputs[name]

    @property
    def _model(self) -> Spec:
        if self._project is None:
            raise MemoError("this chart needs the project's model, which the build did not give it")
        return self._project.model

    @property
    def explorer(self) -> Explorer:
        """The project's explorer (memo.yml ``explorer:``): its sliders, shown figures and the model's formulas as
        Vega expressions at this build's inputs (every input is read: each one can move a shown figure)."""
        from memo.explorer import Explorer

        model = self._model
        settings = self._project.settings  # type: ignore[union-attr]
        if not settings.drivers:
            raise MemoError("memo.yml has no explorer: drivers for this chart to use")
        base = {name: self.input(name).number for name in model.inputs}
        return Explorer(settings.drivers, settings.shown, model.figures, base)

    def range_note(self, name: str) -> str:
        """ " (range low–high)" for a figure with a range, otherwise nothing: for alt texts."""
        figure = self.figure(name)
        if figure.low is None:
            return ""
        return f" (range {fmt.span(figure.low, figure.high, figure.unit)})"

    def bar(self, name: str) -> dict[str, Any]:
        """A bar's fields: value, low/high where the figure has a range, end (where its label goes), label."""
        figure = self.figure(name)
        ranged = figure.low is not None
        return {
            "value": figure.value,
            "low": figure.low if ranged else None,
            "high": figure.high if ranged else None,
            "end": figure.high if ranged else figure.value,
            "label": self.show(name),
        }

    def show(self, name: str) -> str:
        """The figure formatted as the memo prints it, with a dagger when it rests on an estimate."""
        figure = self.figure(name)
        return fmt.by_unit(figure.value, figure.unit) + ("\u2020" if figure.estimate else "")

    # words computed from figures, as the templates have them (memo.phrases)

    def moved(self, name: str, up: str = "up {}", down: str = "down {}", same: str = "unchanged") -> str:
        """A change in words, its size unsigned: "up 50%", "down 25%", "unchanged" (see memo.phrases.moved)."""
        figure = self.figure(name)
        _, pattern, shown = phrases.moved(figure.value, figure.unit, up, down, same)
        return pattern.replace("{}", shown + ("\u2020" if figure.estimate else ""))

    def compare(self, a: str, b: str) -> str:
        """ "well above", "above", "about the same as", "below" or "well below" (see memo.phrases.compare)."""
        return phrases.compare(self.value(a), self.value(b))


def quantitative(field: str, **properties: Any) -> dict[str, Any]:
    """A Vega-Lite encoding of a quantitative field, with any further channel properties."""
    return {"field": field, "type": "quantitative", **properties}


def nominal(field: str, **properties: Any) -> dict[str, Any]:
    """A Vega-Lite encoding of a nominal (categorical) field, with any further channel properties."""
    return {"field": field, "type": "nominal", **properties}


def row_axis(order: list[str], padding: float = 0.35) -> dict[str, Any]:
    """The y encoding of a horizontal bar chart: one labelled row per category, in the given order."""
    return nominal(
        "row",
        sort=order,
        title=None,
        scale={"paddingInner": padding},
        axis={"ticks": False, "domain": False, "labelLimit": 0, "labelPadding": 8},
    )


def whiskers(across: dict[str, Any], along: str = "x", cap_size: int = 10) -> list[dict[str, Any]]:
    """Low-high whiskers for the rows whose figure has a range (fields "low" and "high", as from ChartData.bar):
    a rule from low to high along the ``along`` axis, placed on the other axis by ``across``, capped at each end."""
    other = "y" if along == "x" else "x"
    ranged = [{"filter": "isValid(datum.low)"}]
    cap = {"type": "tick", "color": INK, "thickness": 1, "size": cap_size}
    if along == "y":
        cap["orient"] = "horizontal"
    return [
        {
            "transform": ranged,
            "mark": {"type": "rule", "color": INK, "strokeWidth": 1},
            "encoding": {along: quantitative("low"), f"{along}2": {"field": "high"}, other: across},
        },
        {
            "layer": [
                {"transform": ranged, "mark": cap, "encoding": {along: quantitative(end), other: across}}
                for end in ("low", "high")
            ]
        },
    ]


def ranged_bars(x: dict[str, Any], y: dict[str, Any]) -> list[dict[str, Any]]:
    """The layers of a horizontal bar chart of figures: coloured bars, low-high whiskers with caps where a figure
    has a range, and the value printed after each bar (rows from ChartData.bar, plus a "color" field)."""
    return [
        {"mark": {"type": "bar"}, "encoding": {"x": x, "y": y, "color": nominal("color", scale=None, legend=None)}},
        *whiskers(y),
        {
            "mark": {"type": "text", "align": "left", "dx": 6, "fontWeight": 600},
            "encoding": {"x": quantitative("end"), "y": y, "text": nominal("label")},
        },
    ]


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    source: str
    alt: str
    spec: dict[str, Any]
    reads: tuple[str, ...]
    content_reads: tuple[str, ...]
    analysis_reads: tuple[str, ...]
    svg: str
    interactive: bool = False  # the HTML also embeds its spec and the browser renders it live

    @property
    def spec_json(self) -> bytes:
        return (json.dumps(self.spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"memo_chart_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise MemoError(f"{path}: cannot load chart module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attribute in ("TITLE", "SOURCE", "build"):
        if not hasattr(module, attribute):
            raise MemoError(f"{path}: a chart module must define {attribute}")
    return module


def available(charts_dir: Path) -> list[str]:
    return sorted(p.stem for p in charts_dir.glob("*.py") if not p.name.startswith("_"))


def build_spec(name: str, module: ModuleType, data: ChartData) -> tuple[dict[str, Any], str]:
    chart, alt_text = module.build(data)
    spec = dict(chart) if isinstance(chart, dict) else chart.to_dict(validate=False)  # vl-convert checks it
    spec["config"] = _merge(copy.deepcopy(THEME), spec.get("config", {}))
    spec.pop("$schema", None)
    return spec, alt_text


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def to_svg(
    name: str,
    spec: Mapping[str, Any],
    alt_text: str,
    cache: Cache | None = None,
    converter: Converter | None = None,
) -> str:
    """The chart's SVG from vl-convert, cached by its spec, alt text, the converter's version and the fonts."""

    def convert() -> bytes:
        svg = (converter or InProcess()).submit("svg", dict(spec))().decode("utf-8")
        return _accessible(scope_ids(svg, name), name, alt_text).encode("utf-8")

    if cache is None:
        return convert().decode("utf-8")
    digest = cache_key(name, json.dumps(spec, sort_keys=True), alt_text, converter_version(), fonts.digest())
    return cache.through("chart-svg", digest, convert).decode("utf-8")


def converter_version() -> str:
    from importlib import metadata

    return metadata.version("vl-convert-python")


def _accessible(svg: str, name: str, alt_text: str) -> str:
    from html import escape

    title_id = f"{name}-title"
    opening = re.match(r"<svg\b[^>]*>", svg)
    if opening is None:
        raise MemoError(f"chart {name}: vl-convert returned no SVG")
    tag = opening.group(0)
    tag = re.sub(r'\sclass="[^"]*"', "", tag)
    tag = tag[:-1] + f' class="chart" role="img" aria-labelledby="{title_id}">'
    return tag + f'<title id="{title_id}">{escape(alt_text)}</title>' + svg[opening.end() :]


def build_all(
    charts_dir: Path,
    figures: Mapping[str, Figure],
    inputs: Mapping[str, Input],
    content: Mapping[str, Any],
    analysis: Any = None,
    cache: Cache | None = None,
    converter: Converter | None = None,
    project: Project | None = None,
) -> dict[str, Chart]:
    out: dict[str, Chart] = {}
    settings = _settings_key(project)
    for name in available(charts_dir):
        source = (charts_dir / f"{name}.py").read_bytes() + settings
        remembered = _remembered(cache, name, source, figures, inputs, content, analysis)
        if remembered is not None:
            out[name] = remembered
            continue
        module = load_module(charts_dir / f"{name}.py")
        data = ChartData(figures, inputs, content, analysis, project)
        try:
            spec, alt_text = build_spec(name, module, data)
            svg = to_svg(name, spec, alt_text, cache, converter)
        except MemoError:
            raise
        except UnknownName as exc:
            raise InputError([_chart_diagnostic(charts_dir / f"{name}.py", f"charts/{name}.py", exc)]) from None
        except ConversionError as exc:
            raise MemoError(f"charts/{name}.py: {exc}") from exc
        except Exception as exc:
            raise MemoError(f"charts/{name}.py: {type(exc).__name__}: {exc}") from exc
        out[name] = Chart(
            name,
            module.TITLE,
            module.SOURCE,
            alt_text,
            spec,
            tuple(data.reads),
            tuple(data.content_reads),
            tuple(data.analysis_reads),
            svg,
            bool(getattr(module, "INTERACTIVE", False)),
        )
        _remember(cache, out[name], source, data, figures, inputs, content, analysis)
    return out


def _settings_key(project: Project | None) -> bytes:
    """The project's settings and model, which a chart may read besides figures (the explorer's sliders)."""
    if project is None:
        return b""
    return repr((project.settings, [(d.name, d.formula) for d in project.model.figures])).encode("utf-8")


def _chart_diagnostic(path: Path, shown: str, exc: UnknownName) -> Diagnostic:
    """Where in the chart module the unknown name was asked for: the innermost line of that file."""
    import traceback

    line, column = 1, 1
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve() and frame.lineno:
            line, column = frame.lineno, (frame.colno or 0) + 1
    return Diagnostic(shown, line, column, "", exc.message)


# A chart whose module and everything it read last time are unchanged is taken from the cache without running
# its module (or importing Altair): first the record of what it read, then the chart itself keyed by those values.


def _module_key(name: str, source: bytes) -> str:
    from memo.cache import code_digest

    return cache_key("chart-module", name, source, code_digest(), converter_version(), fonts.digest())


def _values_key(
    module_key: str,
    reads: Mapping[str, list[str]],
    figures: Mapping[str, Figure],
    inputs: Mapping[str, Input],
    content: Mapping[str, Any],
    analysis: Any,
) -> str | None:
    try:
        parts: list[str | bytes] = [module_key]
        for name in reads["figures"]:
            f = figures[name]
            parts.append(repr((name, f.value, f.low, f.high, f.unit, f.label, f.estimate)))
        for name in reads["inputs"]:
            item = inputs[name]
            parts.append(repr((name, item.base, item.low, item.high, item.unit, item.estimate)))
        for key in reads["content"]:
            parts.append(json.dumps(content[key], sort_keys=True, default=str))
        for part in reads["analysis"]:
            parts.append(_analysis_digest(getattr(analysis, part)))
    except (KeyError, AttributeError):
        return None
    return cache_key(*parts)


def _analysis_digest(value: Any) -> bytes:
    import hashlib

    import numpy as np

    digest = hashlib.sha256()

    def walk(item: Any) -> None:
        if isinstance(item, np.ndarray):
            digest.update(item.tobytes())
        elif isinstance(item, Mapping):
            for k in sorted(item, key=str):
                digest.update(str(k).encode())
                walk(item[k])
        elif isinstance(item, list | tuple):
            for x in item:
                walk(x)
        elif hasattr(item, "__dataclass_fields__"):
            for k in item.__dataclass_fields__:
                digest.update(k.encode())
                walk(getattr(item, k))
        else:
            digest.update(repr(item).encode())

    walk(value)
    return digest.digest()


def _remembered(
    cache: Cache | None, name: str, source: bytes, figures: Any, inputs: Any, content: Any, analysis: Any
) -> Chart | None:
    if cache is None:
        return None
    module_key = _module_key(name, source)
    manifest = cache.get("chart-reads", module_key)
    if manifest is None:
        return None
    key = _values_key(module_key, json.loads(manifest), figures, inputs, content, analysis)
    record = cache.get("chart", key) if key else None
    if record is None:
        return None
    fields = json.loads(record)
    cache.hits.append("chart")
    return Chart(**{**fields, **{k: tuple(fields[k]) for k in ("reads", "content_reads", "analysis_reads")}})


def _remember(
    cache: Cache | None, chart: Chart, source: bytes, data: ChartData, figures: Any, inputs: Any, content: Any,
    analysis: Any,
) -> None:  # fmt: skip
    if cache is None:
        return
    module_key = _module_key(chart.name, source)
    reads = {
        "figures": list(data.reads),
        "inputs": list(data.input_reads),
        "content": list(data.content_reads),
        "analysis": list(data.analysis_reads),
    }
    cache.put("chart-reads", module_key, json.dumps(reads).encode("utf-8"))
    key = _values_key(module_key, reads, figures, inputs, content, analysis)
    if key is not None:
        fields = {f: getattr(chart, f) for f in chart.__dataclass_fields__}
        cache.put("chart", key, json.dumps(fields, default=list).encode("utf-8"))


# The heatmap's cells: Vega's "blues" scheme without its middle, where neither white nor ink labels reach WCAG AA's
# 4.5:1. Light cells (ink labels, 6.1:1 at least) run from LIGHT_RAMP[0] to [1]; dark cells (white labels, 5.1:1
# at least) from DARK_RAMP[0] to [1]. Each ramp darkens every channel, so no cell is outside its ends' contrast.
LIGHT_RAMP = ("#F7FBFF", "#6BAED6")
DARK_RAMP = ("#2171B5", "#08306B")


def _mix(ends: tuple[str, str], t: float) -> str:
    a, b = (bytes.fromhex(end.removeprefix("#")) for end in ends)
    return "#" + "".join(f"{round(x + (y - x) * t):02X}" for x, y in zip(a, b, strict=True))


def _cell_fill(value: float, low: float, dark: float, high: float) -> str:
    """A cell's colour: on a log scale when every value is positive (as the grid's multiples are), else linear."""
    scale = math.log if low > 0 else (lambda v: v)
    span = scale(high) - scale(low)
    t = (scale(value) - scale(low)) / span if span else 0.0
    cut = (scale(dark) - scale(low)) / span if span else 1.0
    if value > dark:
        return _mix(DARK_RAMP, (t - cut) / (1 - cut) if cut < 1 else 1.0)
    return _mix(LIGHT_RAMP, t / cut if cut > 0 else 0.0)


def heatmap(d: ChartData, grid_name: str, figure: str) -> tuple[dict[str, Any], str]:
    """A sensitivity grid as a heatmap: one cell per model run, labelled, the base case outlined when it is a cell
    (a grid with absolute values may not pass through the base; the alt text then says where the base lies)."""
    import numpy as np

    result = d.analysis("grids")[grid_name]
    base = d.figure(figure)
    rows_input, columns_input = d.input_spec(result.grid.rows.input), d.input_spec(result.grid.columns.input)
    cells = [
        {
            "row": fmt.by_unit(row_value, rows_input.unit),
            "column": fmt.by_unit(column_value, columns_input.unit),
            "value": value,
            "label": fmt.by_unit(value, base.unit),
            "base": result.base_on_grid and i == result.base_row and j == result.base_column,
        }
        for i, row_value in enumerate(result.rows)
        for j, column_value in enumerate(result.columns)
        for value in [float(result.values[figure][i, j])]
    ]
    values = [cell["value"] for cell in cells]
    row_order = [fmt.by_unit(v, rows_input.unit) for v in result.rows]
    position = {
        "x": nominal(
            "column",
            sort=[fmt.by_unit(v, columns_input.unit) for v in result.columns],
            title=columns_input.label,
            axis={"labelAngle": 0, "orient": "top"},
        ),
        "y": nominal("row", sort=row_order, title=rows_input.label),
    }
    dark = float(np.quantile(values, 0.6))  # cells above this take the dark ramp and white labels
    for cell in cells:
        cell["fill"] = _cell_fill(cell["value"], min(values), dark, max(values))
    chart = {
        "width": WIDTH - 120,
        "height": 36 * len(row_order),
        "layer": [
            {
                "data": {"values": cells},
                "mark": {"type": "rect", "stroke": "white", "strokeWidth": 2},
                "encoding": {**position, "color": nominal("fill", scale=None, legend=None)},
            },
            *(
                [
                    {
                        "data": {"values": [cell for cell in cells if cell["base"]]},
                        "mark": {"type": "rect", "fill": None, "stroke": INK, "strokeWidth": 2.5},
                        "encoding": position,
                    }
                ]
                if result.base_on_grid
                else []
            ),
            {
                "data": {"values": cells},
                "mark": {"type": "text", "fontSize": 11},
                "encoding": {
                    **position,
                    "text": nominal("label"),
                    "color": {"condition": {"test": f"datum.value > {dark}", "value": "white"}, "value": INK},
                },
            },
        ],
    }

    def lies(spec: Any, axis_values: tuple[float, ...], at: float, place: Any) -> str:
        shown = f"its {phrases.lower_first(spec.label)}, {fmt.by_unit(at, spec.unit)},"
        if place.kind == "between":
            low, high = (fmt.by_unit(v, spec.unit) for v in place.neighbours)
            return f"{shown} lies between {low} and {high}"
        if place.kind == "below":
            return f"{shown} is below the lowest value shown ({fmt.by_unit(axis_values[0], spec.unit)})"
        return f"{shown} is above the highest value shown ({fmt.by_unit(axis_values[-1], spec.unit)})"

    if result.base_on_grid:
        where = f"the base case, outlined, is {d.show(figure)}."
    else:
        off = [
            lies(spec, axis_values, at, place)
            for spec, axis_values, at, place in (
                (rows_input, result.rows, result.row_base, result.row_place),
                (columns_input, result.columns, result.column_base, result.column_place),
            )
            if place.kind != "on_grid"
        ]
        where = f"the base case ({d.show(figure)}) is not on this grid: {' and '.join(off)}."
    alt_text = (
        f"Heatmap of {phrases.lower_first(base.label)} for {phrases.lower_first(rows_input.label)} (rows) against "
        f"{phrases.lower_first(columns_input.label)} (columns): from {fmt.by_unit(min(values), base.unit)} to "
        f"{fmt.by_unit(max(values), base.unit)}; {where}"
    )
    return chart, alt_text
