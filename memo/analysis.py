"""Compute and analyse stages: the model's figures with the source checks, then the model run many times in one
build (scenarios, sensitivity grids, tornado, Monte Carlo) and the claims evaluated on the figures."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from memo import claims as claims_stage
from memo import model, scenarios, validate
from memo.errors import MemoError
from memo.inputs import quantities


def compute(
    assumptions: validate.Assumptions, as_filed: validate.Assumptions | None = None
) -> tuple[dict[str, model.Figure], list[model.Check]]:
    """The build's figures, and the source checks: each stated figure against the model run on the inputs as
    filed (so the count of the source's slips never moves with ``--set`` or ``--scenario``), with this build's
    own figure beside it."""
    figures = _model(assumptions)
    filed = figures if as_filed is None or as_filed.inputs == assumptions.inputs else _model(as_filed)
    return figures, [_check(s, filed).with_build(_check(s, figures)) for s in assumptions.stated]


def _definitions(assumptions: validate.Assumptions) -> tuple[model.FigureDef, ...]:
    assert assumptions.model is not None, "assumptions are validated against the project's model"
    return assumptions.model.figures


def _model(assumptions: validate.Assumptions) -> dict[str, model.Figure]:
    try:
        return model.compute(quantities(assumptions), _definitions(assumptions))
    except model.ModelError as exc:
        raise MemoError(f"error: the model cannot be computed: {exc}") from None


def _check(statement: validate.Statement, figures: dict[str, model.Figure]) -> model.Check:
    s = statement
    return model.check_statement(
        figures[s.figure],
        tolerance=s.tolerance,
        where=s.where,
        value=s.value,
        low=s.low,
        high=s.high,
        below=s.below,
        above=s.above,
    )


@dataclass(frozen=True)
class Analysis:
    """The model run many times in one build: scenarios, sensitivity grids, tornado, Monte Carlo, claims."""

    scenario_figures: dict[str, dict[str, model.Figure]]
    grids: dict[str, scenarios.GridResult]
    tornado: dict[str, list[scenarios.Swing]]
    simulation: scenarios.Simulation | None
    claims: list[claims_stage.Result]
    extra_figures: dict[str, model.Figure]  # scenario.* and uncertainty.*, published beside the base figures
    extra_inputs: dict[str, validate.Input]


def analyse(
    assumptions: validate.Assumptions,
    figures: dict[str, model.Figure],
    base: validate.Assumptions | None = None,
    tornado_targets: Sequence[str] = (),
) -> Analysis:
    """Grids, tornado (for the project's targets) and Monte Carlo around this build's inputs; every scenario from
    ``base`` (the inputs before ``--scenario``), so the scenario table is the same whichever scenario the memo is
    built for."""
    try:
        return _analyse(assumptions, figures, base, tornado_targets)
    except model.ModelError as exc:
        raise MemoError(f"error: the model cannot be computed: {exc}") from None


def _analyse(
    assumptions: validate.Assumptions,
    figures: dict[str, model.Figure],
    base: validate.Assumptions | None,
    tornado_targets: Sequence[str],
) -> Analysis:
    definitions = _definitions(assumptions)
    q = quantities(assumptions)
    per_scenario = scenarios.run_scenarios(quantities(base or assumptions), assumptions.scenarios, definitions)
    extra: dict[str, model.Figure] = {}
    for name, scenario_figures in per_scenario.items():
        extra |= scenarios.scoped_figures(name, scenario_figures, assumptions.scenarios[name].overrides)
    simulation = None
    if assumptions.uncertainty is not None:
        u = assumptions.uncertainty
        distributions = {name: item.distribution for name, item in assumptions.inputs.items()}
        simulation = scenarios.monte_carlo(q, distributions, u.figures, u.draws, u.seed, definitions)
        extra |= scenarios.percentile_figures(simulation, figures)
    return Analysis(
        scenario_figures=per_scenario,
        grids={g.name: scenarios.sweep(q, g, definitions) for g in assumptions.sensitivity},
        tornado={t: scenarios.tornado(q, t, definitions) for t in tornado_targets},
        simulation=simulation,
        claims=claims_stage.evaluate(assumptions.claims, figures),
        extra_figures=extra,
        extra_inputs=scenario_inputs(assumptions),
    )


def scenario_inputs(assumptions: validate.Assumptions) -> dict[str, validate.Input]:
    """Each scenario's replaced inputs, named scenario.NAME.INPUT, for provenance."""
    out = {}
    for name, scenario in assumptions.scenarios.items():
        for key, value in scenario.overrides.items():
            item = assumptions.inputs[key]
            out[f"scenario.{name}.{key}"] = dataclasses.replace(
                item,
                name=f"scenario.{name}.{key}",
                base=value,
                low=None,
                high=None,
                source=None,
                note=f"{name} scenario: {scenario.rationale}",
            )
    return out
