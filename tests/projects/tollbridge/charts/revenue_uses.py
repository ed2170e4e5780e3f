"""Where a year's toll revenue goes: operating costs, the reserve deposit and debt service, and what is left."""

from typing import Any

from memo.charts import HEIGHT, WIDTH, ChartData, nominal, quantitative

TITLE = "Where a year's toll revenue goes"
SOURCE = (
    "Source: Gull Point Bridge Authority, official statement (2025); Marsh & Calder traffic study (2024); memo "
    "calculations. Collected revenue rests on the memo's collection estimate (\u2020)."
)


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    gross = d.figure("revenue.gross")
    opex, reserve = d.input("operations.opex"), d.input("operations.reserve_deposit")
    service, surplus = d.figure("bond.debt_service"), d.figure("coverage.surplus")
    steps = [
        ("Toll revenue|collected", 0.0, gross.value, "Revenue", d.show("revenue.gross")),
        ("Operating|costs", -opex.number, None, "Cost", d.fmt.by_unit(opex.number, opex.unit)),
        ("Maintenance|reserve", -reserve.number, None, "Cost", d.fmt.by_unit(reserve.number, reserve.unit)),
        ("Debt|service", -service.value, None, "Debt service", d.show("bond.debt_service")),
        ("Left after|debt service", 0.0, surplus.value, "Left over", d.show("coverage.surplus")),
    ]
    rows, level = [], 0.0
    for order, (label, change, total, kind, shown) in enumerate(steps):
        start, end = (0.0, total) if total is not None else (level, level + change)
        level = end
        rows.append(
            {
                "order": order,
                "step": label,
                "start": start / 1e6,
                "end": end / 1e6,
                "top": max(start, end) / 1e6,
                "kind": kind,
                "label": shown if total is not None else f"\u2212{shown}",
            }
        )
    order = [row["step"] for row in rows]
    x = nominal(
        "step",
        sort=order,
        title=None,
        scale={"paddingInner": 0.3},
        axis={"labelAngle": 0, "labelExpr": "split(datum.label, '|')", "ticks": False, "labelLimit": 0},
    )
    colours = {
        "domain": ["Revenue", "Cost", "Debt service", "Left over"],
        "range": [d.colors["green"], d.colors["orange"], d.colors["blue"], d.colors["sky"]],
    }
    chart = {
        "data": {"values": rows},
        "width": WIDTH,
        "height": HEIGHT,
        "layer": [
            {
                "mark": {"type": "bar"},
                "encoding": {
                    "x": x,
                    "y": quantitative(
                        "start",
                        title="US dollars a year ($M)",
                        scale={"domain": [0, gross.value / 1e6 * 1.15], "nice": False},
                    ),
                    "y2": {"field": "end"},
                    "color": nominal("kind", title=None, scale=colours, legend=None),
                },
            },
            {
                "mark": {"type": "text", "dy": -8, "fontWeight": 600},
                "encoding": {"x": x, "y": quantitative("top"), "text": nominal("label")},
            },
        ],
    }
    alt_text = (
        f"Waterfall chart: toll revenue of {d.show('revenue.gross')} a year less operating costs of "
        f"{d.fmt.by_unit(opex.number, opex.unit)}, the reserve deposit of "
        f"{d.fmt.by_unit(reserve.number, reserve.unit)} and debt service of {d.show('bond.debt_service')} leaves "
        f"{d.show('coverage.surplus')}."
    )
    return chart, alt_text
