"""Claims the prose relies on, evaluated against the built figures.

A claim is an expression in the formula language (names of figures, numbers, arithmetic, comparisons, and / or /
not); nothing reaches ``eval``. A claim that no longer holds fails the build with its text, expression and the
values it read, unless the build allows failing claims, in which case the memo marks the sentence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from memo import expr, model
from memo import format as fmt
from memo.errors import Diagnostic, InputError
from memo.model import Figure, Quantity, Spec, reach
from memo.schema import InputSpec, Unit
from memo.validate import Assumptions, Claim, Constraint, out_of_domain


@dataclass(frozen=True)
class Result:
    claim: Claim
    holds: bool
    values: dict[str, str]  # name -> the value as the memo prints it

    def explain(self) -> str:
        shown = ", ".join(f"{name} = {value}" for name, value in self.values.items())
        return f"{self.claim.holds} with {shown}"

    def diagnostic(self) -> Diagnostic:
        c = self.claim
        return Diagnostic(c.file, c.line, c.column, f"claims.{c.id}", f"no longer holds: {c.text}: {self.explain()}")


def evaluate(claims: Sequence[Claim], figures: Mapping[str, Figure]) -> list[Result]:
    env = {name: figure.value for name, figure in figures.items()}
    results = []
    for claim in claims:
        parsed = expr.parse(claim.holds)
        values = {n: fmt.by_unit(figures[n].value, figures[n].unit) for n in parsed.names}
        results.append(Result(claim, bool(parsed.evaluate(env)), values))
    return results


def enforce(results: Sequence[Result], allow_failing: bool) -> None:
    failing = [r for r in results if not r.holds]
    if failing and not allow_failing:
        raise InputError([r.diagnostic() for r in failing])


FACTORS = (0.0, 0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 1.01, 1.1, 2.0, 10.0, 100.0, 1000.0)


def counterexample(
    claim: Claim,
    inputs: Mapping[str, Quantity],
    spec: Spec,
    constraints: Sequence[Constraint] = (),
    draws: int = 4000,
    seed: int = 0,
) -> dict[str, float] | None:
    """Input values, each legal for its unit, under which ``claim`` fails: proof that it is a guard that can fail.

    One input at a time is moved to its unit's bounds and to multiples of its base; if no single move breaks the
    claim, every input it rests on is drawn at once, ``draws`` times. Dates and years stay put, and an assignment
    that breaks one of ``constraints`` (relations between inputs) does not count."""
    parsed = expr.parse(claim.holds)
    relations = [expr.parse(c.holds) for c in constraints]
    definitions, specs = spec.figures, spec.inputs
    inputs_of = {d.name: d.expression.names for d in definitions}
    movable = [
        name
        for name in dict.fromkeys(n for figure in parsed.names for n in reach(inputs_of, figure))
        if name in specs and not spec.unit_of(name).is_date and specs[name].unit != "year"
    ]
    base = {name: q.base for name, q in inputs.items()}

    def failing(values: dict[str, object], size: int) -> np.ndarray:
        with np.errstate(all="ignore"):
            figures = model.evaluate(values, definitions=definitions)
            every = {n: np.broadcast_to(np.asarray(v, dtype=float), (size,)) for n, v in figures.items()}
            env = {n: every[n] for n in parsed.names}
            legal = [np.broadcast_to(relation.evaluate(values), (size,)) for relation in relations]
            finite = [np.isfinite(v) for v in every.values()]  # a model that cannot be computed is no answer
            fails = np.logical_not(np.broadcast_to(parsed.evaluate(env), (size,)))
            return np.logical_and.reduce([*finite, *legal, fails])

    for name in movable:
        unit = spec.unit_of(name)
        candidates = _nearest_first(
            _legal(specs[name], unit, [base[name] * f for f in FACTORS] + _bounds(unit)), base[name]
        )
        if not candidates:
            continue
        broken = failing({**base, name: np.array(candidates)}, len(candidates))
        if broken.any():
            return {name: float(candidates[int(np.argmax(broken))])}
    rng = np.random.default_rng(seed)
    drawn = {name: _draw(rng, specs[name], spec.unit_of(name), base[name], draws) for name in movable}
    broken = failing({**base, **drawn}, draws)
    if broken.any():
        k = int(np.argmax(broken))
        return {name: float(values[k]) for name, values in drawn.items()}
    return None


def _bounds(unit: Unit) -> list[float]:
    return [b for b in (unit.minimum, unit.maximum) if b is not None]


def _legal(spec: InputSpec, unit: Unit, values: list[float]) -> list[float]:
    """The values the input can take (its unit's bounds, above 0 where it must be), each once."""
    return sorted({v for v in values if out_of_domain(spec, unit, v) is None})


def _nearest_first(values: list[float], base: float) -> list[float]:
    """Candidates in order of how far they move from the base (a small move is the clearer counterexample)."""

    def distance(value: float) -> float:
        if value > 0 and base > 0:
            return abs(math.log(value / base))
        return math.inf if value != base else 0.0

    return sorted(values, key=lambda value: (distance(value), value))


def _draw(rng: np.random.Generator, spec: InputSpec, unit: Unit, base: float, size: int) -> np.ndarray:
    if unit.maximum is not None:
        return rng.uniform(max(unit.minimum or 0.0, 1e-6 if spec.positive else 0.0), unit.maximum, size)
    scale = abs(base) if base else 1.0
    return scale * np.exp(rng.uniform(np.log(0.01), np.log(100.0), size))


def unfalsifiable(assumptions: Assumptions) -> list[Claim]:
    """The claims no legal input tried makes fail (``memo check`` warns about each)."""
    from memo.inputs import quantities

    spec = assumptions.model
    assert spec is not None, "assumptions are validated against the project's model"
    q = quantities(assumptions)
    return [c for c in assumptions.claims if counterexample(c, q, spec, constraints=assumptions.constraints) is None]
