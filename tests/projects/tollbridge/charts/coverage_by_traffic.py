"""Debt service coverage across daily traffic, one line per toll level, against the rate covenant."""

from typing import Any

from memo.charts import HEIGHT, INK, WIDTH, ChartData, nominal, quantitative

TITLE = "Coverage by daily crossings, at four toll levels"
SOURCE = "Source: memo calculations; each point is a full run of the model (the sensitivity grid above)."
GRID = "traffic_toll"


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    result = d.analysis("grids")[GRID]
    covenant = d.figure("bond.rate_covenant")
    rows_spec = d.input_spec(result.grid.rows.input)
    columns_spec = d.input_spec(result.grid.columns.input)
    tolls = [f"Car toll {d.fmt.by_unit(c, columns_spec.unit)}" for c in result.columns]
    points = [
        {
            "crossings": float(row),
            "coverage": float(result.values["coverage.dscr"][i, j]),
            "toll": tolls[j],
        }
        for i, row in enumerate(result.rows)
        for j in range(len(result.columns))
    ]
    low = min(min(p["coverage"] for p in points), covenant.value)
    high = max(p["coverage"] for p in points)
    lines = {
        "data": {"values": points},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": quantitative(
                "crossings", title=rows_spec.label, scale={"zero": False}, axis={"format": ",d", "tickCount": 5}
            ),
            "y": quantitative(
                "coverage", title="Debt service coverage (times)", scale={"domain": [low * 0.95, high * 1.03]}
            ),
            "color": nominal("toll", sort=tolls, title=None),
        },
    }
    rule = {
        "data": {
            "values": [{"covenant": covenant.value, "text": f"Rate covenant: {d.show('bond.rate_covenant')} times"}]
        },
        "layer": [
            {
                "mark": {"type": "rule", "color": INK, "strokeDash": [4, 3]},
                "encoding": {"y": quantitative("covenant")},
            },
            {
                "mark": {"type": "text", "align": "right", "dy": 11, "fontSize": 10, "color": INK},
                "encoding": {"x": {"value": WIDTH - 4}, "y": quantitative("covenant"), "text": nominal("text")},
            },
        ],
    }
    chart = {"width": WIDTH, "height": HEIGHT, "layer": [lines, rule]}

    def shown(value: float) -> str:
        return d.fmt.by_unit(value, covenant.unit)

    alt_text = (
        f"Line chart of debt service coverage against {rows_spec.label.lower()}, from "
        f"{d.fmt.by_unit(result.rows[0], rows_spec.unit)} to {d.fmt.by_unit(result.rows[-1], rows_spec.unit)}, "
        f"one line per car toll from {d.fmt.by_unit(result.columns[0], columns_spec.unit)} to "
        f"{d.fmt.by_unit(result.columns[-1], columns_spec.unit)}; coverage runs from "
        f"{shown(min(p['coverage'] for p in points))} to {shown(high)} times, against a rate covenant of "
        f"{d.show('bond.rate_covenant')} times."
    )
    return chart, alt_text
