"""The scenario explorer: one interactive chart whose sliders recompute figures in the browser.

The browser evaluates the model's own formulas: each figure the chart shows is inlined, formula by formula, into a
Vega expression, the slider inputs become Vega-Lite params and every other input is its base value. The same spec
renders statically (at the base case) for the PDF and for readers without JavaScript. Which inputs get sliders and
which figures are shown is the project's choice (``explorer:`` in memo.yml).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from memo import expr, model
from memo.project import Driver


def vega_expression(
    figure: str, base: Mapping[str, float], definitions: Sequence[model.FigureDef], drivers: Sequence[Driver]
) -> str:
    """``figure`` as one Vega expression over the driver params, every other input at its base value."""
    by_name = {d.name: d for d in definitions}
    params = {d.input: f"{d.param} * {d.scale!r}" for d in drivers}

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


@dataclass(frozen=True)
class Explorer:
    """What a chart module sees of the explorer: the project's sliders and shown figures, and the model's formulas
    as Vega expressions at this build's inputs."""

    drivers: tuple[Driver, ...]
    shown: tuple[str, ...]
    definitions: tuple[model.FigureDef, ...]
    base: Mapping[str, float]

    def expression(self, figure: str) -> str:
        return vega_expression(figure, self.base, self.definitions, self.drivers)

    def initial(self, driver: Driver) -> float:
        return initial(driver, self.base)
