"""Claims the prose relies on, evaluated against the built figures.

A claim is an expression in the formula language (names of figures, numbers, arithmetic, comparisons, and / or /
not); nothing reaches ``eval``. A claim that no longer holds fails the build with its text, expression and the
values it read, unless the build allows failing claims, in which case the memo marks the sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from memo import expr
from memo import format as fmt
from memo.errors import Diagnostic, InputError
from memo.model import Figure
from memo.validate import Claim


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
