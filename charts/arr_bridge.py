"""ARR bridge: subscription and API ARR make current ARR; a year of anchored new ARR makes forward ARR."""

import itertools

import altair as alt
import pandas as pd

from memo.charts import HEIGHT, INK, WIDTH, ChartData

TITLE = "From current to forward ARR"
SOURCE = (
    "Source: Liberman (2026); memo calculations. New ARR is the author's conservative anchor for the next 12 months, "
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


def build(d: ChartData) -> tuple[alt.Chart, str]:
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
    frame = pd.DataFrame(rows)
    order = [row["step"] for row in rows]
    x = alt.X(
        "step:N",
        sort=order,
        title=None,
        scale=alt.Scale(paddingInner=0.35, paddingOuter=0.2),
        axis=alt.Axis(
            labelAngle=0,
            labelExpr="split(datum.label, '|')",
            labelAlign="center",
            ticks=False,
            labelLimit=0,
            labelPadding=6,
        ),
    )
    top = max(row["top"] for row in rows) * 1.14
    y = alt.Y("start:Q", title="ARR ($M)", scale=alt.Scale(domain=[0, top], nice=False))
    base = alt.Chart(frame)
    bars = base.mark_bar().encode(
        x=x,
        y=y,
        y2="end:Q",
        color=alt.Color(
            "kind:N",
            title=None,
            scale=alt.Scale(domain=["Total", "Addition"], range=[d.colors["blue"], d.colors["sky"]]),
            legend=None,
        ),
    )
    connectors = (
        base.transform_filter("isValid(datum.next_step)")
        .mark_rule(color="#9AA5B1", strokeDash=[2, 2], strokeWidth=1)
        .encode(
            x=alt.X("step:N", sort=order, bandPosition=1),
            x2=alt.X2("next_step:N", bandPosition=0),
            y=alt.Y("end:Q"),
        )
    )
    ranged = base.transform_filter("isValid(datum.low)")
    whiskers = ranged.mark_rule(color=INK, strokeWidth=1).encode(x=x, y="low:Q", y2="high:Q")
    caps = alt.layer(
        ranged.mark_tick(color=INK, thickness=1, size=10, orient="horizontal").encode(x=x, y="low:Q"),
        ranged.mark_tick(color=INK, thickness=1, size=10, orient="horizontal").encode(x=x, y="high:Q"),
    )
    labels = base.mark_text(dy=-8, fontWeight=600).encode(x=x, y="top:Q", text="label:N")
    chart = alt.layer(connectors, bars, whiskers, caps, labels).properties(width=WIDTH, height=HEIGHT)
    alt_text = (
        f"Waterfall chart: subscription ARR of {d.show('subs.arr')} plus API ARR of {d.show('api.arr')} make current "
        f"ARR of {d.show('arr.current')}{d.range_note('arr.current')}; adding "
        f"{d.show('growth.base_new_sub_arr')} of new subscription ARR and {d.show('growth.base_new_api_arr')} of new "
        f"API ARR gives forward ARR of {d.show('arr.forward')} "
        f"{d.range_note('arr.forward')}."
    )
    return chart, alt_text
