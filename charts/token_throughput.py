"""Daily token throughput against paid subscribers, both indexed to early February."""

from typing import Any

from memo.charts import HEIGHT, INK, VERMILLION, WIDTH, ChartData, nominal, quantitative

TITLE = "Daily token throughput against paid subscribers, indexed"
SOURCE = "Source: Liberman (2026); memo calculations. Both series indexed to the first observation = 1.0x."

START, END = 0.0, 1.0  # x positions of the two observations
BRACKET = 1.05  # x of the bracket spanning the two end points
TEXT = 1.09  # x where the end labels start
RIGHT = 1.75  # right edge of the x domain: room for the labels
# A series' label is in its line's colour, darkened where that is too light for text (vermillion: 3.9:1 on white).
TEXT_COLOURS = {VERMILLION: "#B34D00"}


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    tokens = d.value("usage.tokens_per_day_growth")
    paid = 1 + d.value("users.paid_growth")
    series = [
        (
            "tokens",
            tokens,
            d.colors["blue"],
            f"{d.show('usage.tokens_per_day_growth')} daily tokens processed",
            f"{d.show('usage.tokens_per_day_early')} \u2192 {d.show('usage.tokens_per_day_latest')} a day",
        ),
        (
            "paid",
            paid,
            d.colors["vermillion"],
            f"{d.fmt.multiple(paid)} paid subscribers",
            f"{d.show('users.paid_earlier')} \u2192 {d.show('users.paid')}",
        ),
    ]
    points = {
        "values": [
            {"series": name, "x": x, "index": index, "color": color}
            for name, end, color, _, _ in series
            for x, index in ((START, 1.0), (END, end))
        ]
    }
    labels = {
        "values": [
            {"x": TEXT, "index": end, "head": head, "detail": detail, "color": TEXT_COLOURS.get(color, color)}
            for _, end, color, head, detail in series
        ]
    }
    top = max(tokens, paid) * 1.12
    ticks = [1 + step / 2 for step in range(int((top - 1) * 2) + 1)]
    first, last = (f"{d.input(name).base:%B %Y}" for name in ("users.registered_earlier_date", "users.registered_date"))
    x = quantitative(
        "x",
        title=None,
        scale={"domain": [START - 0.06, RIGHT], "nice": False, "zero": False},
        axis={
            "values": [START, END],
            "labelExpr": f"datum.value < 0.5 ? '{first}' : '{last}'",
            "grid": False,
            "ticks": False,
            "labelPadding": 6,
            "domain": False,
        },
    )
    y = quantitative(
        "index",
        title=f"Index, {first} = 1.0x",
        scale={"domain": [0.8, top], "nice": False, "zero": False},
        axis={"values": ticks, "format": ".1f", "labelExpr": "datum.label + 'x'", "grid": False},
    )
    color = nominal("color", scale=None, legend=None)
    baseline = {
        "data": {"values": [{"x": START, "x2": END, "index": 1.0}]},
        "mark": {"type": "rule", "color": "#9AA5B1", "strokeDash": [3, 3], "strokeWidth": 1},
        "encoding": {"x": x, "x2": {"field": "x2"}, "y": y},
    }
    lines = {
        "data": points,
        "mark": {"type": "line", "strokeWidth": 2.5},
        "encoding": {"x": x, "y": y, "color": color, "detail": nominal("series")},
    }
    dots = {
        "data": points,
        "mark": {"type": "point", "filled": True, "size": 60, "opacity": 1},
        "encoding": {"x": x, "y": y, "color": color},
    }
    heads = {
        "data": labels,
        "mark": {"type": "text", "align": "left", "baseline": "middle", "fontWeight": 600, "dy": -8},
        "encoding": {"x": x, "y": y, "text": nominal("head"), "color": color},
    }
    details = {
        "data": labels,
        "mark": {"type": "text", "align": "left", "baseline": "middle", "dy": 8},
        "encoding": {"x": x, "y": y, "text": nominal("detail")},
    }
    bracket = {
        "values": [
            {
                "x": BRACKET,
                "x2": BRACKET - 0.015,
                "xt": TEXT,
                "low": paid,
                "high": tokens,
                "mid": (paid + tokens) / 2,
            }
        ]
    }
    rule = {"type": "rule", "color": INK, "strokeWidth": 1}
    spine = {"data": bracket, "mark": rule, "encoding": {"x": x, "y": quantitative("low"), "y2": {"field": "high"}}}
    caps = {
        "data": bracket,
        "layer": [
            {"mark": rule, "encoding": {"x": x, "x2": {"field": "x2"}, "y": quantitative(end)}}
            for end in ("low", "high")
        ],
    }
    note = {
        "data": bracket,
        "mark": {"type": "text", "align": "left", "baseline": "middle", "lineHeight": 15},
        "encoding": {
            "x": quantitative("xt"),
            "y": quantitative("mid"),
            "text": {"value": [f"{d.show('usage.tokens_per_paid_user_growth')} tokens", "per paid subscriber"]},
        },
    }
    chart = {
        "width": WIDTH,
        "height": HEIGHT,
        "layer": [baseline, lines, dots, heads, details, spine, caps, note],
    }
    alt_text = (
        f"Index chart from {first} (1.0x) to {last}: daily tokens processed went from "
        f"{d.show('usage.tokens_per_day_early')} to {d.show('usage.tokens_per_day_latest')} a day, "
        f"{d.show('usage.tokens_per_day_growth')} the first level, while paid subscribers reached "
        f"{d.fmt.multiple(paid)} theirs, so throughput per paid subscriber is "
        f"{d.show('usage.tokens_per_paid_user_growth')} its first level."
    )
    return chart, alt_text
