"""New subscription ARR added in each of the three weeks Venice published daily data for."""

from typing import Any

from memo.charts import HEIGHT, WIDTH, ChartData, nominal, quantitative

TITLE = "New subscription ARR added per week"
SOURCE = "Source: Liberman (2026) for weeks 1 and 3; week 2 is an estimate (\u2020), see Methodology."


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    weeks = [
        ("Week 1 (26 Apr\u20132 May)", "growth.weekly_new_sub_arr_first"),
        ("Week 2 (3\u20139 May)", "growth.weekly_new_sub_arr_mid"),
        ("Week 3 (10\u201316 May)", "growth.weekly_new_sub_arr_last"),
    ]
    rows = [
        {
            "week": label,
            "arr": d.value(name) / 1e6,
            "label": d.show(name),
            "kind": "Estimate" if d.figure(name).estimate else "Reported",
        }
        for label, name in weeks
    ]
    position = {
        "x": nominal("week", sort=None, title=None, axis={"labelAngle": 0}),
        "y": quantitative(
            "arr",
            title="New subscription ARR per week ($M)",
            scale={"domain": [0, max(row["arr"] for row in rows) * 1.18], "nice": False},
        ),
    }
    kind = {"domain": ["Reported", "Estimate"], "range": [d.colors["blue"], d.colors["sky"]]}
    chart = {
        "data": {"values": rows},
        "width": WIDTH,
        "height": HEIGHT,
        "layer": [
            {
                "mark": {"type": "bar", "size": 70},
                "encoding": {**position, "color": nominal("kind", title=None, scale=kind)},
            },
            {"mark": {"type": "text", "dy": -8, "fontWeight": 600}, "encoding": {**position, "text": nominal("label")}},
        ],
    }
    alt_text = (
        "Bar chart of new subscription ARR added per week: "
        + "; ".join(f"{row['week']}: {row['label']}" for row in rows)
        + f". From week 1 to week 3 the weekly figure was {d.moved('growth.acceleration')}."
    )
    return chart, alt_text
