"""Scenarios, sensitivity and uncertainty: the model run many times in one build, vectorised.

Pure, like the model: quantities in, numbers out. Scenarios replace inputs; a sensitivity grid sweeps two inputs
(optionally with others in proportion, as a token price carries market cap and FDV); the tornado moves one ranged
input at a time across its range; the Monte Carlo draws every ranged input at once from its distribution with a
fixed seed, so a build stays byte-identical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from memo import model
from memo.validate import Grid, Scenario

PERCENTILES = (10, 50, 90)


def apply(inputs: Mapping[str, model.Quantity], overrides: Mapping[str, float]) -> dict[str, model.Quantity]:
    """The inputs with some replaced: a replaced input is a point (its range no longer applies)."""
    out = dict(inputs)
    for name, value in overrides.items():
        out[name] = model.Quantity(value, None, None, inputs[name].estimate)
    return out


def run_scenarios(
    inputs: Mapping[str, model.Quantity], scenarios: Mapping[str, Scenario]
) -> dict[str, dict[str, model.Figure]]:
    return {name: model.compute(apply(inputs, s.overrides)) for name, s in scenarios.items()}


def base_values(inputs: Mapping[str, model.Quantity]) -> dict[str, float]:
    return {name: q.base for name, q in inputs.items()}


@dataclass(frozen=True)
class GridResult:
    grid: Grid
    rows: tuple[float, ...]
    columns: tuple[float, ...]
    values: dict[str, np.ndarray]  # figure -> rows x columns
    base_row: int  # index of the axis value closest to the base case
    base_column: int


def sweep(inputs: Mapping[str, model.Quantity], grid: Grid) -> GridResult:
    """Every cell of a two-way grid in one vectorised evaluation."""
    values: dict[str, object] = dict(base_values(inputs))
    row_values = np.array(grid.rows.values, dtype=float)[:, None]
    column_values = np.array(grid.columns.values, dtype=float)[None, :]
    shape = (len(grid.rows.values), len(grid.columns.values))
    for axis, axis_values in ((grid.rows, row_values), (grid.columns, column_values)):
        base = inputs[axis.input].base
        values[axis.input] = np.broadcast_to(axis_values, shape)
        for scaled in axis.scales:
            values[scaled] = np.broadcast_to(inputs[scaled].base * axis_values / base, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = model.evaluate(values, grid.figures)
    out = {name: np.broadcast_to(np.asarray(result[name], dtype=float), shape).copy() for name in grid.figures}
    return GridResult(
        grid,
        grid.rows.values,
        grid.columns.values,
        out,
        _nearest(grid.rows.values, inputs[grid.rows.input].base),
        _nearest(grid.columns.values, inputs[grid.columns.input].base),
    )


def _nearest(values: Sequence[float], target: float) -> int:
    return int(np.argmin(np.abs(np.asarray(values) - target)))


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


def tornado(inputs: Mapping[str, model.Quantity], target: str) -> list[Swing]:
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
    result = np.broadcast_to(np.asarray(model.evaluate(values, [target])[target], dtype=float), (evaluations,))
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
) -> Simulation:
    targets = tuple(targets)
    sampled = draw(inputs, distributions, draws, seed)
    values: dict[str, object] = {**base_values(inputs), **sampled}
    with np.errstate(divide="ignore", invalid="ignore"):
        result = model.evaluate(values, targets)
    samples = {name: np.broadcast_to(np.asarray(result[name], dtype=float), (draws,)) for name in targets}
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
