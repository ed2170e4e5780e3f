"""The Monte Carlo distribution of forward P/S, with its P10, P50 and P90."""

import altair as alt
import pandas as pd

from memo.charts import HEIGHT, INK, WIDTH, ChartData
from memo.scenarios import histogram

TITLE = "Forward P/S across the input ranges: Monte Carlo distribution"
SOURCE = "Source: memo calculations; every ranged input drawn at once (triangular on low, base and high), fixed seed."
TARGET = "valuation.ps_forward"


def build(d: ChartData) -> tuple[alt.Chart, str]:
    simulation = d.analysis("simulation")
    bins = histogram(simulation.samples[TARGET], bins=36)
    frame = pd.DataFrame([{"start": a, "stop": b, "share": s} for a, b, s in bins])
    marks = [
        {
            "p": f"P{p}",
            "value": d.value(f"uncertainty.{TARGET}.p{p}"),
            "text": f"P{p} {d.show(f'uncertainty.{TARGET}.p{p}')}",
        }
        for p in (10, 50, 90)
    ]
    bars = (
        alt.Chart(frame)
        .mark_rect(color=d.colors["sky"], stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("start:Q", title="Forward P/S (x)", scale=alt.Scale(zero=False)),
            x2="stop:Q",
            y=alt.Y("share:Q", title="Share of draws", axis=alt.Axis(format="%")),
            y2=alt.datum(0),
        )
    )
    rules = alt.Chart(pd.DataFrame(marks)).mark_rule(color=INK, strokeDash=[4, 3]).encode(x="value:Q")
    texts = (
        alt.Chart(pd.DataFrame(marks))
        .mark_text(align="left", dx=4, dy=-6, fontSize=10, color=INK)
        .encode(x="value:Q", y=alt.value(8), text="text:N")
    )
    chart = (bars + rules + texts).properties(width=WIDTH, height=HEIGHT * 0.8)
    p10, p50, p90 = (d.show(f"uncertainty.{TARGET}.p{p}") for p in (10, 50, 90))
    return chart, (
        f"Histogram of forward P/S over {simulation.draws:,} Monte Carlo draws: P10 {p10}, median {p50}, P90 {p90}; "
        f"the base case is {d.show(TARGET)}."
    )
