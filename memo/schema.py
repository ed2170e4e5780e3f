"""The assumptions file's schema: units, the inputs the model reads, and the keys each section accepts.

This module only declares; ``memo.validate`` checks a loaded document against it and ``memo schema`` prints it
as the reference in ``docs/assumptions.md``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    name: str
    description: str
    minimum: float | None = 0.0
    maximum: float | None = None
    is_date: bool = False


UNITS: dict[str, Unit] = {
    unit.name: unit
    for unit in (
        Unit("usd", "US dollars"),
        Unit("usd_per_year", "US dollars per year (ARR, run-rates, market sizes)"),
        Unit("usd_per_month", "US dollars per month (prices, ARPPU, MRR)"),
        Unit("usd_per_week", "US dollars of ARR added per week"),
        Unit("usd_per_token", "US dollars per VVV token"),
        Unit("users", "people or accounts"),
        Unit("share", "a fraction of a whole, 0 to 1 (0.05 is 5 %)", 0.0, 1.0),
        Unit("ratio", "one quantity over another, 0 or more (1.0 is 1:1)"),
        Unit("multiple", "a multiple, 0 or more (26 is 26x)"),
        Unit("tokens", "VVV tokens"),
        Unit("tokens_per_day", "model tokens processed per day"),
        Unit("date", "a calendar date, YYYY-MM-DD", None, None, is_date=True),
        Unit("year", "a calendar year, e.g. 2027", 1900.0, 2200.0),
    )
}


@dataclass(frozen=True)
class InputSpec:
    name: str
    unit: str
    label: str
    ranged: bool = False  # may carry low / base / high instead of value
    positive: bool = False  # must be strictly above zero (it divides something)


def _inputs(*specs: InputSpec) -> dict[str, InputSpec]:
    return {spec.name: spec for spec in specs}


INPUTS: dict[str, InputSpec] = _inputs(
    InputSpec("users.registered", "users", "Registered users, latest milestone", positive=True),
    InputSpec("users.registered_date", "date", "Date of the latest registration milestone"),
    InputSpec("users.registered_earlier", "users", "Registered users, earlier milestone"),
    InputSpec("users.registered_earlier_date", "date", "Date of the earlier registration milestone"),
    InputSpec("users.conversion_rate", "share", "Lifetime paid conversion of registered users", ranged=True),
    InputSpec("users.paid_earlier", "users", "Paid subscribers at the earlier milestone", positive=True),
    InputSpec("subs.arppu_monthly", "usd_per_month", "Weighted average revenue per paying user", ranged=True),
    InputSpec("subs.price_pro", "usd_per_month", "Pro tier price"),
    InputSpec("subs.price_pro_plus", "usd_per_month", "Pro+ tier price"),
    InputSpec("subs.price_max", "usd_per_month", "Max tier price"),
    InputSpec("growth.new_sub_arr_week1", "usd_per_week", "New subscription ARR added, week 1", positive=True),
    InputSpec("growth.new_sub_arr_week2", "usd_per_week", "New subscription ARR added, week 2"),
    InputSpec("growth.new_sub_arr_week3", "usd_per_week", "New subscription ARR added, week 3"),
    InputSpec("growth.base_new_sub_arr", "usd_per_year", "Anchored annual new subscription ARR", ranged=True),
    InputSpec(
        "api.ratio_recent", "ratio", "Recent new API revenue per dollar of new subscription revenue", ranged=True
    ),
    InputSpec(
        "api.ratio_historical", "ratio", "Historical API revenue per dollar of subscription revenue", ranged=True
    ),
    InputSpec("api.chatgpt_api_share", "share", "ChatGPT: API share of revenue"),
    InputSpec("api.anthropic_api_share", "share", "Anthropic: API share of revenue"),
    InputSpec("usage.tokens_per_day_early", "tokens_per_day", "Daily token throughput, early February", positive=True),
    InputSpec("usage.tokens_per_day_latest", "tokens_per_day", "Daily token throughput, early May"),
    InputSpec("revenue.ytd_floor", "usd", "Cumulative 2026 revenue, lower bound"),
    InputSpec("revenue.ytd_start", "date", "Start of the period the revenue to date covers"),
    InputSpec("revenue.ytd_end", "date", "End of the period the revenue to date covers"),
    InputSpec("valuation.market_cap", "usd", "VVV market capitalisation"),
    InputSpec("valuation.fdv", "usd", "VVV fully diluted valuation"),
    InputSpec("token.price", "usd_per_token", "VVV token price", positive=True),
    InputSpec("peers.openrouter_ps", "multiple", "OpenRouter price-to-sales multiple"),
    InputSpec("market.forecast_year", "year", "The year the market forecast describes"),
    InputSpec("market.inference_2027", "usd_per_year", "Global AI inference market in the forecast year", ranged=True),
    InputSpec("market.privacy_share", "share", "Privacy segment's share of the inference market", ranged=True),
)

TOP_LEVEL_SECTIONS = (
    "memo",
    "sources",
    "stated",
    "constraints",
    "scenarios",
    "sensitivity",
    "uncertainty",
    "claims",
)
DISTRIBUTIONS = ("triangular", "uniform")
INPUT_GROUPS = tuple(dict.fromkeys(name.split(".")[0] for name in INPUTS))

MEMO_KEYS: dict[str, tuple[str, bool]] = {
    # key: (description, required)
    "title": ("the memo's title", True),
    "subtitle": ("a line under the title", False),
    "author": ("who wrote the memo", True),
    "as_of": ("the date the figures describe, YYYY-MM-DD", True),
    "subject": ("one sentence for the PDF's subject field", False),
    "keywords": ("a list of words for the PDF's keywords field", False),
    "disclaimer": ("the legal disclaimer printed in the memo", True),
}

SOURCE_KEYS: dict[str, tuple[str, bool]] = {
    "title": ("the source's title", True),
    "author": ("its author", True),
    "publisher": ("who published or compiled it", False),
    "date": ("when it was published, YYYY-MM or YYYY-MM-DD", True),
    "path": ("a local copy, relative to the assumptions file", False),
    "url": ("where it can be read", False),
}

ENTRY_KEYS: dict[str, str] = {
    "value": "the figure, for an input without a range",
    "low": "the low end of the range (ranged inputs)",
    "base": "the base case, between low and high (ranged inputs)",
    "high": "the high end of the range (ranged inputs)",
    "unit": "the unit, which must match the schema",
    "source": "where the figure comes from: {ref, where, date}; required unless estimate is true",
    "estimate": "true when the source does not give the figure; a note then says how it was chosen",
    "note": "free text shown with the figure in the memo",
    "distribution": "for a ranged input, how the Monte Carlo draws it: triangular (default) or uniform",
}

SCENARIO_KEYS: dict[str, str] = {
    "rationale": "one line on why the scenario is plausible",
    "set": "input name -> value; each replaces that input's value (and its range) in this scenario",
}

AXIS_KEYS: dict[str, str] = {
    "input": "the input the axis varies",
    "values": "the values it takes, in increasing order (absolute: they stay put when the base moves)",
    "multipliers": "instead of values: each value is the base times a multiplier (1 is the base), increasing, above 0",
    "offsets": "instead of values: each value is the base plus an offset (0 is the base), increasing",
    "scales": "inputs that move in proportion (a token price moves market cap and FDV with it)",
}
# An axis gives exactly one of these; multipliers and offsets follow the base (after --set or a scenario).
AXIS_FORMS = ("values", "multipliers", "offsets")
# Computed axis values are rounded to this many significant digits, so 0.05 - 0.02 is 0.03.
AXIS_DIGITS = 12

GRID_KEYS: dict[str, str] = {
    "title": "the grid's title in the memo",
    "rows": "the axis down the side (input; values, multipliers or offsets; scales)",
    "columns": "the axis across the top (input; values, multipliers or offsets; scales)",
    "figures": "the figures computed in every cell",
}

UNCERTAINTY_KEYS: dict[str, str] = {
    "draws": "how many Monte Carlo draws (1 to 5,000,000)",
    "seed": "the random seed, fixed so builds stay byte-identical",
    "figures": "the figures whose P10 / P50 / P90 are reported",
}

CLAIM_KEYS: dict[str, str] = {
    "id": "the name templates use to mark the sentence that relies on the claim",
    "text": "the claim in words",
    "holds": "an expression over figures: names, numbers, arithmetic, comparisons, and / or / not",
}

CONSTRAINT_KEYS: dict[str, str] = {
    "id": "the constraint's name, used in error messages",
    "text": "the relation in words",
    "holds": (
        "a condition over inputs (not figures): names, numbers, arithmetic, comparisons, and / or / not; "
        "dates compare as day numbers"
    ),
}

SOURCE_REF_KEYS: dict[str, str] = {
    "ref": "a key under sources",
    "where": "where in the source the figure stands",
    "date": "the date the figure refers to",
}

STATED_KEYS: dict[str, str] = {
    "figure": "the model figure the source states",
    "value": "the stated value",
    "low": "the stated low end, with high",
    "high": "the stated high end, with low",
    "below": "the source states the figure is below this",
    "above": "the source states the figure is above this (or says something that implies it)",
    "tolerance": "how far the model may be from the statement and still agree (the statement's rounding)",
    "where": "where in the source the statement stands",
}
