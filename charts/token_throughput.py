"""Daily token throughput against paid subscribers, both indexed to early February: usage grew twice as fast."""

import altair as alt
import pandas as pd

from memo.charts import HEIGHT, INK, WIDTH, ChartData

TITLE = "Daily token throughput against paid subscribers, indexed"
SOURCE = "Source: Liberman (2026); memo calculations. Both series indexed to the first observation = 1.0x."

START, END = 0.0, 1.0  # x positions of the two observations
BRACKET = 1.05  # x of the bracket spanning the two end points
TEXT = 1.09  # x where the end labels start
RIGHT = 1.75  # right edge of the x domain: room for the labels


def build(d: ChartData) -> tuple[alt.Chart, str]:
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
    points = pd.DataFrame(
        [
            {"series": name, "x": x, "index": index, "color": color}
            for name, end, color, _, _ in series
            for x, index in ((START, 1.0), (END, end))
        ]
    )
    labels = pd.DataFrame(
        [
            {"x": TEXT, "index": end, "head": head, "detail": detail, "color": color}
            for _, end, color, head, detail in series
        ]
    )
    top = max(tokens, paid) * 1.12
    ticks = [1 + step / 2 for step in range(int((top - 1) * 2) + 1)]
    first, last = (f"{d.input(name).base:%B %Y}" for name in ("users.registered_earlier_date", "users.registered_date"))
    x = alt.X(
        "x:Q",
        title=None,
        scale=alt.Scale(domain=[START - 0.06, RIGHT], nice=False, zero=False),
        axis=alt.Axis(
            values=[START, END],
            labelExpr=f"datum.value < 0.5 ? '{first}' : '{last}'",
            grid=False,
            ticks=False,
            labelPadding=6,
            domain=False,
        ),
    )
    y = alt.Y(
        "index:Q",
        title=f"Index, {first} = 1.0x",
        scale=alt.Scale(domain=[0.8, top], nice=False, zero=False),
        axis=alt.Axis(values=ticks, format=".1f", labelExpr="datum.label + 'x'", grid=False),
    )
    color = alt.Color("color:N", scale=None, legend=None)
    baseline = (
        alt.Chart(pd.DataFrame([{"x": START, "x2": END, "index": 1.0}]))
        .mark_rule(color="#9AA5B1", strokeDash=[3, 3], strokeWidth=1)
        .encode(x=x, x2="x2:Q", y=y)
    )
    lines = alt.Chart(points).mark_line(strokeWidth=2.5).encode(x=x, y=y, color=color, detail="series:N")
    dots = alt.Chart(points).mark_point(filled=True, size=60, opacity=1).encode(x=x, y=y, color=color)
    heads = (
        alt.Chart(labels)
        .mark_text(align="left", baseline="middle", fontWeight=600, dy=-8)
        .encode(x=x, y=y, text="head:N", color=color)
    )
    details = alt.Chart(labels).mark_text(align="left", baseline="middle", dy=8).encode(x=x, y=y, text="detail:N")
    bracket = alt.Chart(
        pd.DataFrame(
            [
                {
                    "x": BRACKET,
                    "x2": BRACKET - 0.015,
                    "xt": TEXT,
                    "low": paid,
                    "high": tokens,
                    "mid": (paid + tokens) / 2,
                }
            ]
        )
    )
    rule = {"color": INK, "strokeWidth": 1}
    spine = bracket.mark_rule(**rule).encode(x=x, y="low:Q", y2="high:Q")
    caps = alt.layer(
        bracket.mark_rule(**rule).encode(x=x, x2="x2:Q", y="low:Q"),
        bracket.mark_rule(**rule).encode(x=x, x2="x2:Q", y="high:Q"),
    )
    note = bracket.mark_text(align="left", baseline="middle", lineHeight=15).encode(
        x="xt:Q",
        y="mid:Q",
        text=alt.value([f"{d.show('usage.tokens_per_paid_user_growth')} tokens", "per paid subscriber"]),
    )
    chart = alt.layer(baseline, lines, dots, heads, details, spine, caps, note).properties(width=WIDTH, height=HEIGHT)
    alt_text = (
        f"Index chart from {first} (1.0x) to {last}: daily tokens processed rose {d.show('usage.tokens_per_day_growth')}, "
        f"from {d.show('usage.tokens_per_day_early')} to {d.show('usage.tokens_per_day_latest')} a day, while paid "
        f"subscribers rose {d.fmt.multiple(paid)}, so throughput per paid subscriber grew "
        f"{d.show('usage.tokens_per_paid_user_growth')}."
    )
    return chart, alt_text
