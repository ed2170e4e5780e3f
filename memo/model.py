"""The calculation model: every figure the memo states, as a formula over inputs and other figures.

The formulas are the project's (its model file, read by ``memo.project``); this module evaluates them. Pure: no I/O,
no formatting. ``compute`` takes typed quantities and returns typed figures. A name in a formula
means the figure of that name when one exists (other than the figure itself), otherwise the input of that name,
so a figure's ``inputs`` are exactly the names its formula reads, and provenance follows from the formulas.

Ranges: every input with low/high is swept over the corners of the box they span, in one vectorised evaluation,
and each figure's low/high are the extremes it takes there (exact for the monotone formulas used here).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from memo import expr
from memo.schema import InputSpec, Unit

MAX_RANGED_INPUTS = 16


@dataclass(frozen=True)
class FigureDef:
    name: str
    label: str
    unit: str
    formula: str

    @cached_property
    def expression(self) -> expr.Expr:
        return expr.parse(self.formula)


@dataclass(frozen=True)
class Quantity:
    """A model input: a base value and, where the source gives one, a range."""

    base: float
    low: float | None = None
    high: float | None = None
    estimate: bool = False


@dataclass(frozen=True)
class Figure:
    name: str
    label: str
    unit: str
    formula: str
    inputs: tuple[str, ...]
    value: float
    low: float | None
    high: float | None
    estimate: bool  # depends, directly or not, on an input marked as an estimate


class ModelError(ValueError):
    """The formulas or inputs do not make a computable model."""


@dataclass(frozen=True, eq=False)
class Spec:
    """A project's model: its units (the engine's and its own), the inputs its assumptions file gives, and the
    figures computed from them, in the order the project lists them."""

    units: Mapping[str, Unit]
    inputs: Mapping[str, InputSpec]
    figures: tuple[FigureDef, ...]

    @cached_property
    def groups(self) -> tuple[str, ...]:
        """The input groups: the top-level keys of the assumptions file that hold inputs."""
        return tuple(dict.fromkeys(name.split(".", 1)[0] for name in self.inputs))

    @cached_property
    def figure_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.figures)

    def unit_of(self, input_name: str) -> Unit:
        return self.units[self.inputs[input_name].unit]


def reach(
    inputs_of: Mapping[str, Sequence[str]], name: str, memo: dict[str, tuple[str, ...]] | None = None
) -> tuple[str, ...]:
    """The inputs ``name`` rests on, directly or through other figures, in first-seen order. ``inputs_of`` maps
    each figure to the names its formula reads; a name is a figure when it is a key (other than the figure
    itself), otherwise an input. Works on the model's figures and on figures.json alike."""
    memo = {} if memo is None else memo
    if name not in memo:
        memo[name] = ()  # a guard; formulas are acyclic (evaluation_order refuses cycles)
        seen: dict[str, None] = {}
        for ref in inputs_of[name]:
            for item in reach(inputs_of, ref, memo) if ref in inputs_of and ref != name else (ref,):
                seen.setdefault(item, None)
        memo[name] = tuple(seen)
    return memo[name]


def figure_refs(definition: FigureDef, figure_names: set[str]) -> list[str]:
    """The figures (not inputs) a definition reads."""
    return [n for n in definition.expression.names if n in figure_names and n != definition.name]


def evaluation_order(definitions: tuple[FigureDef, ...]) -> list[FigureDef]:
    by_name = {d.name: d for d in definitions}
    if len(by_name) != len(definitions):
        raise ModelError("two figures share a name")
    names = set(by_name)
    order: list[FigureDef] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise ModelError("circular formulas: " + " -> ".join((*chain, name)))
        state[name] = 1
        for ref in figure_refs(by_name[name], names):
            visit(ref, (*chain, name))
        state[name] = 2
        order.append(by_name[name])

    for definition in definitions:
        visit(definition.name, ())
    return order


def required_inputs(definitions: tuple[FigureDef, ...]) -> set[str]:
    names = {d.name for d in definitions}
    return {n for d in definitions for n in d.expression.names if n not in names or n == d.name}


def compute(inputs: Mapping[str, Quantity], definitions: tuple[FigureDef, ...]) -> dict[str, Figure]:
    """Evaluate every figure at the base case and over the corners of the ranged inputs."""
    missing = sorted(required_inputs(definitions) - set(inputs))
    if missing:
        raise ModelError(f"inputs missing: {', '.join(missing)}")
    order = evaluation_order(definitions)
    figure_names = {d.name for d in definitions}
    base_env = {name: np.float64(q.base) for name, q in inputs.items()}
    corner_env = _corner_env(inputs)
    base = _evaluate(order, base_env, figure_names)
    corners = _evaluate(order, corner_env, figure_names)
    ranged = {name for name, q in inputs.items() if q.low is not None}
    estimated = {name for name, q in inputs.items() if q.estimate}

    out: dict[str, Figure] = {}
    inputs_of = {d.name: d.expression.names for d in definitions}
    reaches: dict[str, tuple[str, ...]] = {}
    for definition in order:
        direct = definition.expression.names
        rests_on = set(reach(inputs_of, definition.name, reaches))
        value = float(base[definition.name])
        if not math.isfinite(value):
            read = {n: _Scope(base, base_env, definition.name, figure_names)[n] for n in direct}
            raise ModelError(_not_finite(definition, value, read))
        low = high = None
        if rests_on & ranged:
            sweep = np.asarray(corners[definition.name], dtype=float)
            if not np.all(np.isfinite(sweep)):
                at = int(np.flatnonzero(~np.isfinite(sweep))[0])
                scope = _Scope(corners, corner_env, definition.name, figure_names)
                read = {n: np.broadcast_to(np.asarray(scope[n], dtype=float), sweep.shape)[at] for n in direct}
                ends = sorted(rests_on & ranged)
                where = f" at an end of the ranges of {', '.join(ends)}"
                raise ModelError(_not_finite(definition, float(sweep[at]), read, where))
            low, high = float(np.min(sweep)), float(np.max(sweep))
        out[definition.name] = Figure(
            name=definition.name,
            label=definition.label,
            unit=definition.unit,
            formula=definition.formula,
            inputs=direct,
            value=value,
            low=low,
            high=high,
            estimate=bool(rests_on & estimated),
        )
    return {d.name: out[d.name] for d in definitions}


def _not_finite(definition: FigureDef, value: float, read: Mapping[str, object], where: str = "") -> str:
    """Why a figure has no value: its name, its formula and the values it read."""
    what = "nan" if math.isnan(value) else "infinite"
    detail = ", ".join(f"{n} = {float(v):.6g}" for n, v in read.items()) or "no inputs"  # type: ignore[arg-type]
    return (
        f"{definition.name} = {definition.formula} is not a finite number ({what}{where}, with {detail}); "
        "check the inputs it reads for 0 or extreme values"
    )


def not_finite(values: object) -> bool:
    """True when a value, or any value of an array, is infinite or not a number."""
    return not bool(np.all(np.isfinite(np.asarray(values, dtype=float))))


def evaluate(
    values: Mapping[str, object], targets: Iterable[str] | None = None, *, definitions: tuple[FigureDef, ...]
) -> dict[str, object]:
    """Figures from plain input values, floats or numpy arrays alike (no ranges): the engine behind scenario
    sweeps, sensitivity grids and Monte Carlo draws. With ``targets``, only the figures they need are computed."""
    order = evaluation_order(definitions)
    names = {d.name for d in definitions}
    if targets is not None:
        needed: set[str] = set()
        by_name = {d.name: d for d in order}
        stack = list(targets)
        while stack:
            name = stack.pop()
            if name not in needed:
                needed.add(name)
                stack += figure_refs(by_name[name], names)
        order = [d for d in order if d.name in needed]
    return _evaluate(order, dict(values), names)


def _corner_env(inputs: Mapping[str, Quantity]) -> dict[str, object]:
    ranged = [name for name, q in inputs.items() if q.low is not None and q.high is not None]
    if len(ranged) > MAX_RANGED_INPUTS:
        raise ModelError(f"{len(ranged)} inputs carry ranges; the model sweeps at most {MAX_RANGED_INPUTS}")
    env: dict[str, object] = {name: q.base for name, q in inputs.items()}
    if ranged:
        grid = np.array(list(itertools.product((0, 1), repeat=len(ranged))), dtype=float)
        for column, name in enumerate(ranged):
            q = inputs[name]
            env[name] = np.where(grid[:, column] == 0, q.low, q.high)
    return env


def _evaluate(order: list[FigureDef], env: dict[str, object], figure_names: set[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    with np.errstate(all="ignore"):
        for definition in order:
            scope = _Scope(values, env, definition.name, figure_names)
            values[definition.name] = definition.expression.evaluate(scope)
    return values


class _Scope(Mapping[str, object]):
    """Name lookup for one formula: figures first (never itself), then inputs."""

    def __init__(self, figures: dict[str, object], inputs: dict[str, object], own: str, names: set[str]) -> None:
        self._figures, self._inputs, self._own, self._names = figures, inputs, own, names

    def __getitem__(self, name: str) -> object:
        if name in self._names and name != self._own:
            return self._figures[name]
        return self._inputs[name]

    def __iter__(self):  # pragma: no cover - Mapping protocol only
        return iter(self._inputs)

    def __len__(self) -> int:  # pragma: no cover - Mapping protocol only
        return len(self._inputs)


@dataclass(frozen=True)
class Check:
    """A figure the source states, compared with the model run on the source's own inputs (``model``, ``holds``:
    a property of the source, whatever a build changes) and with this build's figure (``build``, ``build_holds``)."""

    figure: str
    where: str
    stated: dict[str, float]
    model: dict[str, float]
    holds: bool
    build: dict[str, float] | None = None
    build_holds: bool | None = None

    @property
    def build_differs(self) -> bool:
        """This build's figure is not the one the source's inputs give (an edit, ``--set`` or a scenario)."""
        return self.build is not None and self.build != self.model

    def with_build(self, other: Check) -> Check:
        return dataclasses.replace(self, build=other.model, build_holds=other.holds)


def check_statement(
    figure: Figure,
    *,
    tolerance: float,
    where: str,
    value: float | None = None,
    low: float | None = None,
    high: float | None = None,
    below: float | None = None,
    above: float | None = None,
) -> Check:
    """Does the model agree with what the source states, within the statement's rounding?"""
    model_low = figure.low if figure.low is not None else figure.value
    model_high = figure.high if figure.high is not None else figure.value
    if value is not None:
        stated, model = {"value": value}, {"value": figure.value}
        holds = abs(figure.value - value) <= tolerance
    elif below is not None:
        stated, model = {"below": below}, {"value": figure.value}
        holds = figure.value < below + tolerance
    elif above is not None:
        stated, model = {"above": above}, {"value": figure.value}
        holds = figure.value > above - tolerance
    elif low is not None and high is not None:
        stated, model = {"low": low, "high": high}, {"low": model_low, "high": model_high}
        holds = abs(model_low - low) <= tolerance and abs(model_high - high) <= tolerance
    else:
        raise ModelError(f"statement about {figure.name} gives no value, range or bound")
    return Check(figure.name, where, stated, model, holds)
