"""The calculation model: every figure the memo states, as a formula over inputs and other figures.

Pure: no I/O, no formatting. ``compute`` takes typed quantities and returns typed figures. A name in a formula
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

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
WEEKS_PER_YEAR = 52
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


F = FigureDef
FIGURES: tuple[FigureDef, ...] = (
    # Users and conversion
    F("users.registered", "Registered users", "users", "users.registered"),
    F("users.registered_earlier", "Registered users, early February", "users", "users.registered_earlier"),
    F(
        "users.registration_rate_monthly",
        "New registrations per month",
        "users",
        f"(users.registered - users.registered_earlier) / "
        f"((users.registered_date - users.registered_earlier_date) / {DAYS_PER_MONTH})",
    ),
    F("users.conversion_rate", "Lifetime paid conversion", "share", "users.conversion_rate"),
    F("users.paid", "Paid subscribers", "users", "users.registered * users.conversion_rate"),
    F("users.paid_earlier", "Paid subscribers, early February", "users", "users.paid_earlier"),
    F(
        "users.paid_growth",
        "Growth in paid subscribers since early February",
        "change",
        "users.paid / users.paid_earlier - 1",
    ),
    # Subscriptions
    F("subs.arppu_monthly", "Weighted ARPPU per month", "usd_per_month", "subs.arppu_monthly"),
    F("subs.price_pro", "Pro tier price", "usd_per_month", "subs.price_pro"),
    F("subs.price_pro_plus", "Pro+ tier price", "usd_per_month", "subs.price_pro_plus"),
    F("subs.price_max", "Max tier price", "usd_per_month", "subs.price_max"),
    F("subs.mrr", "Subscription MRR", "usd_per_month", "users.paid * subs.arppu_monthly"),
    F("subs.arr", "Subscription ARR", "usd_per_year", "subs.mrr * 12"),
    # API
    F("api.ratio_historical", "Historical API-to-subscription revenue ratio", "ratio", "api.ratio_historical"),
    F("api.ratio_recent", "Recent API-to-subscription ratio of new revenue", "ratio", "api.ratio_recent"),
    F("api.arr", "API ARR", "usd_per_year", "subs.arr * api.ratio_historical"),
    F("api.share_of_new_revenue", "API share of new revenue", "share", "api.ratio_recent / (1 + api.ratio_recent)"),
    F("api.chatgpt_api_share", "ChatGPT: API share of revenue", "share", "api.chatgpt_api_share"),
    F("api.anthropic_api_share", "Anthropic: API share of revenue", "share", "api.anthropic_api_share"),
    F(
        "api.peer_midpoint_share",
        "Midpoint of ChatGPT's and Anthropic's API shares",
        "share",
        "(api.chatgpt_api_share + api.anthropic_api_share) / 2",
    ),
    # Current ARR
    F("arr.current", "Current ARR", "usd_per_year", "subs.arr + api.arr"),
    F("arr.api_share", "API share of current ARR", "share", "api.ratio_historical / (1 + api.ratio_historical)"),
    # Growth
    F(
        "growth.weekly_new_sub_arr_first",
        "New subscription ARR per week, week 1",
        "usd_per_week",
        "growth.new_sub_arr_week1",
    ),
    F(
        "growth.weekly_new_sub_arr_mid",
        "New subscription ARR per week, week 2",
        "usd_per_week",
        "growth.new_sub_arr_week2",
    ),
    F(
        "growth.weekly_new_sub_arr_last",
        "New subscription ARR per week, week 3",
        "usd_per_week",
        "growth.new_sub_arr_week3",
    ),
    F(
        "growth.acceleration",
        "Week 1 to week 3 growth in new subscription ARR per week",
        "change",
        "growth.weekly_new_sub_arr_last / growth.weekly_new_sub_arr_first - 1",
    ),
    F(
        "growth.annualized_new_sub_arr",
        "New subscription ARR per year at the week-3 pace",
        "usd_per_year",
        f"growth.weekly_new_sub_arr_last * {WEEKS_PER_YEAR}",
    ),
    F(
        "growth.annualized_new_sub_arr_first",
        "New subscription ARR per year at the week-1 pace",
        "usd_per_year",
        f"growth.weekly_new_sub_arr_first * {WEEKS_PER_YEAR}",
    ),
    F(
        "growth.annualized_new_total_arr_first",
        "New total ARR per year at the week-1 pace, API included",
        "usd_per_year",
        f"growth.weekly_new_sub_arr_first * {WEEKS_PER_YEAR} * (1 + api.ratio_recent)",
    ),
    F(
        "growth.annualized_new_total_arr",
        "New total ARR per year at the week-3 pace, API included",
        "usd_per_year",
        "growth.annualized_new_sub_arr * (1 + api.ratio_recent)",
    ),
    F("growth.base_new_sub_arr", "Anchored new subscription ARR per year", "usd_per_year", "growth.base_new_sub_arr"),
    F(
        "growth.base_new_api_arr",
        "Anchored new API ARR per year",
        "usd_per_year",
        "growth.base_new_sub_arr * api.ratio_recent",
    ),
    F(
        "growth.base_new_arr",
        "Anchored new total ARR per year, API included",
        "usd_per_year",
        "growth.base_new_sub_arr + growth.base_new_api_arr",
    ),
    F(
        "growth.anchor_discount",
        "How far the anchor sits below the week-3 pace",
        "change",
        "1 - growth.base_new_sub_arr / growth.annualized_new_sub_arr",
    ),
    F("arr.forward", "Forward ARR in 12 months", "usd_per_year", "arr.current + growth.base_new_arr"),
    F("revenue.next_12m", "Revenue earned over the next 12 months", "usd", "arr.current + growth.base_new_arr / 2"),
    F("arr.current_share_of_forward", "Current ARR as a share of forward ARR", "share", "arr.current / arr.forward"),
    F("revenue.ytd_floor", "Revenue earned in 2026 so far, lower bound", "usd", "revenue.ytd_floor"),
    F(
        "revenue.ytd_at_current_run_rate",
        "Revenue to date had current ARR run all year (the most a growing business could have earned)",
        "usd",
        f"arr.current * (revenue.ytd_end - revenue.ytd_start) / {DAYS_PER_YEAR}",
    ),
    # Usage
    F(
        "usage.tokens_per_day_early",
        "Daily token throughput, early February",
        "tokens_per_day",
        "usage.tokens_per_day_early",
    ),
    F(
        "usage.tokens_per_day_latest",
        "Daily token throughput, early May",
        "tokens_per_day",
        "usage.tokens_per_day_latest",
    ),
    F(
        "usage.tokens_per_day_growth",
        "Growth multiple of daily token throughput, February to May",
        "multiple",
        "usage.tokens_per_day_latest / usage.tokens_per_day_early",
    ),
    F(
        "usage.tokens_per_paid_user_growth",
        "Growth multiple of throughput per paid subscriber",
        "multiple",
        "usage.tokens_per_day_growth / (users.paid_growth + 1)",
    ),
    # Token and valuation
    F("token.price", "VVV price", "usd_per_token", "token.price"),
    F("valuation.market_cap", "Market capitalisation", "usd", "valuation.market_cap"),
    F("valuation.fdv", "Fully diluted valuation", "usd", "valuation.fdv"),
    F("token.circulating_supply", "Circulating VVV supply", "tokens", "valuation.market_cap / token.price"),
    F("token.fully_diluted_supply", "Fully diluted VVV supply", "tokens", "valuation.fdv / token.price"),
    F(
        "token.circulating_share",
        "Circulating share of fully diluted supply",
        "share",
        "valuation.market_cap / valuation.fdv",
    ),
    F("valuation.ps_current", "Price-to-sales on current ARR", "multiple", "valuation.market_cap / arr.current"),
    F("valuation.fdv_ps_current", "FDV-to-sales on current ARR", "multiple", "valuation.fdv / arr.current"),
    F("valuation.ps_forward", "Price-to-sales on forward ARR", "multiple", "valuation.market_cap / arr.forward"),
    F("valuation.fdv_ps_forward", "FDV-to-sales on forward ARR", "multiple", "valuation.fdv / arr.forward"),
    F(
        "valuation.ps_next_12m_revenue",
        "Price-to-sales on next-12-month revenue",
        "multiple",
        "valuation.market_cap / revenue.next_12m",
    ),
    F("peers.openrouter_ps", "OpenRouter price-to-sales", "multiple", "peers.openrouter_ps"),
    F(
        "valuation.discount_to_openrouter",
        "Current P/S discount to OpenRouter",
        "change",
        "1 - valuation.ps_current / peers.openrouter_ps",
    ),
    # Market
    F("market.forecast_year", "Year of the market forecast", "year", "market.forecast_year"),
    F("market.inference_2027", "Global inference market in the forecast year", "usd_per_year", "market.inference_2027"),
    F("market.privacy_share", "Privacy segment's share of inference", "share", "market.privacy_share"),
    F(
        "market.privacy_segment",
        "Privacy inference segment, 2027",
        "usd_per_year",
        "market.inference_2027 * market.privacy_share",
    ),
    F(
        "market.share_of_privacy_segment",
        "Venice's current ARR as a share of the 2027 privacy segment",
        "share",
        "arr.current / market.privacy_segment",
    ),
)


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


def required_inputs(definitions: tuple[FigureDef, ...] = FIGURES) -> set[str]:
    names = {d.name for d in definitions}
    return {n for d in definitions for n in d.expression.names if n not in names or n == d.name}


def compute(inputs: Mapping[str, Quantity], definitions: tuple[FigureDef, ...] = FIGURES) -> dict[str, Figure]:
    """Evaluate every figure at the base case and over the corners of the ranged inputs."""
    missing = sorted(required_inputs(definitions) - set(inputs))
    if missing:
        raise ModelError(f"inputs missing: {', '.join(missing)}")
    order = evaluation_order(definitions)
    figure_names = {d.name for d in definitions}
    base = _evaluate(order, {name: np.float64(q.base) for name, q in inputs.items()}, figure_names)
    corners = _evaluate(order, _corner_env(inputs), figure_names)
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
            detail = ", ".join(f"{n} = {float(base[n]):g}" for n in direct)
            raise ModelError(f"{definition.name} = {definition.formula} is not a finite number ({detail})")
        low = high = None
        if rests_on & ranged:
            sweep = np.asarray(corners[definition.name], dtype=float)
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


def evaluate(
    values: Mapping[str, object], targets: Iterable[str] | None = None, definitions: tuple[FigureDef, ...] = FIGURES
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
    with np.errstate(divide="ignore", invalid="ignore"):
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
