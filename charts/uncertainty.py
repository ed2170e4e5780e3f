"""The Monte Carlo distribution of forward P/S, with its P10, P50 and P90."""

from typing import Any

from memo.charts import HEIGHT, INK, WIDTH, ChartData, nominal, quantitative
from memo.scenarios import histogram

TITLE = "Forward P/S across the input ranges: Monte Carlo distribution"
SOURCE = "Source: memo calculations; every ranged input drawn at once from its own distribution, fixed seed."
TARGET = "valuation.ps_forward"


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    simulation = d.analysis("simulation")
    bins = histogram(simulation.samples[TARGET], bins=36)
    marks = [
        {
            "p": f"P{p}",
            "value": d.value(f"uncertainty.{TARGET}.p{p}"),
            "text": f"P{p} {d.show(f'uncertainty.{TARGET}.p{p}')}",
        }
        for p in (10, 50, 90)
    ]
    bars = {
        "data": {"values": [{"start": start, "stop": stop, "share": share} for start, stop, share in bins]},
        "mark": {"type": "rect", "color": d.colors["sky"], "stroke": "white", "strokeWidth": 0.5},
        "encoding": {
            "x": quantitative("start", title="Forward P/S (x)", scale={"zero": False}),
            "x2": {"field": "stop"},
            "y": quantitative("share", title="Share of draws", axis={"format": "%"}),
            "y2": {"datum": 0},
        },
    }
    rules = {
        "data": {"values": marks},
        "mark": {"type": "rule", "color": INK, "strokeDash": [4, 3]},
        "encoding": {"x": quantitative("value")},
    }
    texts = {
        "data": {"values": marks},
        "mark": {"type": "text", "align": "left", "dx": 4, "dy": -6, "fontSize": 10, "color": INK},
        "encoding": {"x": quantitative("value"), "y": {"value": 8}, "text": nominal("text")},
    }
    chart = {"width": WIDTH, "height": HEIGHT * 0.8, "layer": [bars, rules, texts]}
    p10, p50, p90 = (d.show(f"uncertainty.{TARGET}.p{p}") for p in (10, 50, 90))
    return chart, (
        f"Histogram of forward P/S over {simulation.draws:,} Monte Carlo draws: P10 {p10}, median {p50}, P90 {p90}; "
        f"the base case is {d.show(TARGET)}."
    )
