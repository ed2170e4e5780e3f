"""The model's formula language (:mod:`memo.expr`) as Excel formulas, and memo's number formats as Excel's.

Every construct of the language has an Excel form that gives the same number:

============================  =====================================================================================
formula language              Excel
============================  =====================================================================================
``2``, ``30.4375``, ``5e-7``  the same literal (``5E-07``)
``customers.paid``            the name or cell the caller resolves it to (a defined name on the base sheets)
``a + b``, ``a - b``          ``a+b``, ``a-b``
``a * b``, ``a / b``          ``a*b``, ``a/b``
``a ** b``                    ``a^b``, operands parenthesised: Excel's ``^`` groups left to right and ranks below
                              unary minus (``-2^2`` is 4 in Excel); ``IF(b=0,1,a^b)`` when both may be 0, as numpy
                              gives x ** 0 = 1 for every x where Excel gives #NUM! for 0^0
``-a``, ``+a``                ``-a`` (``-(a^b)`` for ``-a ** b``), ``a``
``a < b`` (``<= > >= == !=``) ``a<b`` (``<= > >= = <>``); a chain ``a < b < c`` is ``AND(a<b,b<c)``
``a and b``, ``a or b``       ``AND(a,b)``, ``OR(a,b)`` (a number is true when it is not 0, in both)
``not a``                     ``NOT(a)``
``min(a, b)``, ``max(a, b)``  ``MIN(a,b)``, ``MAX(a,b)``
``abs(a)``                    ``ABS(a)``
============================  =====================================================================================

A true-or-false result used as a number (a figure's value, an operand of arithmetic, a comparison or MIN/MAX) is
written ``(...)*1``: the model reads true as 1, while Excel's MIN and MAX skip a TRUE held in a cell and rank TRUE
above every number in a comparison. Two things have no Excel form: a literal too large for a float (``1e999`` is
infinity to Python) and a formula longer than Excel's 8,192 characters once its names are written out (deeply
nested guarded exponents). :class:`Untranslatable` says so, and the workbook writes the figure's value instead, marked
as such.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from memo import expr
from memo import format as fmt

# Excel's operator precedence, lowest first; an atom is a name, a literal, a function call or a parenthesis.
COMPARE, ADD, MUL, POW, UNARY, ATOM = range(6)

_BINARY = {ast.Add: ("+", ADD), ast.Sub: ("-", ADD), ast.Mult: ("*", MUL), ast.Div: ("/", MUL)}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "=", ast.NotEq: "<>"}
_FUNCTIONS = {"min": "MIN", "max": "MAX", "abs": "ABS"}

# Excel counts days from 1899-12-30 (serial 1 is 1900-01-01, and 1900 is taken as a leap year, so serials from
# 1900-03-01 on are right); memo counts from 0001-01-01 (date.toordinal). A date cell holds the Excel serial.
DATE_OFFSET = 693594
MAX_FORMULA = 8192  # Excel's longest formula, in characters


class Untranslatable(ValueError):
    """A formula with no Excel equivalent; the message says why."""


@dataclass(frozen=True)
class Term:
    """A piece of an Excel formula: its text, the precedence of its outermost operator, and whether it is a
    true-or-false value rather than a number."""

    text: str
    rank: int = ATOM
    logical: bool = False


Resolve = Callable[[str], Term]
Sign = Callable[[ast.expr], int]


def translate(source: str, resolve: Resolve, sign: Sign | None = None) -> str:
    """The formula ``source`` as the text of an Excel formula (without the leading ``=``), each name replaced by
    ``resolve(name)``. ``sign`` tells what is known of a part's sign (:func:`memo.expr.sign`), so that a power
    whose base is known to be above 0 needs no guard against 0 ** 0."""
    tree = ast.parse(source.strip(), mode="eval")
    text = _number(_Translator(resolve, sign or (lambda node: expr.ANY)).term(tree.body)).text
    if len(text) + 1 > MAX_FORMULA:
        raise Untranslatable(f"the formula is {len(text) + 1:,} characters in Excel, over its {MAX_FORMULA:,}")
    return text


def literal(value: float) -> str:
    """A number as an Excel literal: the shortest text that reads back as the same float."""
    if not math.isfinite(value):
        raise Untranslatable(f"the number {value!r} has no Excel form (Excel has no infinity)")
    text = repr(float(value))
    if text.endswith(".0"):
        text = text[:-2]
    return text.upper()  # 5e-07 -> 5E-07


def _wrap(term: Term, rank: int) -> str:
    return term.text if term.rank >= rank else f"({term.text})"


def _number(term: Term) -> Term:
    """A true-or-false term as 1 or 0; a number as it is."""
    return Term(f"{_wrap(term, ATOM)}*1", MUL) if term.logical else term


class _Translator:
    def __init__(self, resolve: Resolve, sign: Sign) -> None:
        self.resolve, self.sign = resolve, sign

    def term(self, node: ast.expr) -> Term:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return Term(literal(float(node.value)))
        if isinstance(node, ast.Name | ast.Attribute):
            name = expr._dotted_name(node)
            if name is None:
                raise Untranslatable("unsupported name")
            return self.resolve(name)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            symbol, rank = _BINARY[type(node.op)]
            left = _number(self.term(node.left))
            right = _number(self.term(node.right))
            # the right operand is parenthesised at equal rank: a - (b - c), and a + (b + c) as written (floats)
            right_text = f"({right.text})" if right.rank <= rank or right.rank == UNARY else right.text
            return Term(f"{_wrap(left, rank)}{symbol}{right_text}", rank)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self._power(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return self.term(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = _number(self.term(node.operand))
            return Term(f"-{_wrap(inner, ATOM)}", UNARY)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return Term(f"NOT({self.term(node.operand).text})", ATOM, logical=True)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.BoolOp):
            function = "AND" if isinstance(node.op, ast.And) else "OR"
            return Term(f"{function}({','.join(self.term(v).text for v in node.values)})", ATOM, logical=True)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
            args = ",".join(_number(self.term(a)).text for a in node.args)
            return Term(f"{_FUNCTIONS[node.func.id]}({args})")
        raise Untranslatable(f"{ast.unparse(node)} is outside the formula language")

    def _power(self, node: ast.BinOp) -> Term:
        base = _wrap(_number(self.term(node.left)), ATOM)
        exponent = _wrap(_number(self.term(node.right)), ATOM)
        text = f"{base}^{exponent}"
        constant = expr._constant(node.right)
        if (constant is None or constant == 0) and self.sign(node.left) != expr.POSITIVE:
            text = f"IF({exponent}=0,1,{text})"  # numpy: x ** 0 is 1, 0 ** 0 too; Excel: 0^0 is #NUM!
            return Term(text)
        return Term(text, POW)

    def _compare(self, node: ast.Compare) -> Term:
        operands = [_wrap(_number(self.term(n)), ADD) for n in (node.left, *node.comparators)]
        pairs = [
            f"{operands[i]}{_COMPARE[type(op)]}{operands[i + 1]}"
            for i, op in enumerate(node.ops)
            if type(op) in _COMPARE
        ]
        if len(pairs) != len(node.ops):
            raise Untranslatable("only < <= > >= == != comparisons are in the formula language")
        if len(pairs) == 1:
            return Term(pairs[0], COMPARE, logical=True)
        return Term(f"AND({','.join(pairs)})", ATOM, logical=True)


# ------------------------------------------------------------------ number formats

_SCALE = {"K": ",", "M": ",,", "B": ",,,", "T": ",,,,"}
_SHOWN = re.compile(r"[\u2212-]?(?P<money>\$)?[\d,]+(?:\.(?P<decimals>\d+))?(?P<exponent>e[+-]\d+)?(?P<suffix>[KMBT]?)")


def number_format(value: float, kind: str) -> str:
    """An Excel number format that shows ``value`` as the memo's formatter ``kind`` (memo.format) does: $660M,
    $1.12B, 150,000, 3.0M, 7.5%, 11.3x, 0.75:1, 2027, 16 May 2026. Excel has no significant digits, so the
    decimals (and the K/M/B scale) are those the memo shows for this value; an edit keeps them."""
    if kind == "date":
        return "d mmmm yyyy"
    if kind == "year":
        return "0"
    if kind == "percent":
        return _signed(_percent(value))
    if kind == "multiple":
        return _signed(f'{_body(fmt.multiple(value), grouped=False)}"x"')
    if kind == "ratio":
        return _signed(f'{_body(fmt.ratio(value), grouped=False)}":1"')
    formatter = fmt.FORMATTERS.get(kind, fmt.plain)
    return _signed(_body(formatter(value), grouped=True))


def _body(shown: str, grouped: bool) -> str:
    """The format that reproduces the memo's text ``shown`` (without sign) for numbers of this size."""
    match = _SHOWN.match(shown)
    if match is None:  # pragma: no cover - every formatter's output matches
        return "General"
    decimals = "." + "0" * len(match["decimals"]) if match["decimals"] else ""
    if match["exponent"]:
        return f"{'$' if match['money'] else ''}0{decimals}E+00"
    digits = ("#,##0" if grouped else "0") + decimals
    suffix = match["suffix"]
    scaled = f'{digits}{_SCALE[suffix]}"{suffix}"' if suffix else digits
    return f"{'$' if match['money'] else ''}{scaled}"


def _percent(value: float) -> str:
    percent = abs(value) * 100
    if percent != 0 and not fmt.SMALLEST_PLAIN <= percent < fmt.LARGEST_PLAIN:
        return "0.0E+00%"
    if percent >= 10 or percent == 0:
        return "0%"
    if percent >= 1:
        return "0.0%"
    match = _SHOWN.match(fmt.pct(abs(value)))
    return f"0.{'0' * len(match['decimals'] or '0')}%" if match else "0.00%"


def _signed(positive: str) -> str:
    """Excel's two-section format: the number, and a negative one with a minus before it."""
    return f"{positive};-{positive}"
