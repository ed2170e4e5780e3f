"""Scenarios, sensitivity and uncertainty: the model run many times in one build, vectorised.

Pure, like the model: quantities in, numbers out. Scenarios replace inputs; a sensitivity grid sweeps two inputs
(optionally with others in proportion, as a token price carries market cap and FDV); the tornado moves one ranged
input at a time across its range; the Monte Carlo draws every ranged input at once from its distribution with a
fixed seed, so a build stays byte-identical.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from memo import model
from memo.validate import Grid, Scenario

PERCENTILES = (10, 50, 90)
Definitions = tuple[model.FigureDef, ...]


def apply(inputs: Mapping[str, model.Quantity], overrides: Mapping[str, float]) -> dict[str, model.Quantity]:
    """The inputs with some replaced: a replaced input is a point (its range no longer applies)."""
    out = dict(inputs)
    for name, value in overrides.items():
        out[name] = model.Quantity(value, None, None, inputs[name].estimate)
    return out


def run_scenarios(
    inputs: Mapping[str, model.Quantity], scenarios: Mapping[str, Scenario], definitions: Definitions
) -> dict[str, dict[str, model.Figure]]:
    out = {}
    for name, scenario in scenarios.items():
        try:
            out[name] = model.compute(apply(inputs, scenario.overrides), definitions)
        except model.ModelError as exc:
            raise model.ModelError(f"in the {name} scenario: {exc}") from None
    return out


def _finite(values: Mapping[str, np.ndarray], what: str) -> None:
    """Refuse an analysis in which a figure has no finite value somewhere: a grid cell, a draw, a swing."""
    for name, array in values.items():
        if model.not_finite(array):
            raise model.ModelError(
                f"{name} is not a finite number {what}; check the inputs it reads for 0 or extreme values"
            )


def base_values(inputs: Mapping[str, model.Quantity]) -> dict[str, float]:
    return {name: q.base for name, q in inputs.items()}


@dataclass(frozen=True)
class BasePlace:
    """Where an axis's base value lies among the axis values (increasing), for a caption to say so.

    ``kind`` is one of:

    - ``"on_grid"``: an axis value equals the base (math.isclose, rel_tol 1e-9); ``index`` is its position and
      ``neighbours`` is None.
    - ``"between"``: the base lies strictly between two adjacent axis values; ``neighbours`` is (lower, upper)
      and ``index`` is the lower one's position (the upper one is at ``index + 1``).
    - ``"below"``: the base is below the lowest axis value; ``index`` and ``neighbours`` are None.
    - ``"above"``: the base is above the highest axis value; ``index`` and ``neighbours`` are None.
    """

    kind: str
    index: int | None = None
    neighbours: tuple[float, float] | None = None


def base_place(values: Sequence[float], base: float) -> BasePlace:
    """Where ``base`` lies among ``values`` (distinct, increasing, at least one)."""
    for i, value in enumerate(values):
        if math.isclose(value, base, rel_tol=1e-9):
            return BasePlace("on_grid", i)
    if base < values[0]:
        return BasePlace("below")
    if base > values[-1]:
        return BasePlace("above")
    i = next(i for i in range(len(values) - 1) if values[i] < base < values[i + 1])
    return BasePlace("between", i, (float(values[i]), float(values[i + 1])))


@dataclass(frozen=True)
class GridResult:
    grid: Grid
    rows: tuple[float, ...]  # the values the rows sweep (relative axes computed from the base, illegal ones dropped)
    columns: tuple[float, ...]
    values: dict[str, np.ndarray]  # figure -> rows x columns
    base_row: int | None  # index of the row whose value is the base case, None when the base is not on the grid
    base_column: int | None
    row_base: float  # the base value of the rows' input (dates as day numbers)
    column_base: float
    row_place: BasePlace  # where row_base lies among the rows
    column_place: BasePlace
    dropped_rows: tuple[float, ...]  # computed axis values the input cannot take, left off the grid, in order
    dropped_columns: tuple[float, ...]

    @property
    def base_on_grid(self) -> bool:
        """Both axes pass through the base, so one cell is the base case."""
        return self.base_row is not None and self.base_column is not None


def sweep(inputs: Mapping[str, model.Quantity], grid: Grid, definitions: Definitions) -> GridResult:
    """Every cell of a two-way grid in one vectorised evaluation."""
    values: dict[str, object] = dict(base_values(inputs))
    row_base, column_base = inputs[grid.rows.input].base, inputs[grid.columns.input].base
    rows, dropped_rows = grid.rows.points(row_base)
    columns, dropped_columns = grid.columns.points(column_base)
    row_values = np.array(rows, dtype=float)[:, None]
    column_values = np.array(columns, dtype=float)[None, :]
    shape = (len(rows), len(columns))
    for axis, axis_values in ((grid.rows, row_values), (grid.columns, column_values)):
        base = inputs[axis.input].base
        values[axis.input] = np.broadcast_to(axis_values, shape)
        for scaled in axis.scales:
            values[scaled] = np.broadcast_to(inputs[scaled].base * axis_values / base, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = model.evaluate(values, grid.figures, definitions=definitions)
    out = {name: np.broadcast_to(np.asarray(result[name], dtype=float), shape).copy() for name in grid.figures}
    for name, cells in out.items():
        bad = np.argwhere(~np.isfinite(cells))
        if len(bad):
            row, column = (int(i) for i in bad[0])
            at = f"{grid.rows.input} = {rows[row]:.6g}, {grid.columns.input} = {columns[column]:.6g}"
            _finite({name: cells}, f"in the sensitivity grid {grid.name} at {at}")
    row_place, column_place = base_place(rows, row_base), base_place(columns, column_base)
    return GridResult(
        grid,
        rows,
        columns,
        out,
        row_place.index if row_place.kind == "on_grid" else None,
        column_place.index if column_place.kind == "on_grid" else None,
        float(row_base),
        float(column_base),
        row_place,
        column_place,
        dropped_rows,
        dropped_columns,
    )


@dataclass(frozen=True)
class Swing:
    input: str
    low: float
    high: float
    at_low: float
    at_high: float

    @property
    def width(self) -> float:
        return abs(self.at_high - self.at_low)


def tornado(inputs: Mapping[str, model.Quantity], target: str, definitions: Definitions) -> list[Swing]:
    """How far ``target`` moves as each ranged input it depends on crosses its range, widest first."""
    ranged = [name for name, q in inputs.items() if q.low is not None]
    base = base_values(inputs)
    values: dict[str, object] = dict(base)
    # two evaluations per input, all in one vectorised pass: column 2k is input k at its low, 2k+1 at its high
    for k, name in enumerate(ranged):
        column = np.full(2 * len(ranged), base[name])
        column[2 * k], column[2 * k + 1] = inputs[name].low, inputs[name].high
        values[name] = column
    evaluations = 2 * len(ranged)
    result = np.broadcast_to(
        np.asarray(model.evaluate(values, [target], definitions=definitions)[target], dtype=float), (evaluations,)
    )
    _finite({target: result}, "when a ranged input it reads is at an end of its range (tornado)")
    swings = [
        Swing(name, inputs[name].low, inputs[name].high, float(result[2 * k]), float(result[2 * k + 1]))
        for k, name in enumerate(ranged)
    ]
    return sorted((s for s in swings if s.width > 0), key=lambda s: (-s.width, s.input))


@dataclass(frozen=True)
class Simulation:
    draws: int
    seed: int
    ranged: tuple[str, ...]
    samples: dict[str, np.ndarray]  # figure -> draws
    percentiles: dict[str, dict[int, float]]  # figure -> {10: .., 50: .., 90: ..}


def draw(
    inputs: Mapping[str, model.Quantity], distributions: Mapping[str, str], draws: int, seed: int
) -> dict[str, np.ndarray]:
    """One array of draws per ranged input, in a fixed order, from a seeded generator."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name in sorted(inputs):
        q = inputs[name]
        if q.low is None or q.high is None or q.low == q.high:
            continue
        if distributions.get(name, "triangular") == "uniform":
            out[name] = rng.uniform(q.low, q.high, draws)
        else:
            out[name] = rng.triangular(q.low, q.base, q.high, draws)
    return out


def monte_carlo(
    inputs: Mapping[str, model.Quantity],
    distributions: Mapping[str, str],
    targets: Iterable[str],
    draws: int,
    seed: int,
    definitions: Definitions,
) -> Simulation:
    targets = tuple(targets)
    sampled = draw(inputs, distributions, draws, seed)
    values: dict[str, object] = {**base_values(inputs), **sampled}
    with np.errstate(divide="ignore", invalid="ignore"):
        result = model.evaluate(values, targets, definitions=definitions)
    samples = {name: np.broadcast_to(np.asarray(result[name], dtype=float), (draws,)) for name in targets}
    _finite(samples, f"in some of the {draws} Monte Carlo draws")
    percentiles = {
        name: dict(zip(PERCENTILES, (float(v) for v in np.percentile(s, PERCENTILES)), strict=True))
        for name, s in samples.items()
    }
    return Simulation(draws, seed, tuple(sampled), samples, percentiles)


def histogram(samples: np.ndarray, bins: int = 40) -> list[tuple[float, float, float]]:
    """(bin start, bin end, share of draws) for a chart; deterministic for the same samples."""
    counts, edges = np.histogram(samples, bins=bins)
    total = counts.sum()
    return [(float(edges[i]), float(edges[i + 1]), float(counts[i] / total)) for i in range(len(counts))]


def scoped_figures(
    scenario: str, figures: Mapping[str, model.Figure], overridden: Iterable[str]
) -> dict[str, model.Figure]:
    """A scenario's figures under ``scenario.NAME.``, each reading the scenario's own figures and inputs, so
    provenance holds across scenarios: a replaced input is named ``scenario.NAME.INPUT``."""
    prefix = f"scenario.{scenario}."
    replaced = set(overridden)
    out = {}
    for name, figure in figures.items():
        refs = tuple(
            prefix + ref if (ref in figures and ref != name) or ref in replaced else ref for ref in figure.inputs
        )
        out[prefix + name] = model.Figure(
            name=prefix + name,
            label=f"{figure.label} ({scenario} scenario)",
            unit=figure.unit,
            formula=figure.formula,
            inputs=refs,
            value=figure.value,
            low=figure.low,
            high=figure.high,
            estimate=figure.estimate,
        )
    return out


def percentile_figures(simulation: Simulation, figures: Mapping[str, model.Figure]) -> dict[str, model.Figure]:
    out = {}
    for name, values in simulation.percentiles.items():
        figure = figures[name]
        for p, value in values.items():
            out[f"uncertainty.{name}.p{p}"] = model.Figure(
                name=f"uncertainty.{name}.p{p}",
                label=f"{figure.label}, P{p} of {simulation.draws:,} draws",
                unit=figure.unit,
                formula=f"P{p} of {name} over {simulation.draws} draws of {', '.join(simulation.ranged)}",
                inputs=(name, *simulation.ranged),
                value=value,
                low=None,
                high=None,
                estimate=figure.estimate,
            )
    return out
