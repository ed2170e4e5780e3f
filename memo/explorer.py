"""The scenario explorer: one interactive chart whose sliders recompute forward ARR and P/S in the browser.

The browser evaluates the model's own formulas: each figure the chart shows is inlined, formula by formula, into a
Vega expression, the slider inputs become Vega-Lite params and every other input is its base value. The same spec
renders statically (at the base case) for the PDF and for readers without JavaScript.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from memo import expr, model


@dataclass(frozen=True)
class Driver:
    input: str
    param: str
    label: str
    scale: float  # slider units -> model units (a slider in $M drives an input in dollars)
    minimum: float
    maximum: float
    step: float


DRIVERS = (
    Driver("users.conversion_rate", "conversion", "Paid conversion (%)", 0.01, 1, 12, 0.1),
    Driver("subs.arppu_monthly", "arppu", "ARPPU ($ a month)", 1, 10, 40, 0.5),
    Driver("growth.base_new_sub_arr", "new_arr", "New subscription ARR a year ($M)", 1e6, 0, 300, 5),
    Driver("api.ratio_recent", "api_ratio", "New API revenue per $ of subscriptions", 1, 0, 3, 0.05),
    Driver("valuation.market_cap", "market_cap", "Market cap ($M)", 1e6, 100, 3000, 10),
)
SHOWN = (
    "subs.arr",
    "api.arr",
    "growth.base_new_sub_arr",
    "growth.base_new_api_arr",
    "arr.forward",
    "valuation.ps_forward",
)


def vega_expression(
    figure: str, base: Mapping[str, float], definitions: tuple[model.FigureDef, ...] = model.FIGURES
) -> str:
    """``figure`` as one Vega expression over the driver params, every other input at its base value."""
    by_name = {d.name: d for d in definitions}
    params = {d.input: f"{d.param} * {d.scale!r}" for d in DRIVERS}

    def inline(name: str, own: str | None) -> str:
        if name in by_name and name != own:
            definition = by_name[name]
            return expr.to_javascript(definition.formula, lambda ref: inline(ref, definition.name))
        if name in params:
            return params[name]
        return repr(float(base[name]))

    return inline(figure, None)


def initial(driver: Driver, base: Mapping[str, float]) -> float:
    return round(base[driver.input] / driver.scale, 6)
