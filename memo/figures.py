"""The figures contract: ``build/figures.json``, what reviewers' scripts read.

Names are public: extend freely, rename nothing without keeping the old name working.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import TYPE_CHECKING, Any

from memo.fonts import font_instancer, font_subsetter
from memo.model import Check, Figure, Spec
from memo.validate import Assumptions, Input

if TYPE_CHECKING:
    from memo.build import RenderedMemo

SCHEMA_VERSION = 1

# Libraries whose versions can change the bytes of a build's outputs; pinned in pyproject.toml.
OUTPUT_LIBRARIES = (
    "memo",
    "jinja2",
    "weasyprint",
    "pydyf",
    "fonttools",
    "altair",
    "vl-convert-python",
    "pandas",
    "numpy",
    "pyyaml",
    "fontpkg-source-serif-4",
    "fontpkg-ibm-plex-sans",
    "openpyxl",
)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def inputs_hash(document_data: Any) -> str:
    """SHA-256 of the assumptions as loaded (after --set overrides), in a canonical JSON form."""
    canonical = json.dumps(_plain(document_data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def library_versions(names: Iterable[str] = OUTPUT_LIBRARIES) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["font-subsetter"] = font_subsetter()
    versions["font-instancer"] = font_instancer()
    return versions


def figure_entry(figure: Figure) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": figure.value, "unit": figure.unit}
    if figure.low is not None:
        entry["low"] = figure.low
        entry["high"] = figure.high
    entry |= {
        "formula": figure.formula,
        "inputs": list(figure.inputs),
        "label": figure.label,
        "estimate": figure.estimate,
    }
    return entry


def _range(item: Input) -> dict[str, Any]:
    return {} if item.low is None else {"low": item.low, "high": item.high}


def input_entry(item: Input, sourced: Input | None = None) -> dict[str, Any]:
    """An input as this build uses it; ``sourced`` is the same input as the file gives it (the source's value),
    published as "sourced" so a reader can tell an edit for this build from the source's own figure."""
    entry: dict[str, Any] = {"value": _plain(item.base), "unit": item.unit, **_range(item)}
    entry["estimate"] = item.estimate
    if item.source is not None:
        entry["source"] = {"ref": item.source.ref, "where": item.source.where, "date": item.source.date}
        if sourced is not None:
            entry["sourced"] = {"value": _plain(sourced.base), **_range(sourced)}
    if item.note is not None:
        entry["note"] = item.note
    return entry


def payload(
    assumptions: Assumptions,
    figures: Mapping[str, Figure],
    checks: Iterable[Check],
    document_data: Any,
    versions: Mapping[str, str],
    inputs: Mapping[str, Input] | None = None,
    sourced: Mapping[str, Input] | None = None,
) -> dict[str, Any]:
    meta = assumptions.memo
    sourced = sourced or {}
    return {
        "schema_version": SCHEMA_VERSION,
        "memo": {"title": meta.title, "author": meta.author, "as_of": meta.as_of.isoformat()},
        "figures": {name: figure_entry(figure) for name, figure in figures.items()},
        "inputs": {name: input_entry(item, sourced.get(name)) for name, item in (inputs or assumptions.inputs).items()},
        "sources": {
            key: {k: v for k, v in vars(source).items() if v is not None and k != "key"}
            for key, source in assumptions.sources.items()
        },
        "source_checks": [
            {"figure": c.figure, "where": c.where, "stated": c.stated, "model": c.model, "holds": c.holds}
            | ({"this_build": {"model": c.build, "holds": c.build_holds}} if c.build is not None else {})
            for c in checks
        ],
        "build": {"inputs_sha256": inputs_hash(document_data), "versions": dict(versions)},
    }


def dumps(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def analysis_entries(assumptions: Assumptions, analysis: Any) -> dict[str, Any]:
    """Scenarios, sensitivity grids, tornado, Monte Carlo settings and claims, as published in figures.json.

    A grid's axes list the values swept (and the multipliers or offsets given); "base" says where the base case is
    ("row" / "column": its index, or null when the base is not on that axis, with the base values); "dropped"
    lists, only when there are some, the computed axis values left off because the input cannot take them."""
    simulation = analysis.simulation

    def axis(given: Any, values: tuple[float, ...]) -> dict[str, Any]:
        entry: dict[str, Any] = {"input": given.input, "values": list(values), "scales": list(given.scales)}
        if given.form != "values":
            entry[given.form] = list(given.values)
        return entry

    def grid(g: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "title": g.grid.title,
            "rows": axis(g.grid.rows, g.rows),
            "columns": axis(g.grid.columns, g.columns),
            "figures": {figure: values.tolist() for figure, values in g.values.items()},
            "base": {
                "row": g.base_row,
                "column": g.base_column,
                "row_value": g.row_base,
                "column_value": g.column_base,
            },
        }
        if g.dropped_rows or g.dropped_columns:
            entry["dropped"] = {"rows": list(g.dropped_rows), "columns": list(g.dropped_columns)}
        return entry

    return {
        "scenarios": {
            name: {"rationale": s.rationale, "set": dict(s.overrides)} for name, s in assumptions.scenarios.items()
        },
        "sensitivity": {name: grid(g) for name, g in analysis.grids.items()},
        "tornado": {
            target: [
                {"input": s.input, "low": s.low, "high": s.high, "at_low": s.at_low, "at_high": s.at_high}
                for s in swings
            ]
            for target, swings in analysis.tornado.items()
        },
        "uncertainty": None
        if simulation is None
        else {
            "draws": simulation.draws,
            "seed": simulation.seed,
            "inputs": list(simulation.ranged),
            "percentiles": {
                name: {f"p{p}": v for p, v in values.items()} for name, values in simulation.percentiles.items()
            },
        },
        "claims": [
            {"id": r.claim.id, "text": r.claim.text, "holds": r.claim.holds, "result": r.holds, "values": r.values}
            for r in analysis.claims
        ],
    }


def of_build(memo: RenderedMemo) -> dict[str, Any]:
    """The figures.json contract: every figure, input, source check, analysis and chart of this build, and the
    units they are in (so a script, or ``memo diff``, prints a project's own units as the memo does)."""
    document, charts = memo.document, memo.charts
    data = payload(
        memo.assumptions,
        document.figures,
        memo.checks,
        memo.inputs.document.data,
        library_versions(),
        document.inputs,
        sourced=document.sourced,
    )
    data["memo"]["scenario"] = document.scenario or "base"
    data |= analysis_entries(memo.assumptions, memo.analysis)
    data["charts"] = {
        name: {
            "title": chart.title,
            "number": document.chart_numbers[name],
            "figures": list(chart.reads),
            "content": [f"templates/content/{key}.yaml" for key in chart.content_reads],
            "analysis": list(chart.analysis_reads),
        }
        for name, chart in sorted(charts.items(), key=lambda item: document.chart_numbers[item[0]])
    }
    data["units"] = units_entries(memo.project.model, data)
    return data


def units_entries(spec: Spec, data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    used = {entry["unit"] for part in ("figures", "inputs") for entry in data[part].values()}
    return {
        name: {"label": unit.description, "format": unit.format}
        for name, unit in sorted(spec.units.items())
        if name in used
    }
