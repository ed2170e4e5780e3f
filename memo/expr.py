"""A small, safe expression language for formulas and claims.

Expressions are parsed with Python's ``ast`` module and compiled into closures over a whitelist of node types:
numbers, dotted names (``customers.paid``), arithmetic (+ - * / **), unary minus, parentheses, comparisons,
``and`` / ``or`` / ``not``, and the functions ``min``, ``max`` and ``abs``. Nothing is passed to ``eval``.
Every operation works element-wise on numpy arrays as well as on floats, so one formula serves a single
evaluation, a corner sweep and a Monte Carlo run alike.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Env = Mapping[str, Any]
_Fn = Callable[[Env], Any]

# numpy's operations, not Python's: a division by zero is inf (which the model refuses, naming the figure), not a
# ZeroDivisionError; a negative number to a fractional power is nan, not a complex number; an overflow is inf.
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.Pow: np.power,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "min": (2, np.minimum),
    "max": (2, np.maximum),
    "abs": (1, np.abs),
}
_MAX_SOURCE = 2_000


class ExprError(ValueError):
    """The expression uses something outside the language; the message says what and where."""


@dataclass(frozen=True)
class Expr:
    source: str
    names: tuple[str, ...]  # in order of first appearance, without repeats
    _fn: _Fn
    is_condition: bool = False  # its result is true or false (a comparison, possibly combined with and / or / not)

    def evaluate(self, env: Env) -> Any:
        """The value over ``env``; inf or nan where an operation has no finite result (the caller checks)."""
        with np.errstate(all="ignore"):
            return self._fn(env)


def parse(source: str) -> Expr:
    if len(source) > _MAX_SOURCE:
        raise ExprError(f"expression is longer than {_MAX_SOURCE} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"syntax error at column {exc.offset}: {exc.msg}") from None
    names: list[str] = []
    fn = _compile(tree.body, names)
    return Expr(source.strip(), tuple(dict.fromkeys(names)), fn, _is_condition(tree.body))


def _is_condition(node: ast.expr) -> bool:
    if isinstance(node, ast.Compare):
        return True
    if isinstance(node, ast.BoolOp):
        return all(_is_condition(v) for v in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _is_condition(node.operand)
    return False


def _dotted_name(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _compile(node: ast.expr, names: list[str]) -> _Fn:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = float(node.value)
        return lambda env: value
    if isinstance(node, ast.Name | ast.Attribute):
        name = _dotted_name(node)
        if name is None:
            raise ExprError(f"unsupported name at column {node.col_offset + 1}")
        if name in _FUNCTIONS:
            raise ExprError(f"{name} is a function; call it as {name}(...)")
        names.append(name)
        return lambda env: env[name]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op = _BINARY[type(node.op)]
        left, right = _compile(node.left, names), _compile(node.right, names)
        return lambda env: op(left(env), right(env))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
        inner = _compile(node.operand, names)
        if isinstance(node.op, ast.USub):
            return lambda env: -inner(env)
        if isinstance(node.op, ast.Not):
            return lambda env: np.logical_not(inner(env))
        return inner
    if isinstance(node, ast.Compare):
        return _compile_compare(node, names)
    if isinstance(node, ast.BoolOp):
        parts = [_compile(value, names) for value in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def boolean(env: Env) -> Any:
            result = parts[0](env)
            for part in parts[1:]:
                result = combine(result, part(env))
            return result

        return boolean
    if isinstance(node, ast.Call):
        return _compile_call(node, names)
    raise ExprError(f"{_describe(node)} is not allowed (column {getattr(node, 'col_offset', 0) + 1})")


def _compile_compare(node: ast.Compare, names: list[str]) -> _Fn:
    if not all(type(op) in _COMPARE for op in node.ops):
        raise ExprError(f"only < <= > >= == != comparisons are allowed (column {node.col_offset + 1})")
    operands = [_compile(node.left, names), *(_compile(c, names) for c in node.comparators)]
    ops = [_COMPARE[type(op)] for op in node.ops]

    def compare(env: Env) -> Any:
        values = [operand(env) for operand in operands]
        result = ops[0](values[0], values[1])
        for i, op in enumerate(ops[1:], start=1):
            result = np.logical_and(result, op(values[i], values[i + 1]))
        return result

    return compare


def _compile_call(node: ast.Call, names: list[str]) -> _Fn:
    if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
        raise ExprError(
            f"only the functions {', '.join(sorted(_FUNCTIONS))} may be called (column {node.col_offset + 1})"
        )
    arity, function = _FUNCTIONS[node.func.id]
    if node.keywords or len(node.args) != arity:
        raise ExprError(f"{node.func.id}() takes exactly {arity} argument{'s' if arity > 1 else ''}")
    args = [_compile(arg, names) for arg in node.args]
    return lambda env: function(*(arg(env) for arg in args))


def to_javascript(source: str, resolve: Callable[[str], str]) -> str:
    """The expression as a JavaScript / Vega expression, each name replaced by ``resolve(name)``."""
    tree = ast.parse(source.strip(), mode="eval")
    return _js(tree.body, resolve)


_JS_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_JS_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "===", ast.NotEq: "!=="}


def _js(node: ast.expr, resolve: Callable[[str], str]) -> str:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return repr(float(node.value))
    if isinstance(node, ast.Name | ast.Attribute):
        name = _dotted_name(node)
        if name is None:
            raise ExprError("unsupported name")
        return f"({resolve(name)})"
    if isinstance(node, ast.BinOp) and type(node.op) in _JS_BINARY:
        return f"({_js(node.left, resolve)} {_JS_BINARY[type(node.op)]} {_js(node.right, resolve)})"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return f"pow({_js(node.left, resolve)}, {_js(node.right, resolve)})"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"(-{_js(node.operand, resolve)})"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
        return _js(node.operand, resolve)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        return f"{node.func.id}({', '.join(_js(a, resolve) for a in node.args)})"
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _JS_COMPARE:
        return f"({_js(node.left, resolve)} {_JS_COMPARE[type(node.ops[0])]} {_js(node.comparators[0], resolve)})"
    raise ExprError(f"{_describe(node)} cannot be written as JavaScript")


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        return f"the constant {node.value!r}"
    return {
        ast.Subscript: "indexing",
        ast.Lambda: "lambda",
        ast.Attribute: "attribute access",
        ast.IfExp: "if/else",
        ast.JoinedStr: "an f-string",
        ast.List: "a list",
        ast.Tuple: "a tuple",
        ast.Dict: "a dict",
        ast.BinOp: "this operator",
    }.get(type(node), type(node).__name__)


# ------------------------------------------------------------------ signs: what a formula needs of its inputs

ANY, NONNEGATIVE, POSITIVE = 0, 1, 2  # what is known of a value's sign, each level implying the one before


@dataclass(frozen=True)
class Requirement:
    """A part of an expression that must be above 0 (``strict``: a divisor, the base of a negative or variable
    power) or 0 or more (the base of a fractional power) for the expression to have a finite value."""

    text: str  # the part, as written
    node: ast.expr = field(compare=False, repr=False)
    strict: bool
    why: str  # "divides", "is raised to a negative power", ...


def requirements(source: str) -> list[Requirement]:
    """Every part of the expression ``source`` whose sign decides whether it has a finite value, in order."""
    text = source.strip()
    tree = ast.parse(text, mode="eval")
    out: list[Requirement] = []
    for node in sorted(ast.walk(tree), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            out.append(Requirement(_segment(text, node.right), node.right, True, "divides"))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = _constant(node.right)
            base = _segment(text, node.left)
            if exponent is None:
                out.append(Requirement(base, node.left, True, "is raised to a power that is not a fixed number"))
            elif exponent < 0:
                out.append(Requirement(base, node.left, True, "is raised to a negative power"))
            elif exponent != int(exponent):
                out.append(Requirement(base, node.left, False, "is raised to a fractional power"))
    return out


def _segment(text: str, node: ast.expr) -> str:
    return ast.get_source_segment(text, node) or ast.unparse(node)


def _constant(node: ast.expr) -> float | None:
    """The number a constant part stands for (``2``, ``-0.5``), or None when it is not one."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _constant(node.operand)
        if inner is not None:
            return -inner if isinstance(node.op, ast.USub) else inner
    return None


def names_in(node: ast.expr) -> list[str]:
    """The dotted names a part of an expression reads, in order of first appearance."""
    found: list[str] = []
    for child in ast.walk(node):
        if isinstance(child, ast.Name | ast.Attribute):
            name = _dotted_name(child)
            if name is not None and name not in _FUNCTIONS and name not in found:
                found.append(name)
    return found


def sign(node: ast.expr, sign_of: Callable[[str], int]) -> int:
    """What is known of the sign of a part of an expression (ANY, NONNEGATIVE or POSITIVE), given that of each
    name (``sign_of``). Sound, not complete: POSITIVE means above 0 for every legal input; ANY means not known."""
    constant = _constant(node)
    if constant is not None:
        return POSITIVE if constant > 0 else NONNEGATIVE if constant == 0 else ANY
    if isinstance(node, ast.Name | ast.Attribute):
        name = _dotted_name(node)
        return sign_of(name) if name is not None else ANY
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.UAdd):
            return sign(node.operand, sign_of)
        return NONNEGATIVE if isinstance(node.op, ast.Not) else ANY
    if isinstance(node, ast.Compare | ast.BoolOp):
        return NONNEGATIVE  # true or false: 1 or 0
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [sign(a, sign_of) for a in node.args]
        if node.func.id == "abs" and args:
            return POSITIVE if args[0] == POSITIVE else NONNEGATIVE
        if node.func.id in ("min", "max") and args:
            return min(args) if node.func.id == "min" else max(args)
        return ANY
    if isinstance(node, ast.BinOp):
        return _binary_sign(node, sign_of)
    return ANY


def _binary_sign(node: ast.BinOp, sign_of: Callable[[str], int]) -> int:
    left = sign(node.left, sign_of)
    if isinstance(node.op, ast.Pow):
        exponent = _constant(node.right)
        if exponent == 0 or left == POSITIVE:
            return POSITIVE
        if exponent is None or exponent < 0:
            return ANY
        if left == NONNEGATIVE or (exponent == int(exponent) and int(exponent) % 2 == 0):
            return NONNEGATIVE
        return ANY
    right = sign(node.right, sign_of)
    if left == ANY or right == ANY or isinstance(node.op, ast.Sub):
        return ANY
    if isinstance(node.op, ast.Add):
        return max(left, right)
    if isinstance(node.op, ast.Mult):
        return min(left, right)
    if isinstance(node.op, ast.Div):
        return min(left, POSITIVE) if right == POSITIVE else ANY
    return ANY
