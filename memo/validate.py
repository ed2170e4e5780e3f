"""Validate stage: check a loaded document against the schema and turn it into typed assumptions.

One validator per key; every problem is collected and reported together with its line and column.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from memo import schema
from memo.errors import Diagnostic, InputError, did_you_mean
from memo.load import Document, Path_
from memo.model import Spec


@dataclass(frozen=True)
class MemoMeta:
    title: str
    author: str
    as_of: dt.date
    disclaimer: str
    subtitle: str | None = None
    subject: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    author: str
    date: str
    publisher: str | None = None
    path: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class SourceRef:
    ref: str
    where: str
    date: str


@dataclass(frozen=True)
class Input:
    name: str
    unit: str
    base: float | dt.date
    low: float | None = None
    high: float | None = None
    source: SourceRef | None = None
    estimate: bool = False
    note: str | None = None
    distribution: str = "triangular"

    @property
    def number(self) -> float:
        """The base value as a number (dates as days since 0001-01-01)."""
        return float(self.base.toordinal()) if isinstance(self.base, dt.date) else float(self.base)

    def differs_from(self, other: Input) -> bool:
        """Another value or range than ``other``'s (the same input as the file gives it, say); notes aside."""
        return (self.number, self.low, self.high) != (other.number, other.low, other.high)


@dataclass(frozen=True)
class Statement:
    """A value the source states for one of the model's figures, to be checked against the model."""

    figure: str
    tolerance: float
    where: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    below: float | None = None
    above: float | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    rationale: str
    overrides: dict[str, float]


@dataclass(frozen=True)
class Axis:
    """One axis of a sensitivity grid. ``values`` are the numbers the file gives, read as ``form`` says:
    absolute values (``"values"``), or relative to the input's base (``"multipliers"``: base x each;
    ``"offsets"``: base + each). ``points`` turns them into the values the grid sweeps."""

    input: str
    values: tuple[float, ...]
    scales: tuple[str, ...] = ()
    form: str = "values"  # one of schema.AXIS_FORMS
    spec: schema.InputSpec | None = field(default=None, compare=False, repr=False)  # the input's, for its domain
    unit: schema.Unit | None = field(default=None, compare=False, repr=False)

    def points(self, base: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(the axis values at this base, the computed values dropped from the axis), both in order.

        Absolute values are returned as given. Relative ones are computed from ``base`` and rounded to
        ``schema.AXIS_DIGITS`` significant digits (0.05 - 0.02 is 0.03, not 0.030000000000000002); a value
        within rel_tol 1e-9 of the base is the base exactly. A computed value the input cannot take (outside its
        unit's bounds, not above 0 where it must be, not a date) or that repeats an earlier one is dropped.
        """
        if self.form == "values":
            return self.values, ()
        spec, unit = self.spec, self.unit
        assert spec is not None and unit is not None, "a relative axis is made by validate, which knows its input"
        kept: list[float] = []
        dropped: list[float] = []
        for step in self.values:
            if self.form == "multipliers":
                value = _tidy(base * step, abs(base * step))
            else:
                value = _tidy(base + step, max(abs(base), abs(step)))
            if math.isclose(value, base, rel_tol=1e-9):
                value = base
            legal = out_of_domain(spec, unit, value) is None and value not in kept
            (kept if legal else dropped).append(value)
        return tuple(kept), tuple(dropped)


def _tidy(value: float, scale: float) -> float:
    """``value`` rounded to schema.AXIS_DIGITS significant digits of ``scale`` (the size of what was added)."""
    if value == 0 or scale == 0 or not math.isfinite(value):
        return value
    return round(value, schema.AXIS_DIGITS - 1 - math.floor(math.log10(scale)))


@dataclass(frozen=True)
class Grid:
    name: str
    title: str
    rows: Axis
    columns: Axis
    figures: tuple[str, ...]


@dataclass(frozen=True)
class Uncertainty:
    draws: int
    seed: int
    figures: tuple[str, ...]


@dataclass(frozen=True)
class Condition:
    """An ``{id, text, holds}`` entry: an expression that must hold, and where it stands in its file."""

    id: str
    text: str
    holds: str
    file: str
    line: int
    column: int


class Claim(Condition):
    """A judgement over figures that the prose relies on (``claims:``)."""


class Constraint(Condition):
    """A relation between inputs that must hold (``constraints:``), checked on every build."""


@dataclass(frozen=True)
class Assumptions:
    memo: MemoMeta
    sources: dict[str, Source]
    inputs: dict[str, Input]
    stated: tuple[Statement, ...]
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    sensitivity: tuple[Grid, ...] = ()
    uncertainty: Uncertainty | None = None
    claims: tuple[Claim, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    model: Spec | None = field(default=None, compare=False, repr=False)  # the project's model they were read for


class Checker:
    """Collects diagnostics while the validators walk the document."""

    def __init__(self, doc: Document, spec: Spec | None = None) -> None:
        self.doc = doc
        self.spec = spec
        self.problems: list[Diagnostic] = list(doc.problems)

    @property
    def inputs(self) -> Mapping[str, schema.InputSpec]:
        return self.spec.inputs if self.spec is not None else {}

    def unit_of(self, input_name: str) -> schema.Unit:
        assert self.spec is not None
        return self.spec.unit_of(input_name)

    def boolean(self, value: Any, path: Path_) -> bool | None:
        if isinstance(value, bool):
            return value
        self.error(path, f"must be true or false, got {_kind(value)}")
        return None

    def choice(self, value: Any, path: Path_, allowed: Iterable[str], what: str) -> str | None:
        allowed = list(allowed)
        if isinstance(value, str) and value in allowed:
            return value
        suggestion = did_you_mean(value, allowed, f"; expected one of: {', '.join(allowed)}")
        self.error(path, f"unknown {what} {_kind(value)}{suggestion}")
        return None

    def error(self, path: Path_, message: str, *, of_key: bool = False) -> None:
        self.problems.append(self.doc.diagnostic(path, message, of_key=of_key))

    def mapping(self, value: Any, path: Path_, what: str = "a mapping of keys to values") -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.error(path, f"must be {what}, got {_kind(value)}")
        return None

    def unknown_keys(self, given: Iterable[str], allowed: Iterable[str], path: Path_) -> None:
        allowed = list(allowed)
        for key in given:
            if key not in allowed:
                suggestion = did_you_mean(key, allowed, f"; expected one of: {', '.join(allowed)}")
                self.error((*path, key), f"unknown key '{key}'{suggestion}", of_key=True)

    def required(self, given: Mapping[str, Any], keys: Iterable[str], path: Path_) -> None:
        for key in keys:
            if key not in given:
                self.error(path, f"missing required key '{key}'", of_key=True)

    def keyed(
        self, value: Any, path: Path_, keys: Mapping[str, tuple[str, bool]], what: str = "a mapping of keys to values"
    ) -> dict[str, Any] | None:
        """``value`` as a mapping checked against a schema of ``key: (description, required)``: unknown keys
        refused with a suggestion, required ones asked for. None when it is no mapping."""
        fields = self.mapping(value, path, what)
        if fields is None:
            return None
        self.unknown_keys(fields, keys, path)
        self.required(fields, [k for k, (_, required) in keys.items() if required], path)
        return fields

    def text(self, value: Any, path: Path_) -> str | None:
        """Non-empty text, no longer than its key's limit (schema.TEXT_LIMITS, else schema.MAX_TEXT)."""
        if not (isinstance(value, str) and value.strip()):
            self.error(path, f"must be non-empty text, got {_kind(value)}")
            return None
        limit = text_limit(path)
        if len(value) > limit:
            self.error(path, f"is {len(value):,} characters long; the limit is {limit:,}")
            return None
        return value

    def sizes(self, data: Any, path: Path_ = ()) -> bool:
        """Check every list against schema.LIST_LIMITS and the top-level sections against SECTION_LIMITS
        (before anything is computed from them); False when one is too long."""
        ok = True
        key = next((part for part in reversed(path) if isinstance(part, str)), "")
        if isinstance(data, list):
            limit = schema.LIST_LIMITS.get(key)
            if limit is not None and len(data) > limit:
                self.error(path, f"has {len(data):,} items; the limit is {limit:,}")
                return False
            items = enumerate(data)
        elif isinstance(data, dict):
            limit = schema.SECTION_LIMITS.get(key) if len(path) == 1 else None
            if limit is not None and len(data) > limit:
                self.error(path, f"has {len(data):,} entries; the limit is {limit:,}")
                return False
            items = data.items()  # type: ignore[assignment]
        else:
            return True
        for index, item in items:
            ok = self.sizes(item, (*path, index)) and ok
        return ok

    def number(self, value: Any, path: Path_) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(path, f"must be a number, got {_kind(value)}")
            return None
        if not math.isfinite(value):
            self.error(path, f"must be a finite number, got {value}")
            return None
        return float(value)

    def date(self, value: Any, path: Path_) -> dt.date | None:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        self.error(path, f"must be a date written YYYY-MM-DD, got {_kind(value)}")
        return None

    def loose_date(self, value: Any, path: Path_) -> str | None:
        """A date or a month: YYYY-MM-DD or YYYY-MM, kept as text."""
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, str):
            try:
                dt.datetime.strptime(value, "%Y-%m")
                return value
            except ValueError:
                pass
        self.error(path, f"must be a date, YYYY-MM-DD or YYYY-MM, got {_kind(value)}")
        return None


def text_limit(path: Path_) -> int:
    """The most characters the text at ``path`` may have: by its key, or its list's key for a list item."""
    key = next((part for part in reversed(path) if isinstance(part, str)), "")
    return schema.TEXT_LIMITS.get(key, schema.MAX_TEXT)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value:g}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text '{shown}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dt.date):
        return f"date {value.isoformat()}"
    return type(value).__name__


def validate(doc: Document, spec: Spec) -> Assumptions:
    """Check ``doc`` against the schema and the project's model; raise InputError listing every problem."""
    check = Checker(doc, spec)
    figure_names = spec.figure_names
    root = check.mapping(doc.data, ())
    if root is None:
        raise InputError(check.problems)
    check.unknown_keys(root, (*schema.TOP_LEVEL_SECTIONS, *spec.groups), ())
    check.required(root, ("memo", "sources", *spec.groups), ())
    if not check.sizes(root):  # a list past its limit is not walked, let alone computed on
        raise InputError(check.problems)

    memo = _validate_memo(check, root.get("memo"), ("memo",)) if "memo" in root else None
    sources = _validate_sources(check, root.get("sources"), ("sources",)) if "sources" in root else {}
    inputs = _validate_inputs(check, root, sources)
    figures = set(figure_names)
    stated = _validate_stated(check, root.get("stated", []), ("stated",), figures)
    constraints = (
        _validate_constraints(check, root["constraints"], ("constraints",), figures) if "constraints" in root else ()
    )
    before = len(check.problems)
    scenarios = _validate_scenarios(check, root["scenarios"], ("scenarios",)) if "scenarios" in root else {}
    # A scenario with a bad replacement would be checked without it; check the scenarios only when all are sound.
    checked_scenarios = scenarios if len(check.problems) == before else {}
    grids = (
        _validate_sensitivity(check, root["sensitivity"], ("sensitivity",), figures) if "sensitivity" in root else ()
    )
    uncertainty = (
        _validate_uncertainty(check, root["uncertainty"], ("uncertainty",), figures) if "uncertainty" in root else None
    )
    claims = _validate_claims(check, root["claims"], ("claims",), figures) if "claims" in root else ()
    check.problems += constraint_problems(constraints, inputs, checked_scenarios)
    _check_axes(check, grids, inputs, checked_scenarios)
    if check.problems or memo is None:
        raise InputError(check.problems)
    return Assumptions(memo, sources, inputs, stated, scenarios, grids, uncertainty, claims, constraints, spec)


def _validate_memo(check: Checker, value: Any, path: Path_) -> MemoMeta | None:
    section = check.keyed(value, path, schema.MEMO_KEYS)
    if section is None:
        return None
    fields: dict[str, Any] = {}
    for key in ("title", "subtitle", "author", "subject", "disclaimer"):
        if key in section:
            fields[key] = check.text(section[key], (*path, key))
    if "as_of" in section:
        fields["as_of"] = check.date(section["as_of"], (*path, "as_of"))
    if "keywords" in section:
        words = section["keywords"]
        if isinstance(words, list):
            fields["keywords"] = tuple(check.text(w, (*path, "keywords", i)) or "" for i, w in enumerate(words))
        else:
            check.error((*path, "keywords"), f"must be a list of words, got {_kind(words)}")
    if any(fields.get(k) is None for k, (_, required) in schema.MEMO_KEYS.items() if required):
        return None
    return MemoMeta(**fields)


def _validate_sources(check: Checker, value: Any, path: Path_) -> dict[str, Source]:
    section = check.mapping(value, path, "a mapping of source keys to sources")
    if section is None:
        return {}
    out: dict[str, Source] = {}
    for key, entry in section.items():
        entry_path = (*path, key)
        fields = check.keyed(entry, entry_path, schema.SOURCE_KEYS)
        if fields is None:
            continue
        parsed: dict[str, Any] = {"key": key}
        for name in ("title", "author", "publisher", "path", "url"):
            if name in fields:
                parsed[name] = check.text(fields[name], (*entry_path, name))
        if parsed.get("url") is not None:
            problem = url_problem(parsed["url"])
            if problem is not None:
                check.error((*entry_path, "url"), problem)
                parsed["url"] = None
        if "date" in fields:
            parsed["date"] = check.loose_date(fields["date"], (*entry_path, "date"))
        if all(parsed.get(k) is not None for k, (_, required) in schema.SOURCE_KEYS.items() if required):
            out[key] = Source(**parsed)
    return out


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a source's link, or None: it must be an absolute http(s) URL with a host, or a
    relative link; no other scheme (javascript:, data:, file:), no whitespace or backslash a browser would drop."""
    if re.search(r"[\s\\]", url):
        return "must not hold spaces, line breaks or backslashes (write a space as %20)"
    scheme = _SCHEME.match(url)
    if scheme is None:
        return None  # a relative link: it stays on the site
    if scheme.group(1).lower() not in schema.URL_SCHEMES:
        allowed = " or ".join(f"{s}:" for s in schema.URL_SCHEMES)
        return f"must be an {allowed} URL or a relative link, not a {scheme.group(1).lower()}: URL"
    if not urllib.parse.urlsplit(url).netloc:
        return f"must name a host: {scheme.group(1).lower()}://host/..."
    return None


def _validate_inputs(check: Checker, root: Mapping[str, Any], sources: Mapping[str, Source]) -> dict[str, Input]:
    out: dict[str, Input] = {}
    for group in check.spec.groups if check.spec else ():
        if group not in root:
            continue
        section = check.mapping(root[group], (group,))
        if section is None:
            continue
        expected = [name.split(".", 1)[1] for name in check.inputs if name.startswith(group + ".")]
        check.unknown_keys(section, expected, (group,))
        for key in expected:
            name = f"{group}.{key}"
            if key not in section:
                check.error((group,), f"missing input '{key}' ({check.inputs[name].label})", of_key=True)
                continue
            parsed = _validate_entry(check, check.inputs[name], section[key], (group, key), sources)
            if parsed is not None:
                out[name] = parsed
    return out


def _validate_entry(
    check: Checker, spec: schema.InputSpec, value: Any, path: Path_, sources: Mapping[str, Source]
) -> Input | None:
    entry = check.mapping(value, path, "a mapping with value (or low / base / high), unit and source")
    if entry is None:
        return None
    check.unknown_keys(entry, schema.ENTRY_KEYS, path)
    ok = True
    unit = check.unit_of(spec.name)
    if "unit" not in entry:
        check.error(path, "missing required key 'unit'", of_key=True)
        ok = False
    elif entry["unit"] != spec.unit:
        check.error((*path, "unit"), f"must be '{spec.unit}' ({unit.description}), got {_kind(entry['unit'])}")
        ok = False

    estimate = entry.get("estimate", False)
    if not isinstance(estimate, bool):
        check.error((*path, "estimate"), f"must be true or false, got {_kind(estimate)}")
        estimate, ok = False, False
    note = check.text(entry["note"], (*path, "note")) if "note" in entry else None
    if estimate and note is None and "note" not in entry:
        check.error(path, "an estimate needs a note saying how it was chosen", of_key=True)
        ok = False
    source = None
    if "source" in entry:
        source = _validate_source_ref(check, entry["source"], (*path, "source"), sources)
        ok = ok and source is not None
    elif not estimate:
        check.error(path, "missing required key 'source' (or mark it estimate: true with a note)", of_key=True)
        ok = False

    distribution = entry.get("distribution", "triangular")
    if distribution not in schema.DISTRIBUTIONS:
        check.error(
            (*path, "distribution"), f"must be one of {', '.join(schema.DISTRIBUTIONS)}, got {_kind(distribution)}"
        )
        ok = False
    elif "distribution" in entry and "low" not in entry:
        check.error((*path, "distribution"), "only an input with low / base / high has a distribution", of_key=True)
        ok = False
    values = _validate_values(check, spec, unit, entry, path)
    if values is None or not ok:
        return None
    base, low, high = values
    return Input(spec.name, spec.unit, base, low, high, source, estimate, note, distribution)


def _validate_values(
    check: Checker, spec: schema.InputSpec, unit: schema.Unit, entry: Mapping[str, Any], path: Path_
) -> tuple[Any, float | None, float | None] | None:
    range_keys = [k for k in ("low", "base", "high") if k in entry]
    if "value" in entry and range_keys:
        check.error((*path, range_keys[0]), "give either value or low / base / high, not both", of_key=True)
        return None
    if "value" not in entry and not range_keys:
        check.error(path, "missing required key 'value' (or low / base / high)", of_key=True)
        return None
    if "value" in entry:
        value = _domain_value(check, spec, unit, entry["value"], (*path, "value"))
        return None if value is None else (value, None, None)
    if not spec.ranged:
        check.error((*path, range_keys[0]), "this input takes a single value, not a range", of_key=True)
        return None
    missing = [k for k in ("low", "base", "high") if k not in entry]
    if missing:
        check.error(path, f"a range needs low, base and high; missing {', '.join(missing)}", of_key=True)
        return None
    low, base, high = (_domain_value(check, spec, unit, entry[k], (*path, k)) for k in ("low", "base", "high"))
    if low is None or base is None or high is None:
        return None
    if low > high:
        check.error((*path, "low"), f"empty range: low {low:g} is above high {high:g}")
        return None
    if not low <= base <= high:
        check.error((*path, "base"), f"must be between low {low:g} and high {high:g}, got {base:g}")
        return None
    return base, low, high


def _domain_value(check: Checker, spec: schema.InputSpec, unit: schema.Unit, value: Any, path: Path_) -> Any:
    if unit.is_date:
        return check.date(value, path)
    number = check.number(value, path)
    if number is None:
        return None
    problem = out_of_domain(spec, unit, number)
    if problem is not None:
        check.error(path, problem)
        return None
    return number


def out_of_domain(spec: schema.InputSpec, unit: schema.Unit, number: float) -> str | None:
    """Why ``number`` cannot be a value of this input (dates as day numbers), or None when it can."""
    if unit.is_date:
        if not (number == int(number) and 1 <= number <= dt.date.max.toordinal()):
            return f"must be a whole day number from 1 to {dt.date.max.toordinal()}, got {number:g}"
        return None
    if unit.maximum is not None and not unit.minimum <= number <= unit.maximum:
        return f"must be between {unit.minimum:g} and {unit.maximum:g}, got {number:g}"
    if spec.positive and number <= 0:
        return f"must be greater than 0, got {number:g}"
    if unit.minimum is not None and number < unit.minimum:
        return f"must be {unit.minimum:g} or more, got {number:g}"
    return None


def _validate_source_ref(check: Checker, value: Any, path: Path_, sources: Mapping[str, Source]) -> SourceRef | None:
    entry = check.mapping(value, path, "a mapping with ref, where and date")
    if entry is None:
        return None
    check.unknown_keys(entry, schema.SOURCE_REF_KEYS, path)
    check.required(entry, schema.SOURCE_REF_KEYS, path)
    ref = check.text(entry["ref"], (*path, "ref")) if "ref" in entry else None
    if ref is not None and ref not in sources:
        known = ", ".join(sources) or "none defined"
        check.error((*path, "ref"), f"unknown source '{ref}' (sources: {known})")
        ref = None
    where = check.text(entry["where"], (*path, "where")) if "where" in entry else None
    date = check.loose_date(entry["date"], (*path, "date")) if "date" in entry else None
    if ref is None or where is None or date is None:
        return None
    return SourceRef(ref, where, date)


def _validate_stated(check: Checker, value: Any, path: Path_, figure_names: set[str]) -> tuple[Statement, ...]:
    if not isinstance(value, list):
        check.error(path, f"must be a list of statements, got {_kind(value)}")
        return ()
    out: list[Statement] = []
    for i, item in enumerate(value):
        item_path = (*path, i)
        entry = check.mapping(item, item_path)
        if entry is None:
            continue
        check.unknown_keys(entry, schema.STATED_KEYS, item_path)
        check.required(entry, ("figure", "tolerance", "where"), item_path)
        figure = check.text(entry["figure"], (*item_path, "figure")) if "figure" in entry else None
        if figure is not None and figure_names and figure not in figure_names:
            check.error((*item_path, "figure"), f"unknown figure '{figure}'" + did_you_mean(figure, figure_names))
            figure = None
        numbers = {
            k: _non_negative(check, entry[k], (*item_path, k))
            for k in ("value", "low", "high", "below", "above", "tolerance")
            if k in entry
        }
        forms = [
            form for form in (("value",), ("low", "high"), ("below",), ("above",)) if all(k in entry for k in form)
        ]
        if len(forms) != 1 or (any(k in entry for k in ("low", "high")) and forms != [("low", "high")]):
            check.error(item_path, "give exactly one of: value, low and high, below, or above", of_key=True)
            continue
        where = check.text(entry["where"], (*item_path, "where")) if "where" in entry else None
        if figure is None or where is None or None in numbers.values() or "tolerance" not in numbers:
            continue
        out.append(Statement(figure=figure, where=where, **numbers))
    return tuple(out)


def _non_negative(check: Checker, value: Any, path: Path_) -> float | None:
    number = check.number(value, path)
    if number is not None and number < 0:
        check.error(path, f"must be 0 or more, got {number:g}")
        return None
    return number


def _input_name(check: Checker, value: Any, path: Path_, *, of_key: bool = False) -> str | None:
    name = check.text(value, path)
    if name is not None and name not in check.inputs:
        message = f"unknown input '{name}'" + did_you_mean(name, check.inputs)
        check.error(path, message, of_key=of_key)
        return None
    return name


def _figure_name(check: Checker, value: Any, path: Path_, figures: set[str]) -> str | None:
    name = check.text(value, path)
    if name is not None and name not in figures:
        check.error(path, f"unknown figure '{name}'" + did_you_mean(name, figures))
        return None
    return name


def _number_for(check: Checker, input_name: str, value: Any, path: Path_) -> float | None:
    spec = check.inputs[input_name]
    number = _domain_value(check, spec, check.unit_of(input_name), value, path)
    if isinstance(number, dt.date):
        return float(number.toordinal())
    return number


def _validate_scenarios(check: Checker, value: Any, path: Path_) -> dict[str, Scenario]:
    section = check.mapping(value, path, "a mapping of scenario names to scenarios")
    out: dict[str, Scenario] = {}
    for name, entry in (section or {}).items():
        entry_path = (*path, name)
        fields = check.mapping(entry, entry_path, "a mapping with rationale and set")
        if fields is None:
            continue
        check.unknown_keys(fields, schema.SCENARIO_KEYS, entry_path)
        check.required(fields, ("rationale",), entry_path)
        rationale = check.text(fields["rationale"], (*entry_path, "rationale")) if "rationale" in fields else None
        overrides: dict[str, float] = {}
        settings = check.mapping(fields.get("set", {}), (*entry_path, "set"), "a mapping of input names to values")
        for key, setting in (settings or {}).items():
            input_name = _input_name(check, key, (*entry_path, "set", key), of_key=True)
            if input_name is not None:
                number = _number_for(check, input_name, setting, (*entry_path, "set", key))
                if number is not None:
                    overrides[input_name] = number
        if rationale is not None:
            out[name] = Scenario(name, rationale, overrides)
    return out


def _validate_axis(check: Checker, value: Any, path: Path_) -> Axis | None:
    fields = check.mapping(value, path, "a mapping with input and values (or multipliers or offsets)")
    if fields is None:
        return None
    check.unknown_keys(fields, schema.AXIS_KEYS, path)
    check.required(fields, ("input",), path)
    forms = [k for k in schema.AXIS_FORMS if k in fields]
    if not forms:
        check.error(path, "missing required key 'values' (or 'multipliers' or 'offsets')", of_key=True)
    elif len(forms) > 1:
        check.error(
            (*path, forms[1]),
            f"give exactly one of values, multipliers or offsets, not {' and '.join(forms)}",
            of_key=True,
        )
    name = _input_name(check, fields["input"], (*path, "input")) if "input" in fields else None
    form = forms[0] if len(forms) == 1 else None
    raw = fields.get(form) if form else None
    if form and (not isinstance(raw, list) or len(raw) < 2):
        got = f"a list of {len(raw)}" if isinstance(raw, list) else _kind(raw)
        check.error((*path, form), f"must be a list of at least two {form}, got {got}")
        return None
    scales = fields.get("scales", [])
    if not isinstance(scales, list):
        check.error((*path, "scales"), f"must be a list of input names, got {_kind(scales)}")
        return None
    scaled = [_input_name(check, s, (*path, "scales", i)) for i, s in enumerate(scales)]
    if name is None or form is None or raw is None:
        return None
    if form == "values":
        values = [_number_for(check, name, v, (*path, form, i)) for i, v in enumerate(raw)]
    else:
        values = [check.number(v, (*path, form, i)) for i, v in enumerate(raw)]
    if form == "multipliers":
        for i, v in enumerate(values):
            if v is not None and v <= 0:
                check.error((*path, form, i), f"must be greater than 0, got {v:g}")
                values[i] = None
        if check.unit_of(name).is_date:
            check.error((*path, form), f"{name} is a date, which cannot be multiplied; use offsets (in days)")
            return None
    if None in values or None in scaled:
        return None
    if name in scaled:
        check.error((*path, "scales"), f"{name} cannot scale with itself")
        return None
    if sorted(values) != values or len(set(values)) != len(values):
        check.error((*path, form), "must be distinct and in increasing order")
        return None
    return Axis(name, tuple(values), tuple(scaled), form, check.inputs[name], check.unit_of(name))


def _check_axes(
    check: Checker, grids: Iterable[Grid], inputs: Mapping[str, Input], scenarios: Mapping[str, Scenario]
) -> None:
    """A relative axis must leave a value on the grid at the base and in every scenario that moves its input."""
    for grid in grids:
        for side, axis in (("rows", grid.rows), ("columns", grid.columns)):
            if axis.form == "values" or axis.input not in inputs:
                continue
            cases = [(inputs[axis.input].number, "")]
            cases += [
                (s.overrides[axis.input], f" in the {n} scenario")
                for n, s in scenarios.items()
                if axis.input in s.overrides
            ]
            unit = inputs[axis.input].unit
            path = ("sensitivity", grid.name, side, axis.form)
            for base, where in cases:
                kept, dropped = axis.points(base)  # multiples of a base of 0 are one value: a one-line grid
                if not kept:
                    computed = ", ".join(_show(v, unit) for v in dropped)
                    check.error(
                        path,
                        f"leave no value {axis.input} can take at its base of {_show(base, unit)}{where} "
                        f"(computed: {computed})",
                    )


def _show(value: float, unit: str) -> str:
    """``value`` as the memo prints it in ``unit`` (plainly when it is no valid value of the unit, as a bad date)."""
    from memo import format as fmt

    try:
        return fmt.by_unit(value, unit)
    except (ValueError, OverflowError):
        return f"{value:g}"


def _validate_sensitivity(check: Checker, value: Any, path: Path_, figures: set[str]) -> tuple[Grid, ...]:
    section = check.mapping(value, path, "a mapping of grid names to grids")
    out: list[Grid] = []
    for name, entry in (section or {}).items():
        entry_path = (*path, name)
        fields = check.mapping(entry, entry_path, "a mapping with title, rows, columns and figures")
        if fields is None:
            continue
        check.unknown_keys(fields, schema.GRID_KEYS, entry_path)
        check.required(fields, schema.GRID_KEYS, entry_path)
        title = check.text(fields["title"], (*entry_path, "title")) if "title" in fields else None
        rows = _validate_axis(check, fields["rows"], (*entry_path, "rows")) if "rows" in fields else None
        columns = _validate_axis(check, fields["columns"], (*entry_path, "columns")) if "columns" in fields else None
        names = fields.get("figures", [])
        if not isinstance(names, list) or not names:
            check.error((*entry_path, "figures"), f"must be a list of figure names, got {_kind(names)}")
            continue
        targets = [_figure_name(check, f, (*entry_path, "figures", i), figures) for i, f in enumerate(names)]
        if rows and columns and rows.input == columns.input:
            check.error((*entry_path, "columns", "input"), "rows and columns must vary different inputs")
            continue
        if title and rows and columns and None not in targets:
            out.append(Grid(name, title, rows, columns, tuple(targets)))
    return tuple(out)


def _validate_uncertainty(check: Checker, value: Any, path: Path_, figures: set[str]) -> Uncertainty | None:
    fields = check.mapping(value, path, "a mapping with draws, seed and figures")
    if fields is None:
        return None
    check.unknown_keys(fields, schema.UNCERTAINTY_KEYS, path)
    check.required(fields, schema.UNCERTAINTY_KEYS, path)
    draws, seed = fields.get("draws"), fields.get("seed")
    ok = True
    limit = schema.MAX_DRAWS
    if "draws" in fields and (isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= limit):
        check.error((*path, "draws"), f"must be a whole number from 1 to {limit:,}, got {_kind(draws)}")
        ok = False
    if "seed" in fields and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        check.error((*path, "seed"), f"must be a whole number, 0 or more, got {_kind(seed)}")
        ok = False
    names = fields.get("figures", [])
    if not isinstance(names, list) or not names:
        check.error((*path, "figures"), f"must be a list of figure names, got {_kind(names)}")
        return None
    targets = [_figure_name(check, f, (*path, "figures", i), figures) for i, f in enumerate(names)]
    if not ok or None in targets or "draws" not in fields or "seed" not in fields:
        return None
    return Uncertainty(draws, seed, tuple(targets))


def _validate_constraints(check: Checker, value: Any, path: Path_, figures: set[str]) -> tuple[Constraint, ...]:
    def misnamed(name: str) -> str | None:
        if name in figures:
            return f"{name} is a figure, not an input; a constraint relates inputs (a claim compares figures)"
        return None

    found = _conditions(check, value, path, "constraint", "input", set(check.inputs), misnamed)
    return tuple(Constraint(*fields) for fields in found)


def _conditions(
    check: Checker,
    value: Any,
    path: Path_,
    kind: str,
    noun: str,
    names: set[str],
    misnamed: Callable[[str], str | None] = lambda name: None,
) -> list[tuple[str, str, str, str, int, int]]:
    """A list of ``{id, text, holds}`` (claims over figures, constraints over inputs): each holds must parse, name
    only known ``names`` and compare; returns (id, text, holds, file, line, column) for each valid one."""
    from memo import expr

    if not isinstance(value, list):
        check.error(path, f"must be a list of {kind}s, got {_kind(value)}")
        return []
    keys = schema.CLAIM_KEYS if kind == "claim" else schema.CONSTRAINT_KEYS
    out: list[tuple[str, str, str, str, int, int]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        item_path = (*path, i)
        fields = check.mapping(item, item_path, "a mapping with id, text and holds")
        if fields is None:
            continue
        check.unknown_keys(fields, keys, item_path)
        check.required(fields, keys, item_path)
        item_id = check.text(fields["id"], (*item_path, "id")) if "id" in fields else None
        if item_id is not None and item_id in seen:
            check.error((*item_path, "id"), f"{kind} id '{item_id}' is used twice")
            item_id = None
        seen.add(item_id or "")
        text = check.text(fields["text"], (*item_path, "text")) if "text" in fields else None
        source = check.text(fields["holds"], (*item_path, "holds")) if "holds" in fields else None
        if source is None:
            continue
        holds = (*item_path, "holds")
        try:
            parsed = expr.parse(source)
        except expr.ExprError as exc:
            check.error(holds, f"not a valid {kind}: {exc}")
            continue
        unknown = [n for n in parsed.names if n not in names]
        if unknown:
            check.error(
                holds, misnamed(unknown[0]) or f"unknown {noun} '{unknown[0]}'" + did_you_mean(unknown[0], names)
            )
            continue
        if not parsed.is_condition:
            check.error(holds, f"a {kind} must compare {noun}s (use < <= > >= == !=)")
            continue
        if item_id is not None and text is not None:
            pos = check.doc.position(holds)
            out.append((item_id, text, source, check.doc.origin(holds), pos.line, pos.column))
    return out


_ENDS = ("base", "low", "high")  # the base first, so a constraint broken at the base is reported as such


def constraint_problems(
    constraints: Iterable[Constraint], inputs: Mapping[str, Input], scenarios: Mapping[str, Scenario] | None = None
) -> list[Diagnostic]:
    """Each constraint that does not hold, as a diagnostic at its ``holds``.

    A constraint is checked on the inputs and on each scenario that replaces one of the inputs it names (a
    replaced input is a point); a ranged input is checked at its base, low and high, in every combination with
    the other ranged inputs the constraint names. Dates are day numbers (``Input.number``). A constraint naming an
    input that did not validate is skipped: that input's own problem is reported instead.
    """
    import itertools

    from memo import expr

    points = {name: {"base": item.number, "low": item.low, "high": item.high} for name, item in inputs.items()}
    out: list[Diagnostic] = []
    for constraint in constraints:
        parsed = expr.parse(constraint.holds)
        if any(name not in points for name in parsed.names):
            continue
        cases: list[tuple[dict[str, float], str]] = [({}, "")]
        cases += [
            ({k: v for k, v in s.overrides.items() if k in parsed.names}, f" in the {name} scenario")
            for name, s in (scenarios or {}).items()
            if any(k in parsed.names for k in s.overrides)
        ]
        for overrides, scenario in cases:
            ranged = [n for n in parsed.names if n not in overrides and points[n]["low"] is not None]
            for ends in itertools.product(_ENDS, repeat=len(ranged)):
                at = dict(zip(ranged, ends, strict=True))
                env = {n: overrides[n] if n in overrides else points[n][at.get(n, "base")] for n in parsed.names}
                if bool(parsed.evaluate(env)):
                    continue
                shown = ", ".join(f"{n} = {_show(env[n], inputs[n].unit)}" for n in parsed.names)
                moved = [f"the {end} end of {n}" for n, end in at.items() if end != "base"]
                place = f" at {' and '.join(moved)}" if moved else ""
                message = f"does not hold: {constraint.text}: {constraint.holds} with {shown}{place}{scenario}"
                out.append(
                    Diagnostic(
                        constraint.file, constraint.line, constraint.column, f"constraints.{constraint.id}", message
                    )
                )
                break
    return out


def _validate_claims(check: Checker, value: Any, path: Path_, figures: set[str]) -> tuple[Claim, ...]:
    return tuple(Claim(*fields) for fields in _conditions(check, value, path, "claim", "figure", figures))
