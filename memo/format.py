"""How numbers read in the memo: one formatter per kind of number, used as Jinja filters and in charts.

money: $660M, $1.12B, $18.50; multiple: 11.3x; pct: 5%, 0.39%; count: 150,000 or 3.0M; ranges: $7B–$24B.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

DASH = "\u2013"  # en dash, for ranges
MINUS = "\u2212"
# Outside these sizes a number prints in scientific notation (1.5e+20), never as hundreds of digits.
SMALLEST_PLAIN = 1e-6
LARGEST_PLAIN = 1e15
# Room for every digit a float can have (about 330 before the point, 1075 after), so rounding never fails.
_CONTEXT = Context(prec=1200, rounding=ROUND_HALF_UP)


def _round(value: float, exponent: int) -> Decimal:
    """``value`` rounded half-up to a multiple of 10**exponent, from its shortest decimal form (2.775 -> 2.78)."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(exponent), context=_CONTEXT)


def _scientific(value: float | Decimal, digits: int = 3) -> str:
    """``value`` as mantissa and exponent, ``digits`` significant digits, trailing zeros dropped: 1.5e+200."""
    number = abs(value) if isinstance(value, Decimal) else Decimal(repr(float(abs(value))))
    exponent = number.adjusted()
    mantissa = number.scaleb(-exponent).quantize(Decimal(1).scaleb(1 - digits), context=_CONTEXT)
    if mantissa >= 10:  # 9.9996 rounds up to 10
        mantissa, exponent = (mantissa / 10).quantize(Decimal(1).scaleb(1 - digits), context=_CONTEXT), exponent + 1
    return f"{'-' if value < 0 else ''}{_plain(mantissa)}e{exponent:+d}"


def _extreme(size: float) -> bool:
    return size != 0 and not SMALLEST_PLAIN <= abs(size) < LARGEST_PLAIN


def _finite(formatter: Callable[[float], str]) -> Callable[[float], str]:
    """A formatter that prints infinity and not-a-number as such instead of failing (the model refuses them as
    figures; a chart's or a review's number may still be one)."""

    @functools.wraps(formatter)
    def wrapped(value: float, *args: Any) -> str:
        if isinstance(value, int | float) and not math.isfinite(value):
            return "n/a" if math.isnan(value) else ("\u221e" if value > 0 else MINUS + "\u221e")
        return formatter(value, *args)

    return wrapped


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _sig(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, trailing zeros dropped (58.3, 660, 1.12, 2.6, 293000)."""
    if value == 0:
        return "0"
    if _extreme(value):
        return _scientific(value, digits)
    exponent = Decimal(repr(float(value))).adjusted() - digits + 1
    return _plain(_round(value, exponent))


def _fixed(value: float, decimals: int) -> str:
    return format(_round(value, -decimals), "f")


def _signed(text: str, negative: bool) -> str:
    return f"{MINUS}{text}" if negative else text


@_finite
def money(value: float, digits: int = 3) -> str:
    """$660M, $1.12B, $58.3M, $2.78M, $18.50, $14, $200."""
    size = abs(value)
    if size >= LARGEST_PLAIN:
        return _signed(f"${_scientific(size, digits)}", value < 0)
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if size >= threshold * 0.9995:
            scaled = _sig(size / threshold, digits)
            if "." not in scaled and len(scaled) == 1:
                scaled += ".0"  # $2.0M beside $2.6M, not $2M
            return _signed(f"${scaled}{suffix}", value < 0)
    if _fixed(size, 2).endswith(".00"):
        return _signed(f"${int(_round(size, 0)):,}", value < 0)
    return _signed(f"${float(_fixed(size, 2)):,.2f}", value < 0)


@_finite
def multiple(value: float) -> str:
    """11.3x, 2.6x, 26.0x: one decimal, always."""
    if abs(value) >= LARGEST_PLAIN:
        return _signed(f"{_scientific(abs(value))}x", value < 0)
    return _signed(f"{_fixed(abs(value), 1)}x", value < 0)


@_finite
def pct(value: float) -> str:
    """A share as a percentage: 5%, 30%, 7.5%, 0.39%, 56%."""
    percent = abs(value) * 100
    if percent == 0:
        text = "0"
    elif _extreme(percent) or not math.isfinite(percent):
        text = _scientific(Decimal(repr(float(abs(value)))) * 100, 2)  # in decimal: 1e308 * 100 is no float
    elif percent < 1:
        text = _sig(percent, 2)
    elif percent < 10:
        text = _plain(_round(percent, -1))
    else:
        text = _fixed(percent, 0)
    return _signed(f"{text}%", value < 0)


@_finite
def count(value: float) -> str:
    """People or things: 150,000; 293,000; 3.0M; 60B."""
    size = abs(value)
    if size >= LARGEST_PLAIN:
        return _signed(_scientific(size), value < 0)
    if size >= 1e9 * 0.9995:
        return _signed(f"{_sig(size / 1e9)}B", value < 0)
    if size >= 1e6 * 0.9995:
        return _signed(f"{_fixed(size / 1e6, 1)}M", value < 0)
    if size >= 1000:
        return _signed(f"{int(Decimal(_sig(size))):,}", value < 0)
    return _signed(_sig(size), value < 0)


@_finite
def ratio(value: float) -> str:
    """An API-to-subscription ratio: 1:1, 0.75:1."""
    return f"{_sig(value, 2)}:1"


def date(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


@_finite
def plain(value: float) -> str:
    """A number without a unit: three significant digits, thousands separated (58.3, 1,200, 0.042)."""
    size = abs(value)
    text = f"{int(Decimal(_sig(size))):,}" if 1000 <= size < LARGEST_PLAIN else _sig(size)
    return _signed(text, value < 0)


@_finite
def year(value: float) -> str:
    return f"{int(_round(value, 0))}" if abs(value) < LARGEST_PLAIN else plain(value)


@_finite
def _date_of(value: float) -> str:
    """A day number as a date; one outside the calendar's years 1 to 9999 as a plain number."""
    if 1 <= value < dt.date.max.toordinal() + 1:
        return date(dt.date.fromordinal(int(value)))
    return plain(value)


FORMATTERS: dict[str, Callable[[float], str]] = {
    "money": money,
    "count": count,
    "percent": pct,
    "ratio": ratio,
    "multiple": multiple,
    "year": year,
    "date": _date_of,
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
