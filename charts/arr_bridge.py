"""ARR bridge: subscription and API ARR make current ARR; a year of anchored new ARR makes forward ARR."""

import itertools
from typing import Any

from memo.charts import HEIGHT, WIDTH, ChartData, nominal, quantitative, whiskers

TITLE = "From current to forward ARR"
SOURCE = (
    "Source: Liberman (2026); memo calculations. New ARR is a year at the anchored pace of new subscription ARR, "
    "with new API ARR at the recent ratio of new API to new subscription revenue. Whiskers show the low\u2013high range."
)

# (axis label, "|" breaking lines; figure; is a total)
STEPS = [
    ("Subscription|ARR", "subs.arr", False),
    ("API ARR", "api.arr", False),
    ("Current ARR", "arr.current", True),
    ("New subscription|ARR, 12 months", "growth.base_new_sub_arr", False),
    ("New API ARR,|12 months", "growth.base_new_api_arr", False),
    ("Forward ARR", "arr.forward", True),
]


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    rows = []
    level = 0.0
    for order, (label, name, total) in enumerate(STEPS):
        figure = d.figure(name)
        value = figure.value / 1e6
        start, end = (0.0, value) if total else (level, level + value)
        level = end
        show = d.show(name)
        has_range = total and figure.low is not None and figure.high is not None
        rows.append(
            {
                "order": order,
                "step": label,
                "start": start,
                "end": end,
                "kind": "Total" if total else "Addition",
                "label": show if total or order == 0 else f"+{show}",
                "low": figure.low / 1e6 if has_range else None,
                "high": figure.high / 1e6 if has_range else None,
                "top": figure.high / 1e6 if has_range else end,
            }
        )
    # thin connectors from the top of each bar to the next bar
    for row, following in itertools.pairwise(rows):
        row["next_step"] = following["step"]
    order = [row["step"] for row in rows]
    x = nominal(
        "step",
        sort=order,
        title=None,
        scale={"paddingInner": 0.35, "paddingOuter": 0.2},
        axis={
            "labelAngle": 0,
            "labelExpr": "split(datum.label, '|')",
            "labelAlign": "center",
            "ticks": False,
            "labelLimit": 0,
            "labelPadding": 6,
        },
    )
    top = max(row["top"] for row in rows) * 1.14
    kind = {"domain": ["Total", "Addition"], "range": [d.colors["blue"], d.colors["sky"]]}
    bars = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": x,
            "y": quantitative("start", title="ARR ($M)", scale={"domain": [0, top], "nice": False}),
            "y2": {"field": "end"},
            "color": nominal("kind", title=None, scale=kind, legend=None),
        },
    }
    connectors = {
        "transform": [{"filter": "isValid(datum.next_step)"}],
        "mark": {"type": "rule", "color": "#9AA5B1", "strokeDash": [2, 2], "strokeWidth": 1},
        "encoding": {
            "x": nominal("step", sort=order, bandPosition=1),
            "x2": {"field": "next_step", "bandPosition": 0},
            "y": quantitative("end"),
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
        "layer": [connectors, bars, *whiskers(x, along="y"), labels],
    }
    alt_text = (
        f"Waterfall chart: subscription ARR of {d.show('subs.arr')} plus API ARR of {d.show('api.arr')} make current "
        f"ARR of {d.show('arr.current')}{d.range_note('arr.current')}; adding "
        f"{d.show('growth.base_new_sub_arr')} of new subscription ARR and {d.show('growth.base_new_api_arr')} of new "
        f"API ARR gives forward ARR of {d.show('arr.forward')} "
        f"{d.range_note('arr.forward')}."
    )
    return chart, alt_text
