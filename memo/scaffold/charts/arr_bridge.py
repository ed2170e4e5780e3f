"""From current to forward ARR: a waterfall of the ARR new seats add and churn takes away.

A chart module defines TITLE, SOURCE and build(d) -> (Vega-Lite spec as a dict, alt text). Read figures through
``d`` (d.figure, d.value, d.show, d.bar): the build records what each chart reads, and the alt text is computed from
the same figures as the bars, so it stays true. memo.charts has the helpers and the colours.
"""

from typing import Any

from memo.charts import HEIGHT, WIDTH, ChartData, nominal, quantitative, whiskers

TITLE = "From current to forward ARR"
SOURCE = "Source: Example Co. letter (fictional); memo calculations. Whiskers show the low\u2013high range."

# (axis label, the figure, +1 adds to the running total, -1 takes away, 0 is a total)
STEPS = [
    ("Current ARR", "arr.current", 0),
    ("New seats", "arr.added", 1),
    ("Churn", "arr.churned", -1),
    ("Forward ARR", "arr.forward", 0),
]


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    rows, level = [], 0.0
    for label, name, sign in STEPS:
        figure = d.figure(name)
        value = figure.value / 1e6
        start, end = (0.0, value) if sign == 0 else (level, level + sign * value)
        level = end
        ranged = sign == 0 and figure.low is not None
        prefix = {1: "+", -1: "\u2212", 0: ""}[sign]
        rows.append(
            {
                "step": label,
                "start": start,
                "end": end,
                "kind": "total" if sign == 0 else ("add" if sign > 0 else "take"),
                "label": prefix + d.show(name),
                "low": figure.low / 1e6 if ranged else None,
                "high": figure.high / 1e6 if ranged else None,
                "top": max(start, end, figure.high / 1e6 if ranged else 0.0),
            }
        )
    order = [row["step"] for row in rows]
    x = nominal("step", sort=order, title=None, axis={"labelAngle": 0, "ticks": False, "labelPadding": 6})
    colours = {"domain": ["total", "add", "take"], "range": [d.colors["blue"], d.colors["sky"], d.colors["orange"]]}
    top = max(row["top"] for row in rows) * 1.15
    bars = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": x,
            "y": quantitative("start", title="ARR ($M)", scale={"domain": [0, top], "nice": False}),
            "y2": {"field": "end"},
            "color": nominal("kind", scale=colours, legend=None),
        },
    }
    labels = {
        "mark": {"type": "text", "dy": -8, "fontWeight": 600},
        "encoding": {"x": x, "y": quantitative("top"), "text": nominal("label")},
    }
    chart = {
        "data": {"values": rows},
        "width": WIDTH,
        "height": HEIGHT,
        "layer": [bars, *whiskers(x, along="y"), labels],
    }
    alt_text = (
        f"Waterfall chart: current ARR of {d.show('arr.current')}{d.range_note('arr.current')}, plus "
        f"{d.show('arr.added')} from new seats, less {d.show('arr.churned')} lost to churn, gives forward ARR of "
        f"{d.show('arr.forward')}{d.range_note('arr.forward')}."
    )
    return chart, alt_text
