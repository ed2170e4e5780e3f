"""Price-to-sales multiples: VVV on current and forward ARR, by market cap and by FDV, beside OpenRouter."""

from typing import Any

from memo.charts import GREY, HEIGHT, WIDTH, ChartData, quantitative, ranged_bars, row_axis

TITLE = "Price-to-sales: VVV against OpenRouter"
SOURCE = (
    "Source: Liberman (2026); memo calculations. VVV multiples divide market cap or FDV by ARR; "
    "whiskers show the low\u2013high range of ARR."
)

PLOT_WIDTH = WIDTH - 120  # the row labels take about 190 px to the left
ROWS = [
    # (row label, figure, colour: peers grey, VVV on market cap blue, VVV on FDV (fully diluted) lighter)
    ("OpenRouter", "peers.openrouter_ps", "peer"),
    ("VVV market cap / current ARR", "valuation.ps_current", "cap"),
    ("VVV FDV / current ARR", "valuation.fdv_ps_current", "fdv"),
    ("VVV market cap / forward ARR", "valuation.ps_forward", "cap"),
    ("VVV FDV / forward ARR", "valuation.fdv_ps_forward", "fdv"),
]


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    rows = []
    for label, name, group in ROWS:
        color = {"peer": GREY, "cap": d.colors["blue"], "fdv": d.colors["sky"]}[group]
        rows.append({"row": label, **d.bar(name), "color": color})
    top = max(row["end"] for row in rows) * 1.12
    x = quantitative(
        "value",
        title="Price-to-sales multiple (x)",
        scale={"domain": [0, top], "nice": False},
        axis={"tickCount": 6, "labelExpr": "datum.label + 'x'"},
    )
    y = row_axis([row["row"] for row in rows])
    chart = {"data": {"values": rows}, "width": PLOT_WIDTH, "height": HEIGHT, "layer": ranged_bars(x, y)}
    alt_text = (
        f"Bar chart of price-to-sales multiples: OpenRouter at {d.show('peers.openrouter_ps')}; VVV at "
        f"{d.show('valuation.ps_current')} on current ARR ({d.show('valuation.fdv_ps_current')} on FDV) and "
        f"{d.show('valuation.ps_forward')} on forward ARR ({d.show('valuation.fdv_ps_forward')} on FDV)."
    )
    return chart, alt_text
