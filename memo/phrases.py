"""Words computed from figures: the direction of a change, a comparison with stated thresholds, a place in a range,
a portion of a whole.

Templates, chart titles, captions and alt texts all take their direction and size words from here, so a sentence's
words always agree with the numbers it was built from: a fall reads "down 25%", never "up −25%". Pure: numbers in,
words out. Each helper also returns a *guard*, a short account of what it compared and what it found, which the
HTML carries (``data-guard``) so that ``memo diff`` can report a sentence whose verdict changed even when its words
did not.

The thresholds are stated once, here, and printed in the memo's methodology:

- ``compare``: within ``NEAR`` (5 %) of each other is "about the same as"; more than ``FAR`` (twice) the other is
  "well above", less than half of it "well below"; otherwise "above" or "below".
- ``place``: a value within ``MIDDLE`` (10 % of the span) of the midpoint of two others is "midway between" them.
- ``portion``: "all", "most" (more than ``MOST``, 60 %), "about half", "less than half" (under 40 %), "none".
"""

from __future__ import annotations

import math

from memo import format as fmt

NEAR = 0.05
FAR = 2.0
MIDDLE = 0.1
MOST = 0.6

COMPARISONS = ("well above", "above", "about the same as", "below", "well below")
PLACES = ("below both", "level with one of", "between", "midway between", "above both")
PORTIONS = ("all", "most", "about half", "less than half", "none")


def direction(change: float, shown_as_zero: bool = False) -> str:
    """ "up", "down" or "unchanged" for a relative change (0.5 is up 50%). ``shown_as_zero``: the change prints as
    zero at the memo's rounding, so calling it a rise or a fall would contradict the number beside it."""
    if shown_as_zero or change == 0 or not math.isfinite(change):
        return "unchanged"
    return "up" if change > 0 else "down"


def change_size(value: float, unit: str) -> tuple[float, float]:
    """The unsigned size of a change and the value that means "no change": a relative change (unit "change",
    -0.25 is down 25%) prints its magnitude around 0; a growth multiple (unit "multiple", 0.5x) prints itself
    around 1."""
    if unit == "change":
        return abs(value), 0.0
    if unit == "multiple":
        return value, 1.0
    raise ValueError(f"a change is a relative change or a multiple, not a figure in {unit!r}")


def moved(value: float, unit: str, up: str, down: str, same: str) -> tuple[str, str, str]:
    """A change in words: (direction, the pattern for it, the unsigned size as the memo prints it). The patterns
    for a rise, a fall and no change carry ``{}`` where the size goes ("up {}", "fewer than {}")."""
    size, neutral = change_size(value, unit)
    shown = fmt.by_unit(size, unit)
    way = direction(value - neutral, shown == fmt.by_unit(neutral, unit))
    return way, {"up": up, "down": down, "unchanged": same}[way], shown


def lower_first(text: str) -> str:
    """A label as it reads inside a sentence: "Weighted average ..." -> "weighted average ...", keeping "API"."""
    head = text.split(" ", 1)[0]
    return text if head.isupper() else text[:1].lower() + text[1:]


def compare(a: float, b: float, near: float = NEAR, far: float = FAR) -> str:
    """How ``a`` stands against ``b``: one of COMPARISONS. Both are taken as sizes of the same kind (b > 0)."""
    if b == 0:
        return "about the same as" if a == 0 else ("above" if a > 0 else "below")
    ratio = a / b
    if abs(ratio - 1) <= near:
        return "about the same as"
    if ratio > 1:
        return "well above" if ratio > far else "above"
    return "well below" if ratio < 1 / far else "below"


def place(value: float, one: float, other: float, middle: float = MIDDLE) -> str:
    """Where ``value`` lies against two others (in either order): one of PLACES."""
    low, high = min(one, other), max(one, other)
    if value < low:
        return "below both"
    if value > high:
        return "above both"
    if value in (low, high):
        return "level with one of"
    midpoint = (low + high) / 2
    return "midway between" if abs(value - midpoint) <= middle * (high - low) else "between"


def portion(part: int, whole: int) -> str:
    """How much of a whole ``part`` is, in words: one of PORTIONS ("none" of nothing)."""
    if whole <= 0 or part <= 0:
        return "none"
    if part >= whole:
        return "all"
    share = part / whole
    if share > MOST:
        return "most"
    if share >= 1 - MOST:
        return "about half"
    return "less than half"


def listing(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
