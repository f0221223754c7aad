"""A small, safe expression language for automation rule conditions and templates.

A rule's condition is one expression over the event that triggered it and its subject,
for example::

    event.type == "task.updated" and task.priority in ["high", "urgent"]
    not startswith(lower(task.title), "wip") and days_between(task.due, event.at) > 2

Nothing is ever handed to Python's ``eval``: the text is read by a tokenizer and a
parser written for this language, and the evaluator only knows the operations below.

Values
    Numbers (``42``, ``-3``, ``2.5``; no exponents), strings in single or double quotes
    (``"it's"``, ``'say "hi"'``), ``true``, ``false``, ``null`` and lists (``[1, 2]``).
    In a string, ``\\\\``, ``\\'``, ``\\"``, ``\\n`` and ``\\t`` are escapes; any other
    backslash is kept as it is, so regular expressions read naturally: ``"\\d+"``.
    Integers range over ±9,223,372,036,854,775,807 (64 bits).

Names
    ``event``, ``task``, ``payload``... are the names the rule is evaluated with.
    ``.key`` reads a key of an object (``task.priority``), ``.0`` or ``[0]`` an item of
    a list (``[-1]`` is the last), ``["odd key"]`` any key. A name or key that is not
    there is ``null``, so a rule never fails on a payload that lacks a field. Only the
    keys of objects and the items of lists can be reached.

Operators, loosest first
    ``or``; ``and``; ``not``; comparisons ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``,
    ``in``, ``not in``; ``+``, ``-``; ``*``, ``/``, ``%``; unary ``-``. Parentheses
    group. ``and``, ``or`` and ``not`` give ``true`` or ``false``. Comparisons cannot be
    chained: write ``1 < x and x < 5``.

    ``==`` never equates a boolean with a number. ``<``, ``<=``, ``>`` and ``>=`` compare
    two numbers or two strings (ISO dates compare correctly as strings); anything else,
    ``null`` included, is ``false``. ``x in y`` looks for an item in a list, a piece of
    text in a string, or a key in an object; ``not in`` is its negation. Arithmetic takes
    numbers (``+`` also joins two strings); otherwise, on division by zero or when the
    result is too large, it gives ``null``. ``/`` always divides exactly (``7 / 2`` is
    ``3.5``); ``%`` is the remainder with the sign of the divisor.

Functions
    ``lower(s)``, ``upper(s)``; ``len(x)`` of a string, list or object;
    ``startswith(s, prefix)``, ``endswith(s, suffix)``; ``contains(haystack, needle)``,
    the same as ``needle in haystack``; ``matches(s, pattern)``, true when the whole of
    ``s`` matches the regular expression; ``days_between(a, b)``, the days from ``a`` to
    ``b`` (ISO dates or date-times; a whole number for two dates, fractional otherwise,
    negative when ``b`` is earlier; a time without a zone is read as UTC);
    ``coalesce(a, b, ...)``, the first value that is not ``null``. A function given the
    wrong kind of value gives ``null`` (the predicates give ``false``).

    ``matches`` uses Python's regular expressions and refuses patterns that could be
    slow: longer than 200 characters, with backreferences or ``(?x)``, or able to match
    a text in too many ways, such as a repeated group that itself repeats or has
    alternatives (``(a+)+``, ``(a|b)+``: write ``[ab]+``) or more than two unbounded
    repetitions (``.*a.*b.*``). A refused pattern written in the rule is an error when
    the rule is saved; one read from the data gives ``null``. So does a text longer than
    1,000 characters. (This is a careful estimate, not a proof: the slowest patterns it
    accepts take a tenth of a second on 1,000 characters, so each call is also charged
    to the evaluation's budget by the same estimate; see Cost.)

Conditions
    A condition holds when its value is truthy: not ``null``, ``false``, ``0``, ``""``
    or an empty list or object.

Templates
    Text with ``{{ expression }}`` placeholders: ``Review {{ task.title }}``. Each
    placeholder is replaced by its value: ``null`` by nothing, ``true``/``false`` as
    such, lists as their items separated by ", ". Write ``{{ "{{" }}`` for a literal
    ``{{``.

Limits
    An expression is at most 2,000 characters and nests at most 32 levels (brackets,
    calls and unary operators); a list literal has at most 100 items; a template is at
    most 10,000 characters with at most 100 placeholders. Strings the language builds
    (``+``, ``lower``, ``upper``, rendered templates) are cut at 10,000 characters.

Cost
    Evaluation is metered by a :class:`Budget` of steps, one for a whole evaluation: a
    rule's condition and every template of every action share one (see
    :func:`metered`), whatever the number of calls. Each node evaluated is a step; a
    function call, a comparison, a ``+`` of strings and a rendered placeholder are a
    step more per 100 characters or items of the values they handle; ``matches`` is a
    step per 100 of its estimated work: the ways its pattern can match a text of the
    input's length (see below), plus that length. Past the budget (:data:`MAX_STEPS`
    by default, or past its time limit) the evaluation stops with :class:`TooCostly`,
    code ``EXPRESSION_TOO_COSTLY``. :meth:`Expression.worst_steps` and
    :meth:`Template.worst_steps` bound the steps before any data is read (every node
    and every ``matches`` at its longest input), so a rule can be refused when saved.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from mcgraph.domain.errors import ErrorCode, RequestError

MAX_SOURCE_LENGTH = 2_000
MAX_DEPTH = 32
MAX_LIST_ITEMS = 100
MAX_STRING_LENGTH = 10_000
MAX_TEMPLATE_LENGTH = 10_000
MAX_INTEGER = 2**63 - 1
MAX_PATTERN_LENGTH = 200
MAX_MATCH_INPUT = 1_000
# The most ways a ``matches`` pattern may have to match a MAX_MATCH_INPUT-long text
# (an estimate: each unbounded repetition counts MAX_MATCH_INPUT ways).
MAX_PATTERN_WAYS = 10**7
MAX_PLACEHOLDERS = 100
# The steps one evaluation may take (MCGRAPH_EXPRESSION_MAX_STEPS). A step is about a
# microsecond of CPU (a node evaluated; 100 ways a pattern tries), so a fraction of a second.
MAX_STEPS = 250_000
# Characters or items of data handled, and ways a pattern may try, that one step stands for.
SIZE_PER_STEP = 100
WAYS_PER_STEP = 100

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_CONSTANTS = {"true": True, "false": False, "null": None}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = "0123456789"


class ExpressionError(ValueError):
    """An expression, template or structured condition that cannot be used.

    ``position`` is the 0-based offset in the source where reading failed (for a
    template, in the template); for :func:`structured`, the index of the bad condition.
    """

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _error(what: str, position: int) -> ExpressionError:
    return ExpressionError(f"{what} at {position}", position)


class TooCostly(RequestError):
    """An evaluation ran out of its budget; no retry can mend it, only a cheaper rule."""

    code = ErrorCode.EXPRESSION_TOO_COSTLY


class Budget:
    """The steps (and, with ``seconds``, the time) an evaluation may still take.

    One budget is shared by everything evaluated while it is :func:`metered`, so a rule
    pays for its condition and all its templates together, not per call.
    """

    __slots__ = ("limit", "left", "deadline", "_check_at")

    def __init__(self, steps: int = MAX_STEPS, *, seconds: float | None = None) -> None:
        self.limit = steps
        self.left = steps
        self.deadline = time.monotonic() + seconds if seconds else None
        self._check_at = steps

    @property
    def used(self) -> int:
        return self.limit - self.left

    def charge(self, steps: int = 1) -> None:
        """Take ``steps``; :class:`TooCostly` once the budget or its time is spent."""
        self.left -= steps
        if self.left < 0:
            raise TooCostly(
                f"The expressions would take more than {self.limit:,} steps (MCGRAPH_EXPRESSION_MAX_STEPS) "
                "and were stopped: call matches() less often or on shorter text, or simplify the templates."
            )
        if self.deadline is not None and self.left <= self._check_at:
            self._check_at = self.left - 1_000  # the clock is read every thousand steps
            if time.monotonic() > self.deadline:
                raise TooCostly(f"The expressions were stopped after {self.used:,} steps: they ran past their time limit.")


_metered: ContextVar[Budget | None] = ContextVar("mcgraph_expression_budget", default=None)


@contextmanager
def metered(budget: Budget) -> Iterator[Budget]:
    """Charge every evaluation made inside the block (in this task or thread) to ``budget``."""
    token = _metered.set(budget)
    try:
        yield budget
    finally:
        _metered.reset(token)


def _budget(budget: Budget | None) -> Budget:
    """``budget``, else the one being :func:`metered`, else a fresh one for this call alone."""
    return budget or _metered.get() or Budget()


def _size(value: Any) -> int:
    """How much data ``value`` is, for the cost model: characters of a string, items of a list or object."""
    if isinstance(value, str) or _is_list(value) or isinstance(value, Mapping):
        return len(value)
    return 0


# --- tokens ---


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "number", "string", "name", "keyword", "op" or "end"
    text: str
    value: Any
    position: int

    def describe(self) -> str:
        if self.kind == "end":
            return "end of expression"
        if self.kind == "name":
            return f"name '{self.text}'"
        if self.kind == "number":
            return f"number {self.text}"
        if self.kind == "string":
            shown = self.value if len(self.value) <= 20 else self.value[:20] + "..."
            return f"string {_quote(shown)}"
        return f"'{self.text}'"


_OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",", ".")
_HINTS = {
    "=": "; use '==' to compare",
    "!": "; use 'not' or '!='",
    "&": "; use 'and'",
    "|": "; use 'or'",
    "{": "; templates use '{{ ... }}'",
    "}": "; a placeholder ends with '}}'",
}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}


def _tokenize(text: str, start: int = 0, *, opening: int | None = None) -> tuple[list[_Token], int]:
    """The tokens of the expression at ``text[start:]`` and the offset after it.

    With ``opening`` (the offset of a template's ``{{``), the expression ends at ``}}``.
    """
    tokens: list[_Token] = []
    index = start
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            if opening is not None:
                raise _error("unterminated '{{'", opening)
            tokens.append(_Token("end", "", None, index))
            return tokens, index
        if opening is not None and text.startswith("}}", index):
            tokens.append(_Token("end", "}}", None, index))
            return tokens, index + 2
        after_dot = bool(tokens) and tokens[-1].kind == "op" and tokens[-1].text == "."
        token = _read_token(text, index, after_dot)
        tokens.append(token)
        index = token.position + len(token.text)


def _read_token(text: str, index: int, after_dot: bool) -> _Token:
    char = text[index]
    if char in "'\"":
        return _read_string(text, index)
    if char in _DIGITS:
        return _read_number(text, index, after_dot)
    if match := _IDENTIFIER.match(text, index):
        word = match.group()
        return _Token("keyword" if word in KEYWORDS else "name", word, word, index)
    for operator in _OPERATORS:
        if text.startswith(operator, index):
            return _Token("op", operator, operator, index)
    raise _error(f"unexpected character {char!r}{_HINTS.get(char, '')}", index)


def _read_string(text: str, start: int) -> _Token:
    quote = text[start]
    parts: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == quote:
            return _Token("string", text[start : index + 1], "".join(parts), start)
        if char == "\\" and text[index + 1 : index + 2] in _ESCAPES:
            parts.append(_ESCAPES[text[index + 1]])
            index += 2
            continue
        parts.append(char)
        index += 1
    raise _error("unterminated string", start)


def _read_number(text: str, start: int, after_dot: bool) -> _Token:
    """An integer or a decimal; right after a '.', only an integer (``items.0.name``)."""
    end = start
    while end < len(text) and text[end] in _DIGITS:
        end += 1
    if not after_dot and text[end : end + 1] == "." and text[end + 1 : end + 2] in tuple(_DIGITS):
        end += 1
        while end < len(text) and text[end] in _DIGITS:
            end += 1
        number = float(text[start:end])
        if not math.isfinite(number):
            raise _error("number too large", start)
        return _Token("number", text[start:end], number, start)
    digits = text[start:end].lstrip("0") or "0"
    if len(digits) > len(str(MAX_INTEGER)) or int(digits) > MAX_INTEGER:
        raise _error(f"number too large (the largest integer is {MAX_INTEGER})", start)
    return _Token("number", text[start:end], int(digits), start)


# --- values ---


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def _truthy(value: Any) -> bool:
    return value is not None and bool(value)


def _cap(text: str) -> str:
    return text if len(text) <= MAX_STRING_LENGTH else text[:MAX_STRING_LENGTH]


def _number(value: int | float) -> int | float | None:
    """``value``, or None when it is out of the language's range."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value if -MAX_INTEGER <= value <= MAX_INTEGER else None


def _equal(left: Any, right: Any) -> bool:
    """Equality where a boolean never equals a number; lists and objects compare deeply."""
    try:
        return _deep_equal(left, right)
    except RecursionError:
        return False


def _deep_equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if _is_list(left) and _is_list(right):
        return len(left) == len(right) and all(_deep_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return len(left) == len(right) and all(
            key in right and _deep_equal(value, right[key]) for key, value in left.items()
        )
    if _is_list(left) or _is_list(right) or isinstance(left, Mapping) or isinstance(right, Mapping):
        return False
    try:
        return bool(left == right)
    except (TypeError, ValueError):
        return False


def _order(operator: str, left: Any, right: Any) -> bool:
    """``<``, ``<=``, ``>``, ``>=`` on two numbers or two strings; anything else is False."""
    if not (_is_number(left) and _is_number(right) or isinstance(left, str) and isinstance(right, str)):
        return False
    if operator == "<":
        return left < right
    if operator == "<=":
        return left <= right
    if operator == ">":
        return left > right
    return left >= right


def _contains(haystack: Any, needle: Any) -> bool:
    """``needle in haystack``: an item of a list, a substring of a string, a key of an object."""
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    if _is_list(haystack):
        return any(_equal(item, needle) for item in haystack)
    if isinstance(haystack, Mapping):
        return _has_key(haystack, needle)
    return False


def _has_key(mapping: Mapping[Any, Any], key: Any) -> bool:
    if not isinstance(key, str | int) or isinstance(key, bool):
        return False
    try:
        return key in mapping or (isinstance(key, int) and str(key) in mapping)
    except TypeError:
        return False


def _lookup(container: Any, key: Any) -> Any:
    """``container[key]`` for an object's key or a list's index; None when there is none.

    Never reads an attribute: only :class:`Mapping` keys and list items are reachable.
    """
    if isinstance(key, bool) or not isinstance(key, str | int):
        return None
    if isinstance(container, Mapping):
        try:
            value = container.get(key)
            if value is None and isinstance(key, int):
                value = container.get(str(key))
        except TypeError:
            return None
        return value
    if _is_list(container) and isinstance(key, int):
        if -len(container) <= key < len(container):
            return container[key]
    return None


def _arithmetic(operator: str, left: Any, right: Any) -> Any:
    if operator == "+" and isinstance(left, str) and isinstance(right, str):
        return _cap(left[:MAX_STRING_LENGTH] + right[:MAX_STRING_LENGTH])
    if not (_is_number(left) and _is_number(right)):
        return None
    try:
        if operator == "+":
            result = left + right
        elif operator == "-":
            result = left - right
        elif operator == "*":
            result = left * right
        elif right == 0:
            return None
        elif operator == "/":
            result = left / right
        else:
            result = left % right
    except OverflowError:
        return None
    return _number(result)


# --- functions ---


def _lower(text: Any) -> str | None:
    return _cap(text[:MAX_STRING_LENGTH].lower()) if isinstance(text, str) else None


def _upper(text: Any) -> str | None:
    return _cap(text[:MAX_STRING_LENGTH].upper()) if isinstance(text, str) else None


def _length(value: Any) -> int | None:
    if isinstance(value, str) or _is_list(value) or isinstance(value, Mapping):
        return len(value)
    return None


def _startswith(text: Any, prefix: Any) -> bool:
    return isinstance(text, str) and isinstance(prefix, str) and text.startswith(prefix)


def _endswith(text: Any, suffix: Any) -> bool:
    return isinstance(text, str) and isinstance(suffix, str) and text.endswith(suffix)


def _matches(text: Any, pattern: Any) -> bool | None:
    if not (isinstance(text, str) and isinstance(pattern, str)):
        return False
    compiled = _compile_pattern(pattern)
    if compiled is None or len(text) > MAX_MATCH_INPUT:
        return None
    return compiled.fullmatch(text) is not None


def _days_between(start: Any, end: Any) -> int | float | None:
    first, second = _moment(start), _moment(end)
    if first is None or second is None:
        return None
    if not isinstance(first, datetime) and not isinstance(second, datetime):
        return (second - first).days
    try:
        seconds = (_as_datetime(second) - _as_datetime(first)).total_seconds()
    except OverflowError:
        return None
    return seconds / 86_400


def _moment(value: Any) -> date | None:
    """A date or an aware datetime from a date, datetime or ISO string; else None."""
    if isinstance(value, str):
        if len(value) > 64:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return value if isinstance(value, date) else None


def _as_datetime(moment: date) -> datetime:
    if isinstance(moment, datetime):
        return moment
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _coalesce(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _data_steps(*arguments: Any) -> int:
    """The steps a call costs beyond its node: one per SIZE_PER_STEP characters or items it is given."""
    return sum(_size(argument) for argument in arguments) // SIZE_PER_STEP


def _matches_steps(text: Any, pattern: Any) -> int:
    """The steps ``matches(text, pattern)`` costs: its pattern's estimated work on a text that long."""
    if not (isinstance(text, str) and isinstance(pattern, str)) or len(text) > MAX_MATCH_INPUT:
        return 0  # no matching is done
    return _match_work(pattern, len(text)) // WAYS_PER_STEP


@dataclass(frozen=True, slots=True)
class _Function:
    minimum: int
    maximum: int | None
    call: Callable[..., Any]
    usage: str
    # the steps a call costs beyond its node, from its argument values
    steps: Callable[..., int] = _data_steps


FUNCTIONS: Mapping[str, _Function] = {
    "lower": _Function(1, 1, _lower, "lower(text)"),
    "upper": _Function(1, 1, _upper, "upper(text)"),
    "len": _Function(1, 1, _length, "len(value)"),
    "startswith": _Function(2, 2, _startswith, "startswith(text, prefix)"),
    "endswith": _Function(2, 2, _endswith, "endswith(text, suffix)"),
    "contains": _Function(2, 2, _contains, "contains(haystack, needle)"),
    "matches": _Function(2, 2, _matches, "matches(text, pattern)", _matches_steps),
    "days_between": _Function(2, 2, _days_between, "days_between(start, end)"),
    "coalesce": _Function(1, None, _coalesce, "coalesce(value, ...)"),
}


# --- regular expressions for matches() ---

_BRACE = re.compile(r"\{(\d*)(,?)(\d*)\}")
_FLAGS = re.compile(r"[aiLmsux]*(?:-[imsx]*)?")


@lru_cache(maxsize=256)
def _compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """The compiled pattern, or None when :func:`_pattern_problem` refuses it."""
    if _pattern_problem(pattern) is not None:
        return None
    return re.compile(pattern)


def _pattern_problem(pattern: str) -> str | None:
    """Why ``matches`` refuses ``pattern`` (too long, invalid, or possibly slow), or None."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"the pattern is longer than {MAX_PATTERN_LENGTH} characters"
    # Checked before compiling: the scan also refuses what would make re warn.
    problem = _PatternScan(pattern).problem()
    if problem is not None:
        return problem
    try:
        re.compile(pattern)
    except (re.error, Warning, OverflowError, RecursionError) as error:
        return f"invalid pattern: {error}"
    return None


def _match_work(pattern: str, length: int) -> int:
    """The work of matching ``pattern`` to a text of ``length`` characters, in ways tried.

    The pattern's scan (its length) plus the ways it can split such a text, estimated
    for the next power of two at or above ``length`` (at most MAX_MATCH_INPUT), so that
    the estimates cached stay few. A refused pattern is only scanned.
    """
    if _compile_pattern(pattern) is None:
        return len(pattern)
    bound = min(1 << max(length - 1, 0).bit_length(), MAX_MATCH_INPUT)
    return len(pattern) + length + _pattern_ways(pattern, bound)


@lru_cache(maxsize=1024)
def _pattern_ways(pattern: str, length: int) -> int:
    """How many ways an accepted ``pattern`` can split a text of ``length`` characters (an estimate)."""
    scan = _PatternScan(pattern, length)
    scan.problem()
    return scan.groups[0].close()


def _times(left: int, right: int) -> int:
    return min(left * right, MAX_PATTERN_WAYS + 1)


class _Ways:
    """The number of ways one group of a pattern can match, built atom by atom.

    ``limit`` is the length of the text: an unbounded repetition counts that many ways.
    """

    def __init__(self, limit: int = MAX_MATCH_INPUT) -> None:
        self.limit = limit
        self.total = 0  # the ways of the alternatives already closed by '|'
        self.done = 1  # the ways of the current alternative's atoms, except the last
        self.last = 1  # the ways of the last atom, which a quantifier multiplies

    def atom(self, ways: int) -> None:
        self.done = _times(self.done, self.last)
        self.last = ways

    def repeat(self, low: int, high: int | None) -> None:
        """Apply ``{low,high}`` to the last atom: the sum of its ways to the k-th power."""
        high = self.limit if high is None else min(high, self.limit)
        low = min(low, high)
        if self.last == 1:
            self.last = high - low + 1
            return
        ways, power = 0, 1
        for count in range(high + 1):
            if count >= low:
                ways = min(ways + power, MAX_PATTERN_WAYS + 1)
            power = _times(power, self.last)
            if ways > MAX_PATTERN_WAYS:
                break
        self.last = max(ways, 1)

    def alternative(self) -> None:
        self.total = min(self.total + _times(self.done, self.last), MAX_PATTERN_WAYS + 1)
        self.done = self.last = 1

    def close(self) -> int:
        return min(self.total + _times(self.done, self.last), MAX_PATTERN_WAYS + 1)


class _PatternScan:
    """A pass over a regular expression that estimates how ambiguous it is.

    Backtracking time grows with the number of ways a pattern can split a text, so a
    pattern is refused when that estimate is above :data:`MAX_PATTERN_WAYS`. It also
    refuses backreferences, conditionals, verbose mode and character classes that
    ``re`` reads as possible future set syntax.
    """

    def __init__(self, pattern: str, limit: int = MAX_MATCH_INPUT) -> None:
        self.pattern = pattern
        self.limit = limit
        self.index = 0
        self.groups = [_Ways(limit)]

    def problem(self) -> str | None:
        while self.index < len(self.pattern):
            problem = self.step()
            if problem is not None:
                return problem
        if self.groups[0].close() > MAX_PATTERN_WAYS:
            return "the pattern can match a text in too many ways (nested or many repetitions); simplify it"
        return None

    def step(self) -> str | None:
        pattern, index = self.pattern, self.index
        char = pattern[index]
        if char == "\\":
            if pattern[index + 1 : index + 2] in tuple("123456789"):
                return "backreferences are not allowed"
            self.groups[-1].atom(1)
            self.index += 2
        elif char == "[":
            return self.character_class()
        elif char == "(":
            return self.group()
        elif char == ")":
            if len(self.groups) > 1:
                ways = self.groups.pop().close()
                self.groups[-1].atom(ways)
            self.index += 1
        elif char == "|":
            self.groups[-1].alternative()
            self.index += 1
        elif char in "*+?":
            self.quantifier(0 if char != "+" else 1, 1 if char == "?" else None, index + 1)
        elif char == "{" and (brace := _BRACE.match(pattern, index)) and (brace.group(1) or brace.group(2)):
            low = int(brace.group(1) or 0)
            high = None if brace.group(2) and not brace.group(3) else int(brace.group(3) or low)
            self.quantifier(low, high, brace.end())
        else:
            self.groups[-1].atom(1)
            self.index += 1
        return None

    def quantifier(self, low: int, high: int | None, end: int) -> None:
        self.groups[-1].repeat(low, high)
        # A lazy (*?) or possessive (*+) quantifier is still a quantifier.
        self.index = end + 1 if self.pattern[end : end + 1] in ("?", "+") else end

    def character_class(self) -> str | None:
        pattern = self.pattern
        index = self.index + 1
        if pattern[index : index + 1] == "^":
            index += 1
        first = True
        while index < len(pattern):
            char = pattern[index]
            if char == "]" and not first:
                break
            if char == "\\":
                index += 2
            elif char == "[":
                return "write '[' inside a character class as '\\['"
            elif char in "-&~|" and pattern[index + 1 : index + 2] == char:
                return f"write a doubled {char!r} inside a character class with a backslash"
            else:
                index += 1
            first = False
        self.groups[-1].atom(1)
        self.index = index + 1
        return None

    def group(self) -> str | None:
        pattern, index = self.pattern, self.index
        if not pattern.startswith("(?", index):
            return self.open(index + 1)
        rest = pattern[index + 2 : index + 4]
        if rest.startswith("P=") or rest.startswith("("):
            return "backreferences and conditional groups are not allowed"
        if rest.startswith("#"):
            end = pattern.find(")", index)
            self.index = len(pattern) if end < 0 else end + 1
            return None
        if rest.startswith("P<"):
            end = pattern.find(">", index)
            return self.open(len(pattern) if end < 0 else end + 1)
        if rest in ("<=", "<!"):
            return self.open(index + 4)
        if rest[:1] in (":", "=", "!", ">"):
            return self.open(index + 3)
        flags = _FLAGS.match(pattern, index + 2)
        assert flags is not None  # every part of the pattern is optional
        if "x" in flags.group():
            return "verbose patterns (?x) are not allowed"
        if pattern[flags.end() : flags.end() + 1] == ")":
            self.index = flags.end() + 1
            return None
        return self.open(flags.end() + 1)

    def open(self, body: int) -> None:
        self.groups.append(_Ways(self.limit))
        self.index = body
        return None


# --- the syntax tree ---

# Precedences, loosest first; a node's source is parenthesized inside a tighter one.
_OR, _AND, _NOT, _COMPARE, _ADD, _MULTIPLY, _UNARY, _POSTFIX = range(1, 9)


class Node:
    """A node of a parsed expression. Nodes are immutable and compare by value."""

    __slots__ = ()

    def evaluate(self, context: Mapping[str, Any], budget: Budget) -> Any:
        """The node's value in ``context``; each node evaluated is a step of ``budget``."""
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        return ()

    def precedence(self) -> int:
        return _POSTFIX

    def to_source(self) -> str:
        """Source text that parses back to this node."""
        raise NotImplementedError


def _wrap(node: Node, minimum: int) -> str:
    source = node.to_source()
    return source if node.precedence() >= minimum else f"({source})"


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: None | bool | int | float | str

    def evaluate(self, context: Mapping[str, Any], budget: Budget) -> Any:
        budget.charge()
        return self.value

    def precedence(self) -> int:
        return _UNARY if self.to_source().startswith("-") else _POSTFIX

    def to_source(self) -> str:
        value = self.value
        if value is None or isinstance(value, bool):
            return {None: "null", True: "true", False: "false"}[value]
        if isinstance(value, str):
            return _quote(value)
        if isinstance(value, int):
            return str(value)
        return _float_source(value)


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str

    def evaluate(self, context: Mapping[str, Any], budget: Budget) -> Any:
        budget.charge()
        return context.get(self.name) if isinstance(context, Mapping) else None

    def to_source(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ListLiteral(Node):
    items: tuple[Node, ...]

    def evaluate(self, context: Mapping[str, Any], budget: Budget) -> Any:
        budget.charge()
        return [item.evaluate(context, budget) for item in self.items]

    def children(self) -> tuple[Node, ...]:
        return self.items

    def to_source(self) -> str:
        return "[" + ", ".join(item.to_source() for item in self.items) + "]"


@dataclass(frozen=True, slots=True)
class Access(Node):
    """``target.key``, ``target.0`` and ``target[expression]``, a chain read in order."""

    target: Node
    steps: tuple[Node, ...]

    def evaluate(self, context: Mapping[str, Any], budget: Budget) -> Any:
        budget.charge()
        value = self.target.evaluate(context, budget)
        for step in self.steps:
            value = _lookup(value, step.evaluate(context, budget))
        return value

    def children(self) -> tuple[Node, ...]:
        return (self.target, *self.steps)

    def to_source(self) -> str:
        parts = [_wrap(self.target, _POSTFIX)]
        for step in self.steps:
            if isinstance(step, Literal) and isinstance(step.value, str) and _IDENTIFIER.fullmatch(step.value):
                parts.append("." + step.value)
            else:
                parts.append("[" + step.to_source() + "]")
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class Call(Node):
    function: str
    arguments: tuple[Node, ...]
    # the function itself (a plugin's, or one of FUNCTIONS), looked up when parsed
    implementation: _Function | None = field(default=None, compare=False, repr=False)

    def evaluate(self, context: Mapping[str, Any], budget: Budget) -> Any:
        budget.charge()
        function = self.implementation or FUNCTIONS[self.function]
        values = [argument.evaluate(context, budget) for argument in self.arguments]
        budget.charge(function.steps(*values))  # before the work it pays for
        return function.call(*values)

    def children(self) -> tuple[Node, ...]:
        return self.arguments

    def to_source(self) -> str:
        return self.function + "(" + ", ".join(argument.to_source() for argument in self.arguments) + ")"


@dataclass(frozen=True, slots=True)
class Negate(Node):
    operand: Node

    def evaluate(self, context: Mapping[str, Any], budget: Budget) -> Any:
        budget.charge()
        value = self.operand.evaluate(context, budget)
        return _number(-value) if _is_number(value) else None

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def precedence(self) -> int:
        return _UNARY

    def to_source(self) -> str:
        return "-" + _wrap(self.operand, _UNARY)


@dataclass(frozen=True, slots=True)
class Arithmetic(Node):
    """``first op operand op operand ...``, left to right, all of one precedence."""

    first: Node
    rest: tuple[tuple[str, Node], ...]

    def evaluate(self, context: Mapping[str, Any], budget: Budget) -> Any:
        budget.charge()
        value = self.first.evaluate(context, budget)
        for operator, operand in self.rest:
            right = operand.evaluate(context, budget)
            if isinstance(value, str) and isinstance(right, str):
                budget.charge(_data_steps(value, right))
            value = _arithmetic(operator, value, right)
        return value

    def children(self) -> tuple[Node, ...]:
        return (self.first, *(operand for _, operand in self.rest))

    def precedence(self) -> int:
        return _ADD if self.rest[0][0] in "+-" else _MULTIPLY

    def to_source(self) -> str:
        tighter = self.precedence() + 1
        parts = [_wrap(self.first, tighter)]
        for operator, operand in self.rest:
            parts.append(f" {operator} {_wrap(operand, tighter)}")
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class Compare(Node):
    operator: str  # ==, !=, <, <=, >, >=, in, not in
    left: Node
    right: Node

    def evaluate(self, context: Mapping[str, Any], budget: Budget) -> bool:
        budget.charge()
        left, right = self.left.evaluate(context, budget), self.right.evaluate(context, budget)
        budget.charge(_data_steps(left, right))
        if self.operator == "==":
            return _equal(left, right)
        if self.operator == "!=":
            return not _equal(left, right)
        if self.operator == "in":
            return _contains(right, left)
        if self.operator == "not in":
            return not _contains(right, left)
        return _order(self.operator, left, right)

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def precedence(self) -> int:
        return _COMPARE

    def to_source(self) -> str:
        return f"{_wrap(self.left, _ADD)} {self.operator} {_wrap(self.right, _ADD)}"


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node

    def evaluate(self, context: Mapping[str, Any], budget: Budget) -> bool:
        budget.charge()
        return not _truthy(self.operand.evaluate(context, budget))

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def precedence(self) -> int:
        return _NOT

    def to_source(self) -> str:
        return "not " + _wrap(self.operand, _NOT)


@dataclass(frozen=True, slots=True)
class Logical(Node):
    """``a and b and ...`` or ``a or b or ...``, evaluated left to right, short-circuiting."""

    operator: str  # "and" or "or"
    operands: tuple[Node, ...]

    def evaluate(self, context: Mapping[str, Any], budget: Budget) -> bool:
        budget.charge()
        stop = self.operator == "or"  # the truth value that decides the result
        for operand in self.operands:
            if _truthy(operand.evaluate(context, budget)) is stop:
                return stop
        return not stop

    def children(self) -> tuple[Node, ...]:
        return self.operands

    def precedence(self) -> int:
        return _OR if self.operator == "or" else _AND

    def to_source(self) -> str:
        tighter = self.precedence() + 1
        return f" {self.operator} ".join(_wrap(operand, tighter) for operand in self.operands)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _float_source(value: float) -> str:
    """A float written without an exponent, which the language does not have."""
    text = repr(value)
    if "e" in text:
        text = format(Decimal(text), "f")
    return text if "." in text else text + ".0"


# --- the parser ---

_LEVELS = {
    "or": _OR,
    "and": _AND,
    **dict.fromkeys(("==", "!=", "<", "<=", ">", ">=", "in", "not in"), _COMPARE),
    "+": _ADD,
    "-": _ADD,
    "*": _MULTIPLY,
    "/": _MULTIPLY,
    "%": _MULTIPLY,
}


class _Parser:
    """A recursive-descent parser, precedence climbing for operators, over one expression's tokens."""

    def __init__(self, tokens: list[_Token], functions: Mapping[str, _Function] = FUNCTIONS) -> None:
        self.tokens = tokens
        self.functions = functions
        self.index = 0
        self.depth = 0

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise _error("empty expression", self.peek().position)
        node = self.parse_expression()
        token = self.peek()
        if token.kind != "end":
            raise _error(f"unexpected {token.describe()}", token.position)
        return node

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        self.index += 1
        return token

    def at(self, kind: str, *texts: str) -> bool:
        token = self.peek()
        return token.kind == kind and (not texts or token.text in texts)

    def expect(self, text: str, opening: _Token) -> None:
        token = self.peek()
        if token.kind == "op" and token.text == text:
            self.advance()
            return
        raise _error(
            f"expected {text!r} to close the {opening.text!r} at {opening.position}, found {token.describe()}",
            token.position,
        )

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(f"expression nested too deeply (more than {MAX_DEPTH} levels)", token.position)

    @contextmanager
    def nested(self, token: _Token) -> Iterator[None]:
        self.enter(token)
        try:
            yield
        finally:
            self.depth -= 1

    def prefixes(self, kind: str, text: str) -> int:
        """Read a run of prefix operators (each a level of nesting); how many there were."""
        count = 0
        while self.at(kind, text):
            self.enter(self.advance())
            count += 1
        return count

    def parse_expression(self, level: int = _OR) -> Node:
        """An expression whose operators all bind at least as tightly as ``level``.

        Precedence climbing: only brackets and prefix operators nest Python calls, so the
        stack a parse needs is bounded by MAX_DEPTH and not by the expression's length.
        """
        if level <= _NOT and self.at("keyword", "not"):
            left = self.parse_not()
        else:
            left = self.parse_unary()
        while (operator := self.binary_operator()) is not None and _LEVELS[operator] >= level:
            left = self.parse_operation(left, operator)
        return left

    def binary_operator(self) -> str | None:
        token = self.peek()
        if token.kind == "keyword" and token.text == "not":
            following = self.peek(1)
            return "not in" if following.kind == "keyword" and following.text == "in" else None
        if token.kind in ("op", "keyword") and token.text in _LEVELS:
            return token.text
        return None

    def parse_operation(self, left: Node, operator: str) -> Node:
        """The chain of ``operator``'s level that starts with ``left``."""
        level = _LEVELS[operator]
        if level == _COMPARE:
            return self.parse_comparison(left, operator)
        rest: list[tuple[str, Node]] = []
        while (following := self.binary_operator()) is not None and _LEVELS[following] == level:
            self.advance()
            rest.append((following, self.parse_expression(level + 1)))
        if level in (_OR, _AND):
            return Logical(operator, (left, *(operand for _, operand in rest)))
        return Arithmetic(left, tuple(rest))

    def parse_comparison(self, left: Node, operator: str) -> Compare:
        self.advance()
        if operator == "not in":
            self.advance()
        right = self.parse_expression(_ADD)
        following = self.binary_operator()
        if following is not None and _LEVELS[following] == _COMPARE:
            token = self.peek()
            message = f"comparisons cannot be chained; combine them with 'and' (before {token.describe()})"
            raise _error(message, token.position)
        return Compare(operator, left, right)

    def parse_not(self) -> Node:
        count = self.prefixes("keyword", "not")
        operand = self.parse_expression(_NOT)
        self.depth -= count
        for _ in range(count):
            operand = Not(operand)
        return operand

    def parse_unary(self) -> Node:
        count = self.prefixes("op", "-")
        operand = self.parse_postfix()
        self.depth -= count
        for _ in range(count):
            if isinstance(operand, Literal) and _is_number(operand.value):
                operand = Literal(-operand.value)  # type: ignore[operator]
            else:
                operand = Negate(operand)
        return operand

    def parse_postfix(self) -> Node:
        target = self.parse_primary()
        steps: list[Node] = []
        while self.at("op", ".", "["):
            token = self.advance()
            if token.text == "[":
                with self.nested(token):
                    steps.append(self.parse_expression())
                self.expect("]", token)
                continue
            key = self.advance()
            if key.kind in ("name", "keyword") or key.kind == "number" and isinstance(key.value, int):
                steps.append(Literal(key.value))
            else:
                raise _error(f"expected a name after '.', found {key.describe()}", key.position)
        return Access(target, tuple(steps)) if steps else target

    def parse_primary(self) -> Node:
        token = self.peek()
        if token.kind in ("number", "string"):
            self.advance()
            return Literal(token.value)
        if token.kind == "keyword" and token.text in _CONSTANTS:
            self.advance()
            return Literal(_CONSTANTS[token.text])
        if token.kind == "name":
            self.advance()
            if self.at("op", "("):
                return self.parse_call(token)
            return Name(token.text)
        if token.kind == "op" and token.text == "(":
            self.advance()
            with self.nested(token):
                node = self.parse_expression()
            self.expect(")", token)
            return node
        if token.kind == "op" and token.text == "[":
            return self.parse_list()
        raise _error(f"unexpected {token.describe()}", token.position)

    def parse_list(self) -> ListLiteral:
        opening = self.advance()
        items: list[Node] = []
        with self.nested(opening):
            while not self.at("op", "]"):
                if items:
                    self.expect_separator(opening, "]")
                if len(items) == MAX_LIST_ITEMS:
                    raise _error(f"a list has at most {MAX_LIST_ITEMS} items", self.peek().position)
                items.append(self.parse_expression())
        self.advance()
        return ListLiteral(tuple(items))

    def expect_separator(self, opening: _Token, closing: str) -> None:
        token = self.peek()
        if token.kind == "op" and token.text == ",":
            self.advance()
            return
        raise _error(
            f"expected ',' or {closing!r} after an item of the {opening.text!r} at {opening.position}, "
            f"found {token.describe()}",
            token.position,
        )

    def parse_call(self, name: _Token) -> Call:
        function = self.functions.get(name.text)
        if function is None:
            known = ", ".join(sorted(self.functions))
            raise _error(f"unknown function '{name.text}' (the functions are {known})", name.position)
        opening = self.advance()
        arguments: list[Node] = []
        positions: list[int] = []
        with self.nested(opening):
            while not self.at("op", ")"):
                if arguments:
                    self.expect_separator(opening, ")")
                positions.append(self.peek().position)
                arguments.append(self.parse_expression())
        self.advance()
        if len(arguments) < function.minimum or function.maximum is not None and len(arguments) > function.maximum:
            expected = function.minimum if function.maximum is not None else f"at least {function.minimum}"
            plural = "" if expected == 1 else "s"
            raise _error(f"{function.usage} takes {expected} argument{plural}, not {len(arguments)}", name.position)
        if name.text == "matches":
            _check_literal_pattern(arguments[1], positions[1])
        return Call(name.text, tuple(arguments), function)


def _check_literal_pattern(pattern: Node, position: int) -> None:
    if isinstance(pattern, Literal) and isinstance(pattern.value, str):
        problem = _pattern_problem(pattern.value)
        if problem is not None:
            raise _error(f"matches(): {problem}", position)


# --- expressions ---


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression: evaluate it against a context as often as needed."""

    source: str
    root: Node

    def evaluate(self, context: Mapping[str, Any], budget: Budget | None = None) -> Any:
        """The value of the expression where its names are the keys of ``context``.

        Its steps are charged to ``budget``, else to the budget being :func:`metered`,
        else to a fresh :class:`Budget` of its own; :class:`TooCostly` past it.
        """
        return self.root.evaluate(context, _budget(budget))

    def test(self, context: Mapping[str, Any], budget: Budget | None = None) -> bool:
        """Whether the expression holds: its value is truthy (``null`` does not hold)."""
        return _truthy(self.evaluate(context, budget))

    def worst_steps(self) -> int:
        """The most steps an evaluation can take, not counting the size of the data it reads:
        every node, and every ``matches`` with the longest input (a pattern not written in
        the expression counted as the costliest one accepted)."""
        return _worst_steps(self.root)

    def names(self) -> frozenset[str]:
        """The context names the expression reads, e.g. ``{"event", "task"}``."""
        found: set[str] = set()
        pending: list[Node] = [self.root]
        while pending:
            node = pending.pop()
            if isinstance(node, Name):
                found.add(node.name)
            pending.extend(node.children())
        return frozenset(found)


def _worst_steps(root: Node) -> int:
    total = 0
    pending: list[Node] = [root]
    while pending:
        node = pending.pop()
        total += 1
        if isinstance(node, Call) and (node.implementation or FUNCTIONS[node.function]).steps is _matches_steps:
            total += _worst_match_steps(node.arguments[1])
        pending.extend(node.children())
    return total


def _worst_match_steps(pattern: Node) -> int:
    """The most steps one ``matches`` with ``pattern`` can cost (any accepted pattern's, unless a literal)."""
    if isinstance(pattern, Literal) and isinstance(pattern.value, str):
        return _match_work(pattern.value, MAX_MATCH_INPUT) // WAYS_PER_STEP
    return (MAX_PATTERN_LENGTH + MAX_MATCH_INPUT + MAX_PATTERN_WAYS) // WAYS_PER_STEP


def parse(source: str, functions: Mapping[str, _Function] | None = None) -> Expression:
    """The expression in ``source``; :class:`ExpressionError` says where and why not.

    ``functions`` (from :func:`with_functions`) adds plugins' functions to the built-ins.
    """
    if len(source) > MAX_SOURCE_LENGTH:
        raise _error(f"expression longer than {MAX_SOURCE_LENGTH} characters", MAX_SOURCE_LENGTH)
    tokens, _ = _tokenize(source)
    return Expression(source, _Parser(tokens, functions or FUNCTIONS).parse())


def with_functions(added: Mapping[str, Callable[..., Any]], usage: Mapping[str, str]) -> Mapping[str, _Function]:
    """The built-in functions plus ``added`` (name -> function of plain values).

    An added function that raises gives null, so a condition using it does not hold.
    """
    table = dict(FUNCTIONS)
    for name, function in added.items():
        table[name] = _Function(0, None, _guarded(function), usage.get(name, f"{name}(...)"))
    return table


def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*arguments: Any) -> Any:
        try:
            return function(*arguments)
        except Exception:  # noqa: BLE001 - a plugin's function failing makes the condition false
            return None

    return call


# --- structured conditions ---

_STRUCTURED_COMPARISONS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "in": "in",
    "not_in": "not in",
}
_STRUCTURED_OPS = (*_STRUCTURED_COMPARISONS, "contains", "exists", "not_exists")
_CONDITION_FIELDS = ("path", "op", "value")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]{1,9}))*")


def structured(conditions: Sequence[Mapping[str, Any]]) -> Expression:
    """The expression that holds when every condition does (no conditions: always).

    Each condition is ``{"path": "task.priority", "op": "eq", "value": "high"}`` with
    ``op`` one of eq, ne, lt, le, gt, ge, in, not_in, contains (the value at the path
    contains ``value``), exists and not_exists (the path is, or is not, non-null; no
    ``value``). The expression's ``source`` is what :func:`parse` reads as the same tree.
    """
    if isinstance(conditions, str | bytes) or not isinstance(conditions, Sequence):
        raise ExpressionError("conditions must be a list of conditions", 0)
    nodes = [_condition(index, condition) for index, condition in enumerate(conditions)]
    root = Literal(True) if not nodes else nodes[0] if len(nodes) == 1 else Logical("and", tuple(nodes))
    source = root.to_source()
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"conditions: together longer than {MAX_SOURCE_LENGTH} characters as an expression", len(nodes) - 1
        )
    return Expression(source, root)


def _condition(index: int, condition: Any) -> Node:
    def fail(field: str, message: str) -> ExpressionError:
        return ExpressionError(f"condition {index}, {field!r}: {message}", index)

    if not isinstance(condition, Mapping):
        raise ExpressionError(f"condition {index}: must be an object with 'path', 'op' and 'value'", index)
    for field in condition:
        if field not in _CONDITION_FIELDS:
            raise fail(str(field), "unknown field; a condition has 'path', 'op' and 'value'")
    path, op = condition.get("path"), condition.get("op")
    if not isinstance(path, str) or not _PATH.fullmatch(path) or path.split(".")[0] in KEYWORDS:
        raise fail("path", f"expected a dotted path like 'task.priority', not {path!r}")
    if op not in _STRUCTURED_OPS:
        raise fail("op", f"expected one of {', '.join(_STRUCTURED_OPS)}, not {op!r}")
    target = _path_node(path)
    if op in ("exists", "not_exists"):
        if condition.get("value") is not None:
            raise fail("value", f"not used with {op!r}")
        return Compare("!=" if op == "exists" else "==", target, Literal(None))
    if "value" not in condition:
        raise fail("value", f"required with {op!r}")
    value = _value_node(condition["value"], lambda message: fail("value", message))
    scalar = value.value if isinstance(value, Literal) else None
    if op in ("lt", "le", "gt", "ge") and not (_is_number(scalar) or isinstance(scalar, str)):
        raise fail("value", f"{op!r} compares with a number or a string")
    if op in ("in", "not_in") and not (isinstance(value, ListLiteral) or isinstance(scalar, str)):
        raise fail("value", f"{op!r} needs a list (or a string to search)")
    if op == "contains":
        if isinstance(value, ListLiteral):
            raise fail("value", "'contains' looks for one value, not a list")
        return Call("contains", (target, value))
    return Compare(_STRUCTURED_COMPARISONS[op], target, value)


def _path_node(path: str) -> Node:
    root, *keys = path.split(".")
    steps = tuple(Literal(int(key) if key.isdigit() else key) for key in keys)
    return Access(Name(root), steps) if steps else Name(root)


def _value_node(value: Any, fail: Callable[[str], ExpressionError]) -> Node:
    if isinstance(value, list | tuple):
        if len(value) > MAX_LIST_ITEMS:
            raise fail(f"a list has at most {MAX_LIST_ITEMS} items")
        return ListLiteral(tuple(_scalar_node(item, fail) for item in value))
    return _scalar_node(value, fail)


def _scalar_node(value: Any, fail: Callable[[str], ExpressionError]) -> Literal:
    if value is None or isinstance(value, bool | str):
        return Literal(value)
    if isinstance(value, int) and -MAX_INTEGER <= value <= MAX_INTEGER:
        return Literal(value)
    if isinstance(value, float) and math.isfinite(value):
        return Literal(value)
    raise fail(f"expected null, a boolean, a number, a string or a list of those, not {value!r}")


# --- templates ---


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: literal text and the expressions of its ``{{ }}`` placeholders."""

    source: str
    parts: tuple[str | Expression, ...]

    def render(self, context: Mapping[str, Any], budget: Budget | None = None) -> str:
        """The text with each placeholder replaced by its value, at most MAX_STRING_LENGTH long.

        Charged like :meth:`Expression.evaluate`, plus a step per part and per
        SIZE_PER_STEP characters of text it makes.
        """
        budget = _budget(budget)
        pieces: list[str] = []
        length = 0
        for part in self.parts:
            piece = part if isinstance(part, str) else _display(part.evaluate(context, budget))
            budget.charge(1 + len(piece) // SIZE_PER_STEP)
            pieces.append(piece)
            length += len(piece)
            if length >= MAX_STRING_LENGTH:
                break
        return _cap("".join(pieces))

    def names(self) -> frozenset[str]:
        """The context names the placeholders read."""
        return frozenset().union(*(part.names() for part in self.parts if isinstance(part, Expression)))

    def worst_steps(self) -> int:
        """The most steps a rendering can take, not counting the size of the values it reads."""
        return sum(
            1 + len(part) // SIZE_PER_STEP if isinstance(part, str) else 1 + part.worst_steps() for part in self.parts
        )


def parse_template(template: str) -> Template:
    """The template in ``template``; :class:`ExpressionError` positions are offsets in it."""
    if len(template) > MAX_TEMPLATE_LENGTH:
        raise _error(f"template longer than {MAX_TEMPLATE_LENGTH} characters", MAX_TEMPLATE_LENGTH)
    parts: list[str | Expression] = []
    index = 0
    placeholders = 0
    while (opening := template.find("{{", index)) >= 0:
        placeholders += 1
        if placeholders > MAX_PLACEHOLDERS:
            raise _error(f"a template has at most {MAX_PLACEHOLDERS} placeholders", opening)
        if opening > index:
            parts.append(template[index:opening])
        tokens, index = _tokenize(template, opening + 2, opening=opening)
        source = template[opening + 2 : index - 2]
        if len(source) > MAX_SOURCE_LENGTH:
            raise _error(f"expression longer than {MAX_SOURCE_LENGTH} characters", opening + 2)
        parts.append(Expression(source.strip(), _Parser(tokens).parse()))
    if index < len(template):
        parts.append(template[index:])
    return Template(template, tuple(parts))


def render(template: str, context: Mapping[str, Any], budget: Budget | None = None) -> str:
    """``template`` with its ``{{ expression }}`` placeholders filled from ``context``."""
    return parse_template(template).render(context, budget)


def _display(value: Any) -> str:
    """How a value reads in a rendered template."""
    try:
        return _cap(_text(value))
    except (ValueError, TypeError, RecursionError):
        return ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if _is_list(value):
        return ", ".join(_text(item) for item in value)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, default=str, skipkeys=True)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
