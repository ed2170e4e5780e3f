"""API share of revenue: Venice today and at the margin, against ChatGPT, Anthropic and their midpoint."""

import altair as alt
import pandas as pd

from memo.charts import GREY, WIDTH, ChartData, ranged_bars, row_axis

TITLE = "API share of revenue: Venice against ChatGPT and Anthropic"
SOURCE = (
    "Source: Liberman (2026); memo calculations. Venice's new revenue assumes the recent ratio of new API to "
    "new subscription revenue. Whiskers show the low\u2013high range."
)

PLOT_WIDTH = WIDTH - 100  # the row labels take about 170 px to the left
HEIGHT = 200
TRACK = "#E4E7EB"
ROWS = [
    # (row label, figure, Venice's own)
    ("ChatGPT", "api.chatgpt_api_share", False),
    ("Venice, current ARR", "arr.api_share", True),
    ("Venice, new revenue ({ratio})", "api.share_of_new_revenue", True),
    ("Midpoint of the two peers", "api.peer_midpoint_share", False),
    ("Anthropic", "api.anthropic_api_share", False),
]


def build(d: ChartData) -> tuple[alt.Chart, str]:
    rows = []
    for label, name, venice in ROWS:
        row = label.format(ratio=d.show("api.ratio_recent"))
        rows.append({"row": row, **d.bar(name), "full": 1.0, "color": d.colors["blue"] if venice else GREY})
    frame = pd.DataFrame(rows)
    order = [row["row"] for row in rows]
    y = row_axis(order)
    x = alt.X(
        "value:Q",
        title="API share of revenue (the rest of each bar is subscriptions)",
        scale=alt.Scale(domain=[0, 1], nice=False),
        axis=alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1], grid=False),
    )
    base = alt.Chart(frame)
    track = base.mark_bar(color=TRACK).encode(x=alt.X("full:Q", scale=alt.Scale(domain=[0, 1])), y=y)
    chart = alt.layer(track, *ranged_bars(base, x, y)).properties(width=PLOT_WIDTH, height=HEIGHT)
    alt_text = (
        f"Bar chart of the API share of revenue: ChatGPT {d.show('api.chatgpt_api_share')}, Venice's current ARR "
        f"{d.show('arr.api_share')}{d.range_note('arr.api_share')}, Venice's new revenue "
        f"{d.show('api.share_of_new_revenue')}, the peer midpoint {d.show('api.peer_midpoint_share')} and Anthropic "
        f"{d.show('api.anthropic_api_share')}."
    )
    return chart, alt_text
