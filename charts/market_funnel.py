"""From the global inference market to the privacy segment to Venice's current ARR, on a log scale."""

import math
from typing import Any

from memo.charts import HEIGHT, WIDTH, ChartData, nominal, quantitative, whiskers

TITLE = "Market size: global inference, the privacy segment and Venice"
SOURCE = "Source: Liberman (2026); memo calculations. Log scale; whiskers and bracketed figures show the low\u2013high range."

PLOT_WIDTH = WIDTH - 90  # the row labels take about 170 px to the left
CHAR = 5.9  # px per character of an 11 px label, to leave room right of the bars
MUTED = "#616E7C"
ROWS = [
    # (row label, figure, figure giving its share of the row above); {year} is the forecast year
    ("Global AI inference market, {year}", "market.inference_2027", None),
    ("Privacy inference segment, {year}", "market.privacy_segment", "market.privacy_share"),
    ("Venice, current ARR", "arr.current", "market.share_of_privacy_segment"),
]


def _with_range(d: ChartData, name: str) -> tuple[str, bool]:
    figure = d.figure(name)
    if figure.low is None or figure.high is None:
        return d.show(name), False
    return f"{d.show(name)} ({d.fmt.span(figure.low, figure.high, figure.unit)})", True


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    rows = []
    above = None
    for label, name, share in ROWS:
        figure = d.figure(name)
        text, ranged = _with_range(d, name)
        note = ""
        if share is not None:
            note = f"{_with_range(d, share)[0]} of the {above}"
        rows.append(
            {
                "row": label.format(year=d.show("market.forecast_year")),
                "value": figure.value,
                "low": figure.low if ranged else None,
                "high": figure.high if ranged else None,
                "end": figure.high if ranged else figure.value,
                "label": text,
                "note": note,
                "color": d.colors["blue"] if name == "arr.current" else d.colors["sky"],
            }
        )
        above = "privacy segment" if share is not None else "global market"
    smallest = min(row["low"] if row["low"] is not None else row["value"] for row in rows)
    floor = 10 ** math.floor(math.log10(smallest) - 0.5)  # bars start half a decade or more below the smallest
    # the right edge leaves room for the longest label beyond its bar
    span = max(
        math.log10(row["end"] / floor) / (1 - CHAR * max(len(row["label"]), len(row["note"])) / PLOT_WIDTH)
        for row in rows
    )
    right = floor * 10 ** (span + 0.05)
    largest = max(row["end"] for row in rows)
    decades = [10**k for k in range(round(math.log10(floor)), math.floor(math.log10(largest)) + 1)]
    order = [row["row"] for row in rows]
    y = nominal("row", sort=order, title=None, scale={"paddingInner": 0.4}, axis={"ticks": False, "domain": False})
    x = quantitative(
        "value",
        title="US$ per year (log scale)",
        scale={"type": "log", "domain": [floor, right], "nice": False},
        axis={"values": decades, "labelExpr": "replace(format(datum.value, '$~s'), 'G', 'B')", "grid": False},
    )
    bars = {
        "mark": {"type": "bar"},
        "encoding": {"x": x, "x2": {"datum": floor}, "y": y, "color": nominal("color", scale=None, legend=None)},
    }
    at_end = {"x": quantitative("end"), "y": y}

    def label(rows_with: str, **lift: float) -> dict[str, Any]:
        return {
            "transform": [{"filter": rows_with}],
            "mark": {"type": "text", "align": "left", "dx": 6, **lift, "fontWeight": 600},
            "encoding": {**at_end, "text": nominal("label")},
        }

    # a figure with a note below it is lifted half a line; one without stays centred on its bar
    labels = {"layer": [label("datum.note != ''", dy=-7), label("datum.note == ''")]}
    notes = {
        "mark": {"type": "text", "align": "left", "dx": 6, "dy": 8, "color": MUTED},
        "encoding": {**at_end, "text": nominal("note")},
    }
    chart = {
        "data": {"values": rows},
        "width": PLOT_WIDTH,
        "height": HEIGHT * 0.8,
        "layer": [bars, *whiskers(y, cap_size=12), labels, notes],
    }
    alt_text = (
        f"Bar chart on a log scale: the global inference market in {d.show('market.forecast_year')} of {d.show('market.inference_2027')}"
        f"{d.range_note('market.inference_2027')}, the privacy segment of "
        f"{d.show('market.privacy_segment')}{d.range_note('market.privacy_segment')}, and Venice's "
        f"current ARR of {d.show('arr.current')}, which is {d.show('market.share_of_privacy_segment')} of the "
        "privacy segment."
    )
    return chart, alt_text
