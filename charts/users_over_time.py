"""Registered users and paid subscribers at the two milestones the source reports (early February, mid-May)."""

from typing import Any

from memo.charts import HEIGHT, WIDTH, ChartData, nominal, quantitative

TITLE = "Registered users and paid subscribers at two milestones"
SOURCE = "Source: Liberman (2026); paid subscribers in May are registered users times lifetime conversion."

GAP = 40  # px between the two panels


def _day(d: ChartData, name: str) -> str:
    date = d.input(name).base
    return f"{date.day} {date:%b %Y}"


def _panel(
    d: ChartData, heading: str, names: tuple[str, str], days: tuple[str, str], colors: tuple[str, str]
) -> dict[str, Any]:
    rows = [
        {"when": day, "value": d.value(name), "label": d.show(name), "color": color}
        for day, name, color in zip(days, names, colors, strict=True)
    ]
    top = max(row["value"] for row in rows) * 1.2
    position = {
        "x": nominal("when", sort=None, title=None, axis={"labelAngle": 0, "labelPadding": 6, "ticks": False}),
        "y": quantitative("value", title=None, axis=None, scale={"domain": [0, top], "nice": False}),
    }
    bars = {
        "mark": {"type": "bar", "size": 64},
        "encoding": {**position, "color": nominal("color", scale=None, legend=None)},
    }
    labels = {
        "mark": {"type": "text", "dy": -9, "fontWeight": 600, "fontSize": 12},
        "encoding": {**position, "text": nominal("label")},
    }
    return {
        "data": {"values": rows},
        "width": (WIDTH - GAP) / 2,
        "height": HEIGHT,
        "title": {"text": heading, "anchor": "start", "fontSize": 12, "fontWeight": 600, "offset": 6},
        "layer": [bars, labels],
    }


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    days = (_day(d, "users.registered_earlier_date"), _day(d, "users.registered_date"))
    registered = _panel(
        d,
        "Registered users",
        ("users.registered_earlier", "users.registered"),
        days,
        (d.colors["sky"], d.colors["blue"]),
    )
    paid = _panel(
        d,
        f"Paid subscribers ({d.moved('users.paid_growth')})",
        ("users.paid_earlier", "users.paid"),
        days,
        (d.colors["sky"], d.colors["blue"]),
    )
    chart = {
        "hconcat": [registered, paid],
        "spacing": GAP,
        "resolve": {"scale": {"y": "independent", "color": "independent"}},
    }
    alt_text = (
        f"Two bar charts. Registered users went from {d.show('users.registered_earlier')} on {days[0]} "
        f"to {d.show('users.registered')} on {days[1]}; paid subscribers went from {d.show('users.paid_earlier')} "
        f"to {d.show('users.paid')}, {d.moved('users.paid_growth')}."
    )
    return chart, alt_text
