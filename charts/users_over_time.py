"""Registered users and paid subscribers at the two milestones the source reports (early February, mid-May)."""

import altair as alt
import pandas as pd

from memo.charts import HEIGHT, WIDTH, ChartData

TITLE = "Registered users and paid subscribers at two milestones"
SOURCE = "Source: Liberman (2026); paid subscribers in May are registered users times lifetime conversion."

GAP = 40  # px between the two panels


def _day(d: ChartData, name: str) -> str:
    date = d.input(name).base
    return f"{date.day} {date:%b %Y}"


def _panel(d: ChartData, heading: str, names: tuple[str, str], days: tuple[str, str], colors: tuple[str, str]):
    rows = [
        {"when": day, "value": d.value(name), "label": d.show(name), "color": color}
        for day, name, color in zip(days, names, colors, strict=True)
    ]
    top = max(row["value"] for row in rows) * 1.2
    base = alt.Chart(pd.DataFrame(rows)).encode(
        x=alt.X("when:N", sort=None, title=None, axis=alt.Axis(labelAngle=0, labelPadding=6, ticks=False)),
        y=alt.Y("value:Q", title=None, axis=None, scale=alt.Scale(domain=[0, top], nice=False)),
    )
    bars = base.mark_bar(size=64).encode(color=alt.Color("color:N", scale=None, legend=None))
    labels = base.mark_text(dy=-9, fontWeight=600, fontSize=12).encode(text="label:N")
    return (bars + labels).properties(
        width=(WIDTH - GAP) / 2,
        height=HEIGHT,
        title=alt.TitleParams(heading, anchor="start", fontSize=12, fontWeight=600, offset=6),
    )


def build(d: ChartData) -> tuple[alt.Chart, str]:
    days = (_day(d, "users.registered_earlier_date"), _day(d, "users.registered_date"))
    growth = d.show("users.paid_growth")
    registered = _panel(
        d,
        "Registered users",
        ("users.registered_earlier", "users.registered"),
        days,
        (d.colors["sky"], d.colors["blue"]),
    )
    paid = _panel(
        d,
        f"Paid subscribers (up {growth})",
        ("users.paid_earlier", "users.paid"),
        days,
        (d.colors["sky"], d.colors["blue"]),
    )
    chart = alt.hconcat(registered, paid, spacing=GAP).resolve_scale(y="independent", color="independent")
    alt_text = (
        f"Two bar charts. Registered users rose from {d.show('users.registered_earlier')} on {days[0]} "
        f"to {d.show('users.registered')} on {days[1]}; paid subscribers rose from {d.show('users.paid_earlier')} "
        f"to {d.show('users.paid')}, growth of {growth}."
    )
    return chart, alt_text
