"""Which ranged input moves forward P/S most across its range."""

from typing import Any

from memo.charts import INK, WIDTH, ChartData, nominal, quantitative
from memo.phrases import lower_first

TITLE = "What moves forward P/S: each input across its range"
SOURCE = "Source: memo calculations; one input at a time at its low and high end, the others at the base case."
TARGET = "valuation.ps_forward"


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    base = d.figure(TARGET)
    rows = []
    for swing in d.analysis("tornado")[TARGET]:
        spec = d.input_spec(swing.input)
        for end, at, value in (("low end", swing.low, swing.at_low), ("high end", swing.high, swing.at_high)):
            text = f"{d.fmt.multiple(value)} at {d.fmt.by_unit(at, spec.unit)}"
            rows.append({"input": spec.label, "end": end, "start": base.value, "stop": value, "text": text})
    if not rows:
        note = f"No ranged input moves {lower_first(base.label)} in this build."
        chart = {
            "width": WIDTH,
            "height": 30,
            "data": {"values": [{"text": note}]},
            "mark": {"type": "text", "align": "left", "color": INK},
            "encoding": {"text": nominal("text")},
        }
        return chart, note
    order = list(dict.fromkeys(row["input"] for row in rows))
    y = nominal("input", sort=order, title=None, axis={"ticks": False, "domain": False, "labelLimit": 330})
    swings = {"values": rows}
    bars = {
        "data": swings,
        "mark": {"type": "bar", "height": 16},
        "encoding": {
            "x": quantitative("start", title=f"{base.label} (x)", scale={"zero": False, "padding": 60}),
            "x2": {"field": "stop"},
            "y": y,
            "color": nominal(
                "end",
                title="Input at its",
                scale={"domain": ["low end", "high end"], "range": [d.colors["orange"], d.colors["blue"]]},
            ),
        },
    }
    rule = {
        "data": {"values": [{"base": base.value}]},
        "mark": {"type": "rule", "color": INK, "strokeDash": [3, 3]},
        "encoding": {"x": quantitative("base")},
    }
    # each swing's label sits beyond the end of its bar: to the right of a rise, to the left of a fall
    labels = [
        {
            "data": swings,
            "transform": [{"filter": test}],
            "mark": {"type": "text", "dx": dx, "align": align, "fontSize": 10},
            "encoding": {"x": quantitative("stop"), "y": y, "text": nominal("text"), "detail": nominal("end")},
        }
        for test, dx, align in (("datum.stop >= datum.start", 4, "left"), ("datum.stop < datum.start", -4, "right"))
    ]
    chart = {"width": WIDTH - 280, "height": 34 * max(len(order), 1), "layer": [bars, rule, *labels]}
    widest = lower_first(order[0]) if order else "none"
    return chart, (
        f"Tornado chart of {lower_first(base.label)} around the base case of {d.show(TARGET)}; the widest swing comes "
        f"from {widest}."
    )
