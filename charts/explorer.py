"""The scenario explorer: sliders for the main drivers recompute forward ARR and P/S with the model's formulas."""

from memo.charts import WIDTH, ChartData

TITLE = "Scenario explorer: move the main drivers, watch forward ARR and P/S"
SOURCE = "Source: memo calculations; the model's own formulas, evaluated in the browser. Static at this build's inputs in print."
INTERACTIVE = True
PARTS = {
    "subs": "Subscription ARR",
    "api": "API ARR",
    "new_sub": "New subscription ARR",
    "new_api": "New API ARR",
}
FIELDS = ("subs", "api", "new_sub", "new_api", "forward", "ps")  # the fields for memo.yml's explorer.shown, in order


def build(d: ChartData) -> tuple[dict, str]:
    explorer = d.explorer
    for name in explorer.shown:
        d.figure(name)
    params = [
        {
            "name": driver.param,
            "value": explorer.initial(driver),
            "bind": {
                "input": "range",
                "min": driver.minimum,
                "max": driver.maximum,
                "step": driver.step,
                "name": driver.label + " ",
            },
        }
        for driver in explorer.drivers
    ]
    shown = zip(FIELDS, explorer.shown, strict=True)
    calculate = [{"calculate": explorer.expression(figure), "as": field} for field, figure in shown]
    labels = " : ".join(f"datum.part === '{key}' ? '{label}'" for key, label in PARTS.items()) + " : ''"
    summary = (
        "'Forward ARR $' + format(datum.forward / 1e6, '.3~r') + 'M' + "
        "'  \u00b7  forward P/S ' + format(datum.ps, '.1f') + 'x'"
    )
    spec = {
        "params": params,
        "data": {"values": [{"row": "Forward ARR"}]},
        "transform": calculate,
        "width": WIDTH,
        "height": 70,
        "layer": [
            {
                "transform": [
                    {"fold": list(PARTS), "as": ["part", "value"]},
                    {"calculate": labels, "as": "component"},
                    {"calculate": "datum.value / 1e6", "as": "millions"},
                    {"calculate": f"indexof({list(PARTS)!r}, datum.part)", "as": "rank"},
                ],
                "mark": {"type": "bar", "height": 34},
                "encoding": {
                    "y": {"field": "row", "type": "nominal", "title": None, "axis": None},
                    "x": {"field": "millions", "type": "quantitative", "stack": True, "title": "ARR ($M)"},
                    "color": {
                        "field": "component",
                        "type": "nominal",
                        "title": None,
                        "sort": list(PARTS.values()),
                        "scale": {
                            "domain": list(PARTS.values()),
                            "range": ["#0072B2", "#56B4E9", "#E69F00", "#F5C76B"],
                        },
                        "legend": {"orient": "bottom", "columns": 4},
                    },
                    "order": {"field": "rank", "type": "quantitative", "sort": "ascending"},
                },
            },
            {
                "transform": [{"calculate": summary, "as": "summary"}],
                "mark": {"type": "text", "align": "left", "dy": -30, "fontSize": 13, "fontWeight": 600},
                "encoding": {"text": {"field": "summary"}, "x": {"datum": 0}, "y": {"field": "row", "type": "nominal"}},
            },
        ],
    }
    alt_text = (
        f"Scenario explorer at this build's inputs: forward ARR {d.show('arr.forward')}, forward P/S "
        f"{d.show('valuation.ps_forward')}. Sliders for paid conversion, ARPPU, new subscription ARR, the API ratio "
        "for new revenue and market cap recompute both in the web version."
    )
    return spec, alt_text
