"""API share of revenue: Venice today and at the margin, against ChatGPT, Anthropic and their midpoint."""

from typing import Any

from memo.charts import GREY, WIDTH, ChartData, quantitative, ranged_bars, row_axis

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


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    rows = []
    for label, name, venice in ROWS:
        row = label.format(ratio=d.show("api.ratio_recent"))
        rows.append({"row": row, **d.bar(name), "full": 1.0, "color": d.colors["blue"] if venice else GREY})
    x = quantitative(
        "value",
        title="API share of revenue (the rest of each bar is subscriptions)",
        scale={"domain": [0, 1], "nice": False},
        axis={"format": "%", "values": [0, 0.25, 0.5, 0.75, 1], "grid": False},
    )
    y = row_axis([row["row"] for row in rows])
    track = {
        "mark": {"type": "bar", "color": TRACK},
        "encoding": {"x": quantitative("full", scale={"domain": [0, 1]}), "y": y},
    }
    chart = {"data": {"values": rows}, "width": PLOT_WIDTH, "height": HEIGHT, "layer": [track, *ranged_bars(x, y)]}
    alt_text = (
        f"Bar chart of the API share of revenue: ChatGPT {d.show('api.chatgpt_api_share')}, Venice's current ARR "
        f"{d.show('arr.api_share')}{d.range_note('arr.api_share')}, Venice's new revenue "
        f"{d.show('api.share_of_new_revenue')}, the peer midpoint {d.show('api.peer_midpoint_share')} and Anthropic "
        f"{d.show('api.anthropic_api_share')}."
    )
    return chart, alt_text
