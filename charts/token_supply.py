"""Circulating against fully diluted VVV supply, one stacked bar, with the market cap and FDV they imply."""

from typing import Any

from memo.charts import INK, WIDTH, ChartData, nominal, quantitative

TITLE = "VVV supply: circulating and fully diluted"
SOURCE = "Source: Liberman (2026); memo calculations. Supply is market cap or FDV divided by the VVV price."

HEIGHT = 96  # one bar with a row of labels above and below it
BAR = (40, 68)  # the bar's vertical extent, in px from the bottom of the plot
LIGHT = "#DDE3EA"
MUTED = "#616E7C"
TEXT_FIELDS = ("x", "y", "text", "align", "color", "weight")


def _label_layers(texts: list[dict[str, Any]], x: dict[str, Any], y: dict[str, Any]) -> list[dict[str, Any]]:
    """One text layer per (alignment, weight), as a text mark takes neither from the data."""
    styles = sorted({(text["align"], text["weight"]) for text in texts})
    return [
        {
            "data": {"values": [text for text in texts if (text["align"], text["weight"]) == (align, weight)]},
            "mark": {
                "type": "text",
                "align": align,
                "baseline": "middle",
                "fontWeight": weight,
                "dx": -5 if align == "right" else 0,
            },
            "encoding": {"x": x, "y": y, "text": nominal("text"), "color": nominal("color", scale=None)},
        }
        for align, weight in styles
    ]


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    circulating = d.value("token.circulating_supply")
    diluted = d.value("token.fully_diluted_supply")
    low, high = BAR
    segments = [
        {"x": 0.0, "x2": circulating, "y": low, "y2": high, "color": d.colors["blue"]},
        {"x": circulating, "x2": diluted, "y": low, "y2": high, "color": LIGHT},
    ]
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
    x = quantitative("x", axis=None, scale={"domain": [0, diluted], "nice": False})
    y = quantitative("y", axis=None, scale={"domain": [0, HEIGHT], "nice": False})
    bar = {
        "data": {"values": segments},
        "mark": {"type": "rect", "stroke": "white", "strokeWidth": 1},
        "encoding": {
            "x": x,
            "x2": {"field": "x2"},
            "y": y,
            "y2": {"field": "y2"},
            "color": nominal("color", scale=None),
        },
    }
    # ticks marking where each quantity ends, reaching from the bar to its labels
    ticks = {
        "data": {"values": [{"x": end, "y": low - 6, "y2": high + 6} for end in (circulating, diluted)]},
        "mark": {"type": "rule", "color": INK, "strokeWidth": 1},
        "encoding": {"x": x, "y": y, "y2": {"field": "y2"}},
    }
    labels = _label_layers([dict(zip(TEXT_FIELDS, text, strict=True)) for text in texts], x, y)
    chart = {"width": WIDTH, "height": HEIGHT, "layer": [bar, ticks, *labels]}
    alt_text = (
        f"Stacked bar: {d.show('token.circulating_supply')} VVV circulate out of {d.show('token.fully_diluted_supply')} "
        f"fully diluted ({d.show('token.circulating_share')}); at {d.show('token.price')} a token that is a market cap "
        f"of {d.show('valuation.market_cap')} against an FDV of {d.show('valuation.fdv')}."
    )
    return chart, alt_text
