"""How numbers read in the memo: one formatter per kind of number, used as Jinja filters and in charts.

money: $660M, $1.12B, $18.50; multiple: 11.3x; pct: 5%, 0.39%; count: 150,000 or 3.0M; ranges: $7B–$24B.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DASH = "\u2013"  # en dash, for ranges
MINUS = "\u2212"


def _round(value: float, exponent: int) -> Decimal:
    """``value`` rounded half-up to a multiple of 10**exponent, from its shortest decimal form (2.775 -> 2.78)."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _sig(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, trailing zeros dropped (58.3, 660, 1.12, 2.6, 293000)."""
    if value == 0:
        return "0"
    exponent = Decimal(repr(float(value))).adjusted() - digits + 1
    return _plain(_round(value, exponent))


def _fixed(value: float, decimals: int) -> str:
    return format(_round(value, -decimals), "f")


def _signed(text: str, negative: bool) -> str:
    return f"{MINUS}{text}" if negative else text


def money(value: float, digits: int = 3) -> str:
    """$660M, $1.12B, $58.3M, $2.78M, $18.50, $14, $200."""
    size = abs(value)
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if size >= threshold * 0.9995:
            scaled = _sig(size / threshold, digits)
            if "." not in scaled and len(scaled) == 1:
                scaled += ".0"  # $2.0M beside $2.6M, not $2M
            return _signed(f"${scaled}{suffix}", value < 0)
    if _fixed(size, 2).endswith(".00"):
        return _signed(f"${int(_round(size, 0)):,}", value < 0)
    return _signed(f"${float(_fixed(size, 2)):,.2f}", value < 0)


def multiple(value: float) -> str:
    """11.3x, 2.6x, 26.0x: one decimal, always."""
    return _signed(f"{_fixed(abs(value), 1)}x", value < 0)


def pct(value: float) -> str:
    """A share as a percentage: 5%, 30%, 7.5%, 0.39%, 56%."""
    percent = abs(value) * 100
    if percent == 0:
        text = "0"
    elif percent < 1:
        text = _sig(percent, 2)
    elif percent < 10:
        text = _plain(_round(percent, -1))
    else:
        text = _fixed(percent, 0)
    return _signed(f"{text}%", value < 0)


def count(value: float) -> str:
    """People or things: 150,000; 293,000; 3.0M; 60B."""
    size = abs(value)
    if size >= 1e9 * 0.9995:
        return _signed(f"{_sig(size / 1e9)}B", value < 0)
    if size >= 1e6 * 0.9995:
        return _signed(f"{_fixed(size / 1e6, 1)}M", value < 0)
    if size >= 1000:
        return _signed(f"{int(Decimal(_sig(size))):,}", value < 0)
    return _signed(_sig(size), value < 0)


def ratio(value: float) -> str:
    """An API-to-subscription ratio: 1:1, 0.75:1."""
    return f"{_sig(value, 2)}:1"


def date(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def plain(value: float) -> str:
    """A number without a unit: three significant digits, thousands separated (58.3, 1,200, 0.042)."""
    size = abs(value)
    text = f"{int(Decimal(_sig(size))):,}" if size >= 1000 else _sig(size)
    return _signed(text, value < 0)


def year(value: float) -> str:
    return f"{int(_round(value, 0))}"


FORMATTERS: dict[str, Callable[[float], str]] = {
    "money": money,
    "count": count,
    "percent": pct,
    "ratio": ratio,
    "multiple": multiple,
    "year": year,
    "date": lambda value: date(dt.date.fromordinal(int(value))),
    "plain": plain,
}

# unit name -> format name: the engine's units, and those of the project being built (``use_units``).
_FORMAT_OF: dict[str, str] = {}


def use_units(units: Mapping[str, Any]) -> None:
    """Print numbers in these units (name -> an object with a ``format``, or the format's name) from now on, besides
    the engine's own. A build calls it with its project's units; a review with the units its builds recorded."""
    from memo.schema import ENGINE_UNITS

    _FORMAT_OF.clear()
    for name, unit in {**ENGINE_UNITS, **units}.items():
        _FORMAT_OF[name] = unit if isinstance(unit, str) else unit.format


def by_unit(value: float, unit: str) -> str:
    if not _FORMAT_OF:
        use_units({})
    return FORMATTERS.get(_FORMAT_OF.get(unit, "plain"), plain)(value)


def span(low: float, high: float, unit: str) -> str:
    """A range in one unit: $7B–$24B, 5%–15%, 10.7x–12.0x."""
    return f"{by_unit(low, unit)}{DASH}{by_unit(high, unit)}"
