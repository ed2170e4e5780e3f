"""The project files' schemas: the engine's units and number formats, the keys each section of the assumptions
file accepts, and the keys of the project file (``memo.yml``) and the model file.

This module only declares; ``memo.validate`` and ``memo.project`` check loaded documents against it and
``memo schema`` prints it as the references in ``docs/``. The inputs a memo reads are its project's, in its model
file: the engine knows no subject.
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
    format: str = "plain"  # one of FORMATS: how memo.format prints a number in this unit


# How a number may be printed (memo.format): a project's own units name one of these.
FORMATS: dict[str, str] = {
    "money": "an amount of money: $660M, $1.12B, $18.50",
    "count": "people or things: 150,000; 3.0M; 60B",
    "percent": "a fraction as a percentage: 5%, 0.39%",
    "ratio": "one quantity per unit of another: 0.75:1",
    "multiple": "a multiple, one decimal: 11.3x",
    "year": "a calendar year: 2027",
    "date": "a calendar date: 16 May 2026",
    "plain": "a number to three significant digits: 58.3, 1,200",
}

# The units every project has; a project's model may add its own (``units:`` in the model file).
ENGINE_UNITS: dict[str, Unit] = {
    unit.name: unit
    for unit in (
        Unit("money", "an amount of money", format="money"),
        Unit("money_per_year", "money per year (run-rates, revenue, market sizes)", format="money"),
        Unit("money_per_month", "money per month (prices, MRR)", format="money"),
        Unit("money_per_week", "money per week", format="money"),
        Unit("count", "people, accounts or things", format="count"),
        Unit("share", "a fraction of a whole, 0 to 1 (0.05 is 5 %)", 0.0, 1.0, format="percent"),
        Unit("change", "a relative change (0.5 is +50 %, -0.2 is -20 %)", None, format="percent"),
        Unit("ratio", "one quantity over another, 0 or more (1.0 is 1:1)", format="ratio"),
        Unit("multiple", "a multiple, 0 or more (26 is 26x)", format="multiple"),
        Unit("number", "a plain number, 0 or more", format="plain"),
        Unit("date", "a calendar date, YYYY-MM-DD", None, None, is_date=True, format="date"),
        Unit("year", "a calendar year, e.g. 2027", 1900.0, 2200.0, format="year"),
    )
}
# Kept for code that asks for the engine's units by their old name.
UNITS = ENGINE_UNITS


@dataclass(frozen=True)
class InputSpec:
    name: str
    unit: str
    label: str
    ranged: bool = False  # may carry low / base / high instead of value
    positive: bool = False  # must be strictly above zero (it divides something)


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
    "url": ("where it can be read: an https: or http: URL, or a relative link", False),
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
    "draws": "how many Monte Carlo draws (1 to 1,000,000)",
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

# ------------------------------------------------------------------ the project file (memo.yml)

PROJECT_FILE = "memo.yml"

PROJECT_KEYS: dict[str, tuple[str, bool]] = {
    # key: (description, required)
    "assumptions": ("the assumptions file, relative to the project folder (default: assumptions.yaml)", False),
    "model": ("the model file: units, inputs and figures (default: model.yaml)", False),
    "sources": (
        "folders outside the project that the sources' paths point into, relative to the project folder; "
        "a build of a git revision (memo diff --rev) links them beside its copy",
        False,
    ),
    "tornado": ("figures whose swing over each ranged input the analysis ranks (a tornado chart reads it)", False),
    "explorer": ("the interactive explorer: its sliders (drivers) and the figures it shows", False),
    "card": ("the social card drawn for link previews: kicker and tiles", False),
    "feed": ("the site's Atom feed entry: its summary line", False),
    "base_url": (
        "where the site will be served, an absolute https:// or http:// URL: memo build and memo publish write the "
        "absolute URLs its sitemap and link previews need (--base-url overrides it; without either they are left out)",
        False,
    ),
}

EXPLORER_KEYS: dict[str, tuple[str, bool]] = {
    "drivers": ("the sliders: a list of {input, param, label, scale, min, max, step}", True),
    "shown": ("the figures the explorer recomputes in the browser", True),
}

DRIVER_KEYS: dict[str, tuple[str, bool]] = {
    "input": ("the input the slider moves", True),
    "param": ("the slider's name in the Vega-Lite spec: letters, digits and _", True),
    "label": ("the slider's label", True),
    "scale": ("model units per slider unit (1e6 for a slider in millions, 0.01 for one in percent)", False),
    "min": ("the slider's lowest value, in slider units", True),
    "max": ("the slider's highest value, in slider units", True),
    "step": ("the slider's step, in slider units", True),
}

CARD_KEYS: dict[str, tuple[str, bool]] = {
    "kicker": ("the line above the title, printed in capitals (the scenario is added after it)", False),
    "tiles": ("up to four figures shown large: a list of {label, figure}", False),
}

TILE_KEYS: dict[str, tuple[str, bool]] = {
    "label": ("the tile's caption", True),
    "figure": ("the figure it shows, as the memo prints it", True),
}

FEED_KEYS: dict[str, tuple[str, bool]] = {
    "summary": ("the entry's summary: text in which {figure.name} stands for that figure as the memo prints it", False),
}

MAX_TILES = 4

# ------------------------------------------------------------------ the model file (model.yaml)

MODEL_KEYS: dict[str, tuple[str, bool]] = {
    "units": ("the project's own units, besides the engine's: name -> {label, format, minimum, maximum}", False),
    "inputs": ("every input the assumptions file gives: group.name -> {unit, label, ranged, positive}", True),
    "figures": ("every figure the memo states: group.name -> {label, unit, formula}", True),
}

UNIT_KEYS: dict[str, tuple[str, bool]] = {
    "label": ("what the unit means, for the reference", True),
    "format": ("how its numbers print: one of the formats", True),
    "minimum": ("the lowest legal value (default 0; null for none)", False),
    "maximum": ("the highest legal value (default: none)", False),
}

INPUT_SPEC_KEYS: dict[str, tuple[str, bool]] = {
    "unit": ("the input's unit: the engine's or the project's", True),
    "label": ("what the input is, in a few words", True),
    "ranged": ("true when the input may carry low / base / high instead of value", False),
    "positive": (
        "true when it must be above zero; required of an input that at 0 would make a divisor 0, directly or through "
        "other figures (a model without it is refused, naming the figure)",
        False,
    ),
}

FIGURE_KEYS: dict[str, tuple[str, bool]] = {
    "label": ("what the figure is, in a few words", True),
    "unit": ("the figure's unit", True),
    "formula": (
        "an expression over inputs and other figures: names, numbers, + - * / **, parentheses; a name is the "
        "figure of that name when there is one (other than this figure), otherwise the input; its value must be a "
        "finite number for every input the assumptions give, or the build is refused",
        True,
    ),
}

# ------------------------------------------------------------------ limits, checked at validation

MAX_DRAWS = 1_000_000  # Monte Carlo draws
URL_SCHEMES = ("https", "http")  # a source's url is one of these, or a relative link

# Text: the most characters a value may have, by its key (a list item by its list's key); any other text
# MAX_TEXT. A title or label past these would not fit a page, a card or a chart, and costs the renderers dearly.
MAX_TEXT = 5_000
TEXT_LIMITS: dict[str, int] = {
    "title": 300,
    "subtitle": 300,
    "author": 200,
    "publisher": 200,
    "subject": 500,
    "keywords": 60,
    "label": 200,
    "kicker": 100,
    "where": 500,
    "rationale": 1_000,
    "text": 1_000,
    "summary": 1_000,
    "path": 1_000,
    "url": 2_000,
    "base_url": 2_000,
    "assumptions": 1_000,
    "model": 1_000,
    "sources": 1_000,
    "id": 100,
    "ref": 100,
    "param": 100,
    "figure": 200,
    "input": 200,
    "holds": 2_000,
    "formula": 2_000,
    "disclaimer": MAX_TEXT,
    "note": MAX_TEXT,
}
# Lists, by their key: the most items each may hold.
LIST_LIMITS: dict[str, int] = {
    "keywords": 30,
    "stated": 1_000,
    "claims": 500,
    "constraints": 500,
    "values": 50,  # a sensitivity axis: at most 50 x 50 cells a grid
    "multipliers": 50,
    "offsets": 50,
    "scales": 10,
    "figures": 20,  # a grid's or the Monte Carlo's figures
    "tornado": 20,
    "drivers": 20,
    "shown": 50,
    "sources": 20,  # memo.yml's source folders
}
# Sections that are mappings, by their key: the most entries each may hold.
SECTION_LIMITS: dict[str, int] = {"sources": 500, "scenarios": 20, "sensitivity": 10}
MAX_FILE_BYTES = 1_000_000  # every YAML file the project reads (memo.load.MAX_BYTES)


def limits_note() -> str:
    """One paragraph on the limits no key's description states, for the references."""
    sections = ", ".join(f"{n:,} {key}" for key, n in SECTION_LIMITS.items())
    return (
        f"Limits: each file at most {MAX_FILE_BYTES:,} bytes of UTF-8 without control characters (tab and line "
        f"breaks aside); at most {sections}; any text at most {MAX_TEXT:,} characters unless its key says less."
    )


def _with_limits(keys: dict, lists: bool = True) -> None:  # type: ignore[type-arg]
    """Say each key's limit in its description, so that ``memo schema`` documents it."""
    for key, entry in keys.items():
        notes = []
        if lists and key in LIST_LIMITS:
            notes.append(f"at most {LIST_LIMITS[key]:,} items")
        if key in TEXT_LIMITS:
            notes.append(f"text of at most {TEXT_LIMITS[key]:,} characters")
        if not notes:
            continue
        note = f" ({'; '.join(notes)})"
        keys[key] = (entry[0] + note, *entry[1:]) if isinstance(entry, tuple) else entry + note


for _keys in (MEMO_KEYS, SOURCE_KEYS, ENTRY_KEYS, SCENARIO_KEYS, AXIS_KEYS, GRID_KEYS, UNCERTAINTY_KEYS, CLAIM_KEYS,
              CONSTRAINT_KEYS, SOURCE_REF_KEYS, STATED_KEYS, PROJECT_KEYS, EXPLORER_KEYS, DRIVER_KEYS, CARD_KEYS,
              TILE_KEYS, FEED_KEYS, UNIT_KEYS, INPUT_SPEC_KEYS, FIGURE_KEYS):  # fmt: skip
    _with_limits(_keys)
