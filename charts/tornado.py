"""Which ranged input moves forward P/S most across its stated range."""

import altair as alt
import pandas as pd

from memo.charts import INK, WIDTH, ChartData
from memo.schema import INPUTS

TITLE = "What moves forward P/S: each input across its stated range"
SOURCE = "Source: memo calculations; one input at a time at its low and high end, the others at the base case."
TARGET = "valuation.ps_forward"


def build(d: ChartData) -> tuple[alt.Chart, str]:
    base = d.figure(TARGET)
    rows = []
    for swing in d.analysis("tornado")[TARGET]:
        spec = INPUTS[swing.input]
        for end, at, value in (("low end", swing.low, swing.at_low), ("high end", swing.high, swing.at_high)):
            text = f"{d.fmt.multiple(value)} at {d.fmt.by_unit(at, spec.unit)}"
            rows.append({"input": spec.label, "end": end, "start": base.value, "stop": value, "text": text})
    if not rows:
        note = f"No ranged input moves {base.label.lower()} in this build."
        chart = alt.Chart(pd.DataFrame([{"text": note}])).mark_text(align="left", color=INK).encode(text="text:N")
        return chart.properties(width=WIDTH, height=30), note
    frame = pd.DataFrame(rows)
    order = list(dict.fromkeys(frame["input"]))
    y = alt.Y("input:N", sort=order, title=None, axis=alt.Axis(ticks=False, domain=False, labelLimit=330))
    x = alt.X("start:Q", title=f"{base.label} (x)", scale=alt.Scale(zero=False, padding=60))
    bars = (
        alt.Chart(frame)
        .mark_bar(height=16)
        .encode(
            x=x,
            x2="stop:Q",
            y=y,
            color=alt.Color(
                "end:N",
                title="Input at its",
                scale=alt.Scale(domain=["low end", "high end"], range=[d.colors["orange"], d.colors["blue"]]),
            ),
        )
    )
    labels = (
        alt.Chart(frame)
        .mark_text(dx=4, align="left", fontSize=10)
        .encode(x="stop:Q", y=y, text="text:N", detail="end:N")
        .transform_filter("datum.stop >= datum.start")
    )
    labels_left = (
        alt.Chart(frame)
        .mark_text(dx=-4, align="right", fontSize=10)
        .encode(x="stop:Q", y=y, text="text:N", detail="end:N")
        .transform_filter("datum.stop < datum.start")
    )
    rule = alt.Chart(pd.DataFrame([{"base": base.value}])).mark_rule(color=INK, strokeDash=[3, 3]).encode(x="base:Q")
    chart = (bars + rule + labels + labels_left).properties(width=WIDTH - 280, height=34 * max(len(order), 1))
    widest = order[0] if order else "none"
    return chart, (
        f"Tornado chart of {base.label.lower()} around the base case of {d.show(TARGET)}; the widest swing comes "
        f"from {widest}."
    )
