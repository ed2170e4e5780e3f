"""Circulating against fully diluted VVV supply, one stacked bar, with the market cap and FDV they imply."""

import altair as alt
import pandas as pd

from memo.charts import INK, WIDTH, ChartData

TITLE = "VVV supply: circulating and fully diluted"
SOURCE = "Source: Liberman (2026); memo calculations. Supply is market cap or FDV divided by the VVV price."

HEIGHT = 96  # one bar with a row of labels above and below it
BAR = (40, 68)  # the bar's vertical extent, in px from the bottom of the plot
LIGHT = "#DDE3EA"
MUTED = "#616E7C"


def build(d: ChartData) -> tuple[alt.Chart, str]:
    circulating = d.value("token.circulating_supply")
    diluted = d.value("token.fully_diluted_supply")
    low, high = BAR
    segments = pd.DataFrame(
        [
            {"x": 0.0, "x2": circulating, "y": low, "y2": high, "color": d.colors["blue"]},
            {"x": circulating, "x2": diluted, "y": low, "y2": high, "color": LIGHT},
        ]
    )
    texts = [
        # (x, y, text, align, colour, weight)
        (circulating, high + 14, f"Circulating: {d.show('token.circulating_supply')} VVV", "right", INK, 600),
        (diluted, high + 14, f"Fully diluted: {d.show('token.fully_diluted_supply')} VVV", "right", INK, 600),
        (circulating, low - 14, f"Market cap {d.show('valuation.market_cap')}", "right", INK, 400),
        (diluted, low - 14, f"FDV {d.show('valuation.fdv')}", "right", INK, 400),
        (
            8 * diluted / WIDTH,
            (low + high) / 2,
            f"{d.show('token.circulating_share')} circulating",
            "left",
            "white",
            600,
        ),
        (
            diluted - 3 * diluted / WIDTH,
            (low + high) / 2,
            "Not yet circulating",
            "right",
            INK,
            400,
        ),
        (0, low - 32, f"Both at a VVV price of {d.show('token.price')}", "left", MUTED, 400),
    ]
    frame = pd.DataFrame(texts, columns=["x", "y", "text", "align", "color", "weight"])
    x = alt.X("x:Q", axis=None, scale=alt.Scale(domain=[0, diluted], nice=False))
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[0, HEIGHT], nice=False))
    bar = (
        alt.Chart(segments)
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(x=x, x2="x2:Q", y=y, y2="y2:Q", color=alt.Color("color:N", scale=None))
    )
    # ticks marking where each quantity ends, reaching from the bar to its labels
    ticks = (
        alt.Chart(
            pd.DataFrame(
                [{"x": circulating, "y": low - 6, "y2": high + 6}, {"x": diluted, "y": low - 6, "y2": high + 6}]
            )
        )
        .mark_rule(color=INK, strokeWidth=1)
        .encode(x=x, y=y, y2="y2:Q")
    )
    labels = [
        alt.Chart(frame[(frame["align"] == align) & (frame["weight"] == weight)])
        .mark_text(align=align, baseline="middle", fontWeight=weight, dx=-5 if align == "right" else 0)
        .encode(x=x, y=y, text="text:N", color=alt.Color("color:N", scale=None))
        for align, weight in sorted(set(zip(frame["align"], frame["weight"], strict=True)))
    ]
    chart = alt.layer(bar, ticks, *labels).properties(width=WIDTH, height=HEIGHT)
    alt_text = (
        f"Stacked bar: {d.show('token.circulating_supply')} VVV circulate out of {d.show('token.fully_diluted_supply')} "
        f"fully diluted ({d.show('token.circulating_share')}); at {d.show('token.price')} a token that is a market cap "
        f"of {d.show('valuation.market_cap')} against an FDV of {d.show('valuation.fdv')}."
    )
    return chart, alt_text
