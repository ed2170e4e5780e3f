"""The formula and claim language: names, numbers and operators only."""

from __future__ import annotations

import numpy as np
import pytest

from memo import expr


def test_arithmetic_names_and_functions() -> None:
    e = expr.parse("(a.x + 2) * b.y ** 2 / 4 - max(a.x, 10) + abs(-1)")
    assert e.names == ("a.x", "b.y")
    assert e.evaluate({"a.x": 2.0, "b.y": 3.0}) == pytest.approx((2 + 2) * 9 / 4 - 10 + 1)


def test_works_elementwise_on_arrays() -> None:
    e = expr.parse("min(a, b) / 2")
    assert list(e.evaluate({"a": np.array([1.0, 8.0]), "b": np.array([4.0, 2.0])})) == [0.5, 1.0]


def test_comparisons_and_booleans() -> None:
    e = expr.parse("x < 26 and not (y >= 3) or 1 < x <= 2")
    assert bool(e.evaluate({"x": 11.0, "y": 2.0})) is True
    assert bool(e.evaluate({"x": 30.0, "y": 2.0})) is False
    assert bool(e.evaluate({"x": 2.0, "y": 5.0})) is True


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("__import__('os')", "only the functions abs, max, min may be called"),
        ("a.x.__class__()", "only the functions abs, max, min may be called"),
        ("a[0]", "indexing is not allowed"),
        ("lambda: 1", "lambda is not allowed"),
        ("'text'", "the constant 'text' is not allowed"),
        ("a if b else c", "if/else is not allowed"),
        ("[1, 2]", "a list is not allowed"),
        ("a // 2", "this operator is not allowed"),
        ("a in b", "only < <= > >= == != comparisons are allowed"),
        ("min(a)", "min() takes exactly 2 arguments"),
        ("max", "max is a function"),
        ("a +", "syntax error"),
        ("True", "the constant True is not allowed"),
    ],
)
def test_refuses_everything_else(source: str, message: str) -> None:
    with pytest.raises(expr.ExprError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        expr.parse(source)


def test_unknown_names_are_not_resolved_from_python() -> None:
    with pytest.raises(KeyError):
        expr.parse("open").evaluate({})
