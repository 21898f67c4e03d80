"""The ``calculator`` tool: exact arithmetic on an expression, without ``eval``.

The expression is parsed with :mod:`ast` and only numbers, ``+ - * / // % **``, parentheses
and a few functions (``abs``, ``round``, ``min``, ``max``) are evaluated, on fractions, so
``0.1 + 0.2`` is ``0.3`` and ``1/3`` stays a third. ``^`` (power), the multiplication and
division signs and the typographic minus are read as people write them. Sizes are bounded:
a result may not need more than about 10,000 digits.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from rolecall.tools.base import Tool, ToolError
from rolecall.tools.builtin.base import BuiltinTool, register_builtin

MAX_EXPRESSION = 1000
MAX_BITS = 33_000  # about 10,000 decimal digits

_BINARY: dict[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: lambda a, b: Fraction(a // b),
    ast.Mod: operator.mod,
}
#: "15%" (a number and a percent sign, then no number) means fifteen hundredths; "7 % 3" stays modulo.
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%(?!\s*[\d(.])")
_SPELLINGS = {"^": "**", "\u00d7": "*", "\u00f7": "/", "\u2212": "-", "\u2013": "-"}


def _size(value: Fraction) -> int:
    return value.numerator.bit_length() + value.denominator.bit_length()


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        raise ToolError("only whole-number powers are exact; write the root as a decimal power yourself")
    if base == 0 and exponent < 0:
        raise ToolError("division by zero")
    if _size(base) * abs(exponent.numerator) > MAX_BITS:
        raise ToolError("the result is too large to compute exactly")
    return base**exponent.numerator


def _round(value: Fraction, digits: Fraction = Fraction(0)) -> Fraction:
    if digits.denominator != 1 or abs(digits) > 100:
        raise ToolError("round(x, n) takes a whole number n of at most 100 digits")
    return Fraction(round(value, int(digits)))


_FUNCTIONS: dict[str, Callable[..., Fraction]] = {"abs": abs, "round": _round, "min": min, "max": max}


_ARGUMENTS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "expression": {
            "type": "string",
            "description": "the arithmetic to evaluate",
            # Offered to constrained decoding too: a small model can then only write arithmetic.
            "pattern": r"^([0-9 .,+*/()%^-]|abs|round|min|max)+$",
        }
    },
    "required": ["expression"],
    "additionalProperties": False,
}


class Calculator(Tool):
    """Exact arithmetic: the answer to an expression such as ``(12.5 * 3 + 4) / 7``."""

    name = "calculator"
    description = (
        "Evaluate an arithmetic expression exactly, e.g. '(2.5 * 120 + 40) / 12'. "
        "Supports + - * / // % ** (or ^), parentheses, abs, round, min and max."
    )
    parameters = _ARGUMENTS
    source = "calculator"

    async def run(self, arguments: dict[str, Any]) -> str:
        return evaluate(str(arguments["expression"]))


@register_builtin
class CalculatorBuiltin(BuiltinTool):
    """``calculator`` in a spec: a :class:`Calculator` for each agent that names it."""

    name = "calculator"
    description = "exact arithmetic on an expression, without eval"

    def tools(self) -> list[Tool]:
        return [Calculator()]


def evaluate(expression: str) -> str:
    """The exact value of ``expression``, written as a number (a fraction with its decimal when it repeats)."""
    text = expression.strip()
    for spelled, meant in _SPELLINGS.items():
        text = text.replace(spelled, meant)
    text = _PERCENT.sub(r"(\1/100)", text)
    if not text:
        raise ToolError("the expression is empty")
    if len(text) > MAX_EXPRESSION:
        raise ToolError(f"the expression is longer than {MAX_EXPRESSION} characters")
    try:
        return show(_value(ast.parse(text, mode="eval").body, text))
    except SyntaxError as exc:
        raise ToolError(f"not an arithmetic expression: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ToolError("the expression is nested too deeply") from None


def _value(node: ast.expr, text: str) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        literal = (ast.get_source_segment(text, node) or repr(node.value)).replace("_", "")
        return Fraction(literal)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _value(node.operand, text)
        return value if isinstance(node.op, ast.UAdd) else -value
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left, text), _value(node.right, text)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        function = _BINARY.get(type(node.op))
        if function is None:
            raise ToolError(f"the operator {type(node.op).__name__} is not arithmetic here")
        if right == 0 and isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod):
            raise ToolError("division by zero")
        result = function(left, right)
        if _size(result) > MAX_BITS:
            raise ToolError("the result is too large to compute exactly")
        return result
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function = _FUNCTIONS.get(node.func.id)
        if function is None:
            raise ToolError(f"unknown function {node.func.id}; known: {', '.join(_FUNCTIONS)}")
        arguments = [_value(argument, text) for argument in node.args]
        try:
            return Fraction(function(*arguments))
        except TypeError:
            raise ToolError(f"{node.func.id} was given {len(arguments)} argument(s)") from None
    if isinstance(node, ast.Name):
        raise ToolError(f"unknown name {node.id!r}: write numbers only")
    raise ToolError(f"not arithmetic: {ast.get_source_segment(text, node) or type(node).__name__}")


def show(value: Fraction) -> str:
    """``value`` written exactly: an integer, a finite decimal, or a fraction with its rounded decimal."""
    if value.denominator == 1:
        return str(value.numerator)
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    with localcontext() as context:
        context.prec = max(28, len(str(value.numerator)) + len(str(value.denominator)) + 2)
        decimal = Decimal(value.numerator) / Decimal(value.denominator)
        if denominator == 1:  # a finite decimal: exact
            return format(decimal.normalize(), "f")
        context.prec = 12
        return f"{value.numerator}/{value.denominator} (about {format(+decimal, 'f')})"
