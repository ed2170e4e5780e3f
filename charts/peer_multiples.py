"""Price-to-sales multiples: VVV on current and forward ARR, by market cap and by FDV, beside OpenRouter."""

import altair as alt
import pandas as pd

from memo.charts import GREY, HEIGHT, WIDTH, ChartData, ranged_bars, row_axis

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


def build(d: ChartData) -> tuple[alt.Chart, str]:
    rows = []
    for label, name, group in ROWS:
        color = {"peer": GREY, "cap": d.colors["blue"], "fdv": d.colors["sky"]}[group]
        rows.append({"row": label, **d.bar(name), "color": color})
    frame = pd.DataFrame(rows)
    order = [row["row"] for row in rows]
    top = max(row["end"] for row in rows) * 1.12
    y = row_axis(order)
    x = alt.X(
        "value:Q",
        title="Price-to-sales multiple (x)",
        scale=alt.Scale(domain=[0, top], nice=False),
        axis=alt.Axis(tickCount=6, labelExpr="datum.label + 'x'"),
    )
    base = alt.Chart(frame)
    chart = alt.layer(*ranged_bars(base, x, y)).properties(width=PLOT_WIDTH, height=HEIGHT)
    alt_text = (
        f"Bar chart of price-to-sales multiples: OpenRouter at {d.show('peers.openrouter_ps')}; VVV at "
        f"{d.show('valuation.ps_current')} on current ARR ({d.show('valuation.fdv_ps_current')} on FDV) and "
        f"{d.show('valuation.ps_forward')} on forward ARR ({d.show('valuation.fdv_ps_forward')} on FDV)."
    )
    return chart, alt_text
