from __future__ import annotations

import dataclasses
import math
import operator
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcgraph.domain import expressions
from mcgraph.domain.expressions import (
    MAX_DEPTH,
    MAX_INTEGER,
    MAX_LIST_ITEMS,
    MAX_MATCH_INPUT,
    MAX_SOURCE_LENGTH,
    MAX_STRING_LENGTH,
    MAX_TEMPLATE_LENGTH,
    Expression,
    ExpressionError,
    Template,
    parse,
    parse_template,
    render,
    structured,
)

CONTEXT: dict[str, Any] = {
    "event": {"type": "task.updated", "at": "2026-03-05T12:00:00Z", "changes": {"state": ["todo", "doing"]}},
    "task": {"title": "Fix login", "priority": "high", "due": "2026-03-02", "tags": ["bug", "auth"], "estimate": 3},
    "payload": {"who": "ana", "amount": 12.5, "count": 0, "in": "keyword key", "odd key": 1, "0": "zero",
                "quote": 'say "hi"\\'},
}


def value(source: str, context: dict[str, Any] | None = None) -> Any:
    return parse(source).evaluate(CONTEXT if context is None else context)


def error(source: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    return caught.value


# --- literals and names ---


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("42", 42),
        ("007", 7),
        ("2.5", 2.5),
        ("-3", -3),
        ("'single'", "single"),
        ('"double"', "double"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"tab\tnew\nline"', "tab\tnew\nline"),
        (r'"\d+ kept"', "\\d+ kept"),
        ("'\"'", '"'),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[]", []),
        ("[1, 'a', null, [true]]", [1, "a", None, [True]]),
    ],
)
def test_literals(source: str, expected: Any) -> None:
    result = value(source)

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("event.type", "task.updated"),
        ("task.tags[0]", "bug"),
        ("task.tags.1", "auth"),
        ("task.tags[-1]", "auth"),
        ("event.changes.state.1", "doing"),
        ('payload["odd key"]', 1),
        ("payload.in", "keyword key"),
        ("payload.0", "zero"),
        ("payload[0]", "zero"),
        ("task['tag' + 's'][len(task.tags) - 1]", "auth"),
        ("[10, 20, 30][1]", 20),
    ],
)
def test_paths_read_keys_and_items(source: str, expected: Any) -> None:
    assert value(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "missing",
        "missing.deeper.still",
        "task.missing",
        "task.title.length",
        "task.tags[2]",
        "task.tags[-3]",
        "task.tags['0']",
        "task.tags[0.0]",
        "task.tags[true]",
        "task[null]",
        "task[[1]]",
        "task.estimate.0",
        "'abc'[0]",
        "null.x",
    ],
)
def test_missing_paths_are_null(source: str) -> None:
    assert value(source) is None


def test_names_are_looked_up_only_as_keys() -> None:
    class Secret:
        token = "s3cret"

        def __len__(self) -> int:
            return 1

    context = {"obj": Secret(), "event": {"type": "x"}}

    for source in ["event.__class__", '"".__class__', "obj.token", "obj.__class__", "obj['__dict__']",
                   "event.__class__.__init__.__globals__", "event['__class__']", "[].__class__", "len(obj)"]:
        assert parse(source).evaluate(context) is None, source
    assert error("().__class__").position == 1


def test_the_module_does_not_evaluate_python() -> None:
    source = Path(expressions.__file__).read_text()

    assert not re.search(r"(?<![\w.])(eval|exec|compile)\(|literal_eval|^import ast|^from ast", source, re.MULTILINE)


# --- precedence and associativity ---


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("10 - (4 - 3)", 9),
        ("100 / 10 / 5", 2.0),
        ("2 * 3 % 4", 2),
        ("17 % 5 * 2", 4),
        ("-2 * 3", -6),
        ("-(2 + 3) * 2", -10),
        ("2 - -3", 5),
        ("--3", 3),
        ("- -task.estimate", 3),
        ("-task.estimate * 2", -6),
        ("1 + 2 == 3", True),
        ("1 + 2 * 3 > 6 and 2 > 1", True),
        ("not 1 == 2", True),
        ("not true and false", False),
        ("not (true and false)", True),
        ("true or true and false", True),
        ("(true or true) and false", False),
        ("false and false or true", True),
        ("false or false or true", True),
        ("true and true and false", False),
        ("not not true", True),
        ("2 in [1, 2] and not 3 in [1, 2]", True),
        ("1 + 2 in [3]", True),
        ("'a' + 'b' == 'ab'", True),
        ("not 'x' in ['y']", True),
        ("not 'x' in ['y'] and 1 + 1 * 2 == 3", True),
    ],
)
def test_precedence_and_associativity(source: str, expected: Any) -> None:
    result = value(source)

    assert result == expected
    assert type(result) is type(expected)


# --- operators ---


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2", 3),
        ("1 + 2.5", 3.5),
        ("'ab' + 'cd'", "abcd"),
        ("'a' + 1", None),
        ("null + 1", None),
        ("true + 1", None),
        ("[1] + [2]", None),
        ("5 - 7", -2),
        ("3 * 4", 12),
        ("'a' * 3", None),
        ("7 / 2", 3.5),
        ("6 / 3", 2.0),
        ("1 / 0", None),
        ("1.5 / 0.0", None),
        ("7 % 3", 1),
        ("-7 % 3", 2),
        ("7 % -3", -2),
        ("7.5 % 2", 1.5),
        ("1 % 0", None),
        ("-task.estimate", -3),
        ("-'a'", None),
        ("-null", None),
        ("-true", None),
        (f"{MAX_INTEGER} + 1", None),
        (f"{MAX_INTEGER} * 2", None),
        (f"-{MAX_INTEGER} - 1", None),
        (f"{MAX_INTEGER} - 1", MAX_INTEGER - 1),
        ("payload.amount * 2", 25.0),
        ("payload.amount / payload.count", None),
    ],
)
def test_arithmetic(source: str, expected: Any) -> None:
    result = value(source)

    assert result == expected
    assert type(result) is type(expected)


def test_float_overflow_is_null() -> None:
    big = "9" * 300 + ".0"

    assert value(f"{big} * {big}") is None
    assert value("x * 1.0", {"x": 10**400}) is None
    assert value("x / 3", {"x": 10**400}) is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 == 1.0", True),
        ("true == 1", False),
        ("false == 0", False),
        ("null == null", True),
        ("null == 0", False),
        ("'1' == 1", False),
        ("[1, 'a'] == [1, 'a']", True),
        ("[true] == [1]", False),
        ("[1] == [1, 2]", False),
        ("'a' != 'b'", True),
        ("null != 0", True),
        ("1 < 2", True),
        ("2 <= 2", True),
        ("2.5 > 2", True),
        ("2 >= 2.5", False),
        ("'a' < 'b'", True),
        ("'2026-03-02' < '2026-03-10'", True),
        ("'b' in 'abc'", True),
        ("'x' in 'abc'", False),
        ("2 in [1, 2]", True),
        ("'2' in [1, 2]", False),
        ("[1] in [[1], [2]]", True),
        ("'who' in payload", True),
        ("'nobody' in payload", False),
        ("1 in 'abc'", False),
        ("1 in null", False),
        ("1 not in null", True),
        ("'x' not in [1]", True),
        ("'bug' not in task.tags", False),
    ],
)
def test_comparisons(source: str, expected: Any) -> None:
    assert value(source) is expected


def test_equality_of_objects_is_deep() -> None:
    context = {"a": {"x": [1, {"y": True}]}, "b": {"x": [1, {"y": True}]}, "c": {"x": [1, {"y": 1}]}}

    assert value("a == b", context) is True
    assert value("a == c", context) is False
    assert value("a.x in [b.x]", context) is True


@pytest.mark.parametrize(
    "source",
    ["null < 3", "3 < null", "null <= null", "null >= null", "'a' < 1", "1 >= 'a'", "[1] < [2]", "true < 2",
     "false <= true", "task < task", "missing > 0"],
)
def test_incomparable_values_compare_false(source: str) -> None:
    assert value(source) is False


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 and 'x'", True),
        ("0 or ''", False),
        ("null or [0]", True),
        ("not null", True),
        ("not 'x'", False),
        ("not []", True),
        ("false and 1 / 0", False),
        ("true or missing.deep", True),
    ],
)
def test_logical_operators_give_booleans(source: str, expected: bool) -> None:
    assert value(source) is expected


# --- functions ---


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("lower('ÄbC')", "äbc"),
        ("lower(1)", None),
        ("upper(payload.who)", "ANA"),
        ("upper(null)", None),
        ("len('abc')", 3),
        ("len(task.tags)", 2),
        ("len(payload)", 7),
        ("len(5)", None),
        ("len(null)", None),
        ("startswith('abc', 'ab')", True),
        ("startswith('abc', 'bc')", False),
        ("startswith(null, 'a')", False),
        ("startswith('abc', 1)", False),
        ("endswith(task.title, 'login')", True),
        ("endswith(task.title, 'Fix')", False),
        ("endswith(1, '1')", False),
        ("contains('abc', 'b')", True),
        ("contains(task.tags, 'auth')", True),
        ("contains(payload, 'who')", True),
        ("contains([true], 1)", False),
        ("contains(null, 1)", False),
        ("matches('PRJ-12', 'PRJ-\\d+')", True),
        ("matches('PRJ-12', 'prj-\\d+')", False),
        ("matches('PRJ-12', '(?i)prj-\\d+')", True),
        ("matches('xPRJ-12', 'PRJ-\\d+')", False),
        ("matches(null, 'a')", False),
        ("matches('a', null)", False),
        ("days_between('2026-03-02', '2026-03-05')", 3),
        ("days_between('2026-03-05', '2026-03-02')", -3),
        ("days_between('2026-03-02T00:00:00Z', '2026-03-02T12:00:00Z')", 0.5),
        ("days_between('2026-03-02T00:00:00', '2026-03-02T06:00:00+00:00')", 0.25),
        ("days_between('2026-03-02T00:00:00+01:00', '2026-03-02T00:00:00Z')", 1 / 24),
        ("days_between(task.due, event.at)", 3.5),
        ("days_between('2026-03-02', 'soon')", None),
        ("days_between(1, 2)", None),
        ("days_between(null, '2026-03-02')", None),
        ("days_between('2026-02-30', '2026-03-01')", None),
        ("days_between('0001-01-01', '9999-12-31')", 3652058),
        ("coalesce(null, missing, 3, 4)", 3),
        ("coalesce(false, 1)", False),
        ("coalesce(null)", None),
        ("coalesce(task.missing, task.title)", "Fix login"),
    ],
)
def test_functions(source: str, expected: Any) -> None:
    result = value(source)

    assert result == expected
    assert type(result) is type(expected)


def test_days_between_takes_dates_and_datetimes_from_the_context() -> None:
    context = {"a": date(2026, 3, 2), "b": datetime(2026, 3, 4, 12, tzinfo=UTC), "c": datetime(2026, 3, 3)}

    assert value("days_between(a, b)", context) == 2.5
    assert value("days_between(a, c)", context) == 1.0


def test_matches_caps_the_text_and_refuses_unsafe_patterns() -> None:
    context = {"text": "a" * MAX_MATCH_INPUT, "long": "a" * (MAX_MATCH_INPUT + 1), "slow": "(a+)+", "fine": "a+"}

    assert value("matches(text, 'a+')", context) is True
    assert value("matches(long, 'a+')", context) is None
    assert value("matches(text, slow)", context) is None  # refused at run time when not written out
    assert value("matches(text, fine)", context) is True
    assert "invalid pattern" in error("matches(x, '[')").message


@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+",
        "(a*)*b",
        "(\\w+\\s?)*$",
        "(a|aa)+",
        ".*a.*b.*c",
        "a*a*a*c",
        "(a|a)" * 24,
        "(a)\\1",
        "(?P<x>a)(?P=x)",
        "(?x) a b",
        "[[a]",
        "[a--z]",
        "a" * 201,
    ],
)
def test_matches_refuses_slow_or_unsupported_patterns_when_parsing(pattern: str) -> None:
    source = f"matches(x, {expressions.Literal(pattern).to_source()})"

    assert error(source).position == 11
    assert error(source).message.startswith("matches(): ")


@pytest.mark.parametrize(
    "pattern",
    ["PRJ-\\d+", "^PRJ-\\d+(-[a-z]+)?$", ".*urgent.*", "(\\d{1,3}\\.){3}\\d{1,3}", "(?i)bug|feature|chore",
     "[A-Z]{2,4}-[0-9]+", "(?:ab)+", "[]a]+", "[^]]*", "a{,3}b{2}"],
)
def test_matches_accepts_ordinary_patterns(pattern: str) -> None:
    parse(f"matches(x, {expressions.Literal(pattern).to_source()})")


# --- errors ---


@pytest.mark.parametrize(
    ("source", "message", "position"),
    [
        ("(1 + 2))", "unexpected ')' at 7", 7),
        ("1 +", "unexpected end of expression at 3", 3),
        ("a b", "unexpected name 'b' at 2", 2),
        ("system('ls')", "unknown function 'system' (the functions are coalesce, contains, days_between, endswith, "
         "len, lower, matches, startswith, upper) at 0", 0),
        ("x.lower()", "unexpected '(' at 7", 7),
        ("'abc", "unterminated string at 0", 0),
        ("a == 'it\\'s", "unterminated string at 5", 5),
        ("a = 1", "unexpected character '='; use '==' to compare at 2", 2),
        ("a && b", "unexpected character '&'; use 'and' at 2", 2),
        ("!a", "unexpected character '!'; use 'not' or '!=' at 0", 0),
        ("a ? b", "unexpected character '?' at 2", 2),
        ("1 < 2 < 3", "comparisons cannot be chained; combine them with 'and' (before '<') at 6", 6),
        ("a in b in c", "comparisons cannot be chained; combine them with 'and' (before 'in') at 7", 7),
        ("(1 + 2", "expected ')' to close the '(' at 0, found end of expression at 6", 6),
        ("a[1", "expected ']' to close the '[' at 1, found end of expression at 3", 3),
        ("[1 2]", "expected ',' or ']' after an item of the '[' at 0, found number 2 at 3", 3),
        ("lower(a b)", "expected ',' or ')' after an item of the '(' at 5, found name 'b' at 8", 8),
        ("lower()", "lower(text) takes 1 argument, not 0 at 0", 0),
        ("startswith('a')", "startswith(text, prefix) takes 2 arguments, not 1 at 0", 0),
        ("coalesce()", "coalesce(value, ...) takes at least 1 arguments, not 0 at 0", 0),
        ("a.(b)", "expected a name after '.', found '(' at 2", 2),
        ("a.'b'", "expected a name after '.', found string \"b\" at 2", 2),
        ("", "empty expression at 0", 0),
        ("   ", "empty expression at 3", 3),
        ("not", "unexpected end of expression at 3", 3),
        ("1 not 2", "unexpected 'not' at 2", 2),
        ("{}", "unexpected character '{'; templates use '{{ ... }}' at 0", 0),
        ("99999999999999999999", f"number too large (the largest integer is {MAX_INTEGER}) at 0", 0),
    ],
)
def test_parse_errors(source: str, message: str, position: int) -> None:
    caught = error(source)

    assert caught.message == message
    assert str(caught) == message
    assert caught.position == position
    assert isinstance(caught, ValueError)


# --- limits ---


def test_source_length_is_limited() -> None:
    longest = "1+" * ((MAX_SOURCE_LENGTH - 1) // 2) + "1"
    assert len(longest) <= MAX_SOURCE_LENGTH

    assert parse(longest).evaluate({}) == longest.count("1")  # a flat chain is not nesting
    caught = error("1" * (MAX_SOURCE_LENGTH + 1))
    assert caught.message == f"expression longer than {MAX_SOURCE_LENGTH} characters at {MAX_SOURCE_LENGTH}"


@pytest.mark.parametrize(
    ("opening", "closing", "offset"),
    [("(", ")", 0), ("[", "]", 0), ("lower(", ")", 5), ("x[", "]", 1), ("-", "", 0), ("not ", "", 0)],
)
def test_nesting_depth_is_limited(opening: str, closing: str, offset: int) -> None:
    parse(opening * MAX_DEPTH + "1" + closing * MAX_DEPTH)

    caught = error(opening * (MAX_DEPTH + 1) + "1" + closing * (MAX_DEPTH + 1))
    assert caught.message.startswith(f"expression nested too deeply (more than {MAX_DEPTH} levels)")
    assert caught.position == len(opening) * MAX_DEPTH + offset  # the 33rd bracket or operator


def test_long_paths_and_chains_evaluate_without_recursion() -> None:
    context: dict[str, Any] = {"leaf": 1}
    for _ in range(600):
        context = {"b": context}

    assert parse("b" + ".b" * 599 + ".leaf").evaluate(context) == 1
    assert parse(" and ".join(["true"] * 200)).evaluate({}) is True
    assert parse(" or ".join(["false"] * 200)).evaluate({}) is False
    assert parse("+".join(["'ab'"] * 300)).evaluate({}) == "ab" * 300


def test_the_deepest_expressions_need_little_stack() -> None:
    """Rules are read deep inside request handlers: parsing and evaluating fit in 400 frames."""
    level = "a or b and c == d + e * f[coalesce(x, "
    sources = [
        "(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH,
        "[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH,
        level * (MAX_DEPTH // 2) + "x" + ")]" * (MAX_DEPTH // 2),
        "coalesce(-" * (MAX_DEPTH // 2) + "1" + ")" * (MAX_DEPTH // 2),
        "not " * MAX_DEPTH + "a",
    ]
    context = {"a": 0, "b": 1, "c": 1, "d": 1, "e": 1, "f": {}}

    def run(frames: int) -> list[Any]:
        if frames > 0:
            return run(frames - 1)
        return [parse(source).evaluate(context) for source in sources]

    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    nested: Any = 1
    for _ in range(MAX_DEPTH):
        nested = [nested]
    assert run(sys.getrecursionlimit() - depth - 400) == [1, nested, False, 1, False]


def test_list_literals_are_limited() -> None:
    assert len(value("[" + ", ".join(["1"] * MAX_LIST_ITEMS) + "]")) == MAX_LIST_ITEMS

    source = "[" + ",".join(["1"] * (MAX_LIST_ITEMS + 1)) + "]"
    caught = error(source)
    assert caught.message == f"a list has at most {MAX_LIST_ITEMS} items at {source.rindex('1')}"


def test_built_strings_are_cut() -> None:
    context = {"s": "x" * 6_000, "huge": "y" * 50_000}

    assert value("s + s", context) == "x" * MAX_STRING_LENGTH
    assert value("upper(huge)", context) == "Y" * MAX_STRING_LENGTH
    assert len(value("lower(s + s + s + s)", context)) == MAX_STRING_LENGTH
    assert value("huge", context) == context["huge"]  # values read are not changed


def test_integer_literals_are_limited() -> None:
    assert value(str(MAX_INTEGER)) == MAX_INTEGER
    assert value(f"-{MAX_INTEGER}") == -MAX_INTEGER
    assert error(str(MAX_INTEGER + 1)).position == 0
    assert error("1 + " + "9" * 1_000).position == 4


# --- the Expression object ---


def test_test_is_truthiness_with_null_false() -> None:
    for source, expected in [("null", False), ("missing", False), ("0", False), ("''", False), ("[]", False),
                             ("payload", True), ("'x'", True), ("1", True), ("task.tags", True)]:
        result = parse(source).test(CONTEXT)
        assert result is expected, source


def test_names_are_the_roots_read() -> None:
    expression = parse("event.type == 'x' and lower(task.title) in payload.words[k] or coalesce(a, [b.c])")

    assert expression.names() == {"event", "task", "payload", "k", "a", "b"}
    assert parse("1 + 2").names() == frozenset()


def test_expressions_are_frozen_values() -> None:
    expression = parse("a.b == 1")

    assert expression == parse("a.b == 1")
    assert hash(expression) == hash(parse("a.b == 1"))
    assert expression.source == "a.b == 1"
    assert parse("a['b']==1").root == expression.root
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.source = "x"  # type: ignore[misc]


def test_evaluate_accepts_any_mapping() -> None:
    from types import MappingProxyType

    assert parse("a.b").evaluate(MappingProxyType({"a": MappingProxyType({"b": 2})})) == 2
    assert parse("a").evaluate({}) is None


# --- structured conditions ---

STRUCTURED_CASES = [
    ([], "true"),
    ([{"path": "task.priority", "op": "eq", "value": "high"}], 'task.priority == "high"'),
    ([{"path": "task.priority", "op": "ne", "value": None}], "task.priority != null"),
    ([{"path": "task.estimate", "op": "lt", "value": 5}], "task.estimate < 5"),
    ([{"path": "task.estimate", "op": "le", "value": 3.5}], "task.estimate <= 3.5"),
    ([{"path": "payload.amount", "op": "gt", "value": -1e-7}], "payload.amount > -0.0000001"),
    ([{"path": "task.due", "op": "ge", "value": "2026-03-01"}], 'task.due >= "2026-03-01"'),
    ([{"path": "task.priority", "op": "in", "value": ["high", "urgent"]}], 'task.priority in ["high", "urgent"]'),
    ([{"path": "task.priority", "op": "not_in", "value": ("low",)}], 'task.priority not in ["low"]'),
    ([{"path": "task.tags", "op": "contains", "value": "bug"}], 'contains(task.tags, "bug")'),
    ([{"path": "event.changes.state.0", "op": "exists"}], "event.changes.state[0] != null"),
    ([{"path": "task.missing", "op": "not_exists", "value": None}], "task.missing == null"),
    ([{"path": "payload.quote", "op": "eq", "value": 'say "hi"\\'}], 'payload.quote == "say \\"hi\\"\\\\"'),
    ([{"path": "payload.in", "op": "eq", "value": "keyword key"}], 'payload.in == "keyword key"'),
    (
        [
            {"path": "event.type", "op": "eq", "value": "task.updated"},
            {"path": "task.tags", "op": "contains", "value": "auth"},
            {"path": "payload.count", "op": "eq", "value": 0},
        ],
        'event.type == "task.updated" and contains(task.tags, "auth") and payload.count == 0',
    ),
]


@pytest.mark.parametrize(("conditions", "source"), STRUCTURED_CASES)
def test_structured_builds_the_tree_parse_reads(conditions: list[dict[str, Any]], source: str) -> None:
    expression = structured(conditions)

    assert expression.source == source
    assert parse(source) == expression
    assert expression.test(CONTEXT) is True


def test_structured_conditions_all_must_hold() -> None:
    conditions = [
        {"path": "task.priority", "op": "eq", "value": "high"},
        {"path": "task.estimate", "op": "gt", "value": 5},
    ]

    assert structured(conditions).test(CONTEXT) is False
    assert structured(conditions[:1]).test(CONTEXT) is True
    assert structured([{"path": "task.missing", "op": "gt", "value": 1}]).test(CONTEXT) is False


OK = {"path": "task.priority", "op": "eq", "value": "high"}


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ([{"path": "task.priority", "op": "equals", "value": 1}],
         "condition 0, 'op': expected one of eq, ne, lt, le, gt, ge, in, not_in, contains, exists, not_exists, "
         "not 'equals'"),
        ([OK, {"path": "task..x", "op": "eq", "value": 1}],
         "condition 1, 'path': expected a dotted path like 'task.priority', not 'task..x'"),
        ([OK, {"op": "eq", "value": 1}], "condition 1, 'path': expected a dotted path like 'task.priority', not None"),
        ([OK, {"path": "in.x", "op": "eq", "value": 1}],
         "condition 1, 'path': expected a dotted path like 'task.priority', not 'in.x'"),
        ([OK, OK, {"path": "a", "op": "eq"}], "condition 2, 'value': required with 'eq'"),
        ([{"path": "a", "op": "exists", "value": 3}], "condition 0, 'value': not used with 'exists'"),
        ([{"path": "a", "op": "lt", "value": [1]}], "condition 0, 'value': 'lt' compares with a number or a string"),
        ([{"path": "a", "op": "ge", "value": None}], "condition 0, 'value': 'ge' compares with a number or a string"),
        ([{"path": "a", "op": "in", "value": 3}], "condition 0, 'value': 'in' needs a list (or a string to search)"),
        ([{"path": "a", "op": "contains", "value": [1]}],
         "condition 0, 'value': 'contains' looks for one value, not a list"),
        ([{"path": "a", "op": "eq", "value": {"x": 1}}],
         "condition 0, 'value': expected null, a boolean, a number, a string or a list of those, not {'x': 1}"),
        ([{"path": "a", "op": "eq", "value": math.nan}],
         "condition 0, 'value': expected null, a boolean, a number, a string or a list of those, not nan"),
        ([{"path": "a", "op": "eq", "value": 2**64}],
         f"condition 0, 'value': expected null, a boolean, a number, a string or a list of those, not {2**64}"),
        ([{"path": "a", "op": "in", "value": list(range(MAX_LIST_ITEMS + 1))}],
         f"condition 0, 'value': a list has at most {MAX_LIST_ITEMS} items"),
        ([OK, {"path": "a", "op": "eq", "value": 1, "extra": 2}],
         "condition 1, 'extra': unknown field; a condition has 'path', 'op' and 'value'"),
        ([OK, "task.priority == 'high'"], "condition 1: must be an object with 'path', 'op' and 'value'"),
    ],
)
def test_structured_errors_name_the_condition_and_field(conditions: list[Any], message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        structured(conditions)

    assert caught.value.message == message
    assert caught.value.position == int(message.split()[1].rstrip(",:"))


def test_structured_refuses_what_is_not_a_list_or_too_long() -> None:
    with pytest.raises(ExpressionError, match="conditions must be a list"):
        structured("task.priority == 'high'")  # type: ignore[arg-type]
    with pytest.raises(ExpressionError, match=f"longer than {MAX_SOURCE_LENGTH} characters"):
        structured([{"path": "a", "op": "eq", "value": "x" * MAX_SOURCE_LENGTH}])


# --- templates ---


def test_render_fills_placeholders() -> None:
    text = render("Review {{ task.title }} by {{ upper(payload.who) }}", CONTEXT)

    assert text == "Review Fix login by ANA"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("[{{ missing }}]", "[]"),
        ("{{ 1 == 1 }}/{{ null == 1 }}", "true/false"),
        ("{{ 7 / 2 }} {{ 4 / 2 }} {{ -0.5 }} {{ 3 }}", "3.5 2 -0.5 3"),
        ("{{ task.tags }}", "bug, auth"),
        ("{{ [1, 'a', null, true] }}", "1, a, , true"),
        ("{{ event.changes }}", '{"state": ["todo", "doing"]}'),
        ("no placeholders }} here", "no placeholders }} here"),
        ("{{ '{{' }} literal {{ '}}' }}", "{{ literal }}"),
        ("{{task.priority}}{{task.estimate}}", "high3"),
        ("{{ payload.who + '}}' }}!", "ana}}!"),
        ("", ""),
    ],
)
def test_render_formats_values(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


def test_render_formats_dates_from_the_context() -> None:
    assert render("{{ d }}", {"d": date(2026, 3, 2)}) == "2026-03-02"


@pytest.mark.parametrize(
    ("template", "message", "position"),
    [
        ("Hello {{ task.title", "unterminated '{{' at 6", 6),
        ("Hello {{ task.title }", "unexpected character '}'; a placeholder ends with '}}' at 20", 20),
        ("ab {{ 1 + }}", "unexpected end of expression at 10", 10),
        ("ab {{ }}", "empty expression at 6", 6),
        ("x {{ a }} {{ system() }}", "unknown function 'system'", 13),
        ("x {{ 'abc }}", "unterminated string at 5", 5),
        ("x {{ a } }}", "unexpected character '}'; a placeholder ends with '}}' at 7", 7),
    ],
)
def test_template_errors_point_into_the_template(template: str, message: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_template(template)

    assert caught.value.message.startswith(message)
    assert caught.value.position == position


def test_parse_template_for_validation() -> None:
    template = parse_template("{{ event.type }}: {{ coalesce(task.title, payload.name) }}")

    assert isinstance(template, Template)
    assert template.names() == {"event", "task", "payload"}
    assert template.parts[1] == ": "
    assert template.parts[0] == parse("event.type")
    assert template.render(CONTEXT) == "task.updated: Fix login"
    assert parse_template("plain").names() == frozenset()


def test_template_limits() -> None:
    context = {"s": "x" * 6_000}

    assert render("{{ s }}{{ s }}{{ s }}", context) == "x" * MAX_STRING_LENGTH
    with pytest.raises(ExpressionError, match="template longer than"):
        parse_template("x" * (MAX_TEMPLATE_LENGTH + 1))
    with pytest.raises(ExpressionError, match="expression longer than"):
        parse_template("{{ " + "1+" * MAX_SOURCE_LENGTH + "1 }}")


# --- properties ---

ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": operator.mod}
COMPARISON = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
              ">=": operator.ge}
PRECEDENCE = {"or": 1, "and": 2, "not": 3, **dict.fromkeys(COMPARISON, 4), "+": 5, "-": 5, "*": 6, "/": 6, "%": 6,
              "neg": 7}

numbers = st.one_of(st.integers(-1_000, 1_000), st.integers(-MAX_INTEGER, MAX_INTEGER)).map(lambda n: ("int", n))
arithmetic_trees = st.recursive(
    numbers,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(sorted(ARITHMETIC)), inner, inner),
        st.tuples(st.just("neg"), inner),
    ),
    max_leaves=10,
)
boolean_trees = st.recursive(
    st.one_of(st.tuples(st.sampled_from(sorted(COMPARISON)), arithmetic_trees, arithmetic_trees),
              st.booleans().map(lambda b: ("bool", b))),
    lambda inner: st.one_of(st.tuples(st.sampled_from(["and", "or"]), inner, inner), st.tuples(st.just("not"), inner)),
    max_leaves=5,
)


def to_source(tree: tuple[Any, ...]) -> tuple[str, int]:
    """The tree as source with only the parentheses precedence needs, and its precedence."""
    kind = tree[0]
    if kind == "int":
        return str(tree[1]), 7 if tree[1] < 0 else 8
    if kind == "bool":
        return ("true" if tree[1] else "false"), 8
    level = PRECEDENCE[kind]
    if kind in ("neg", "not"):
        text, inner = to_source(tree[1])
        text = text if inner >= level else f"({text})"
        return ("-" if kind == "neg" else "not ") + text, level
    (left, left_level), (right, right_level) = to_source(tree[1]), to_source(tree[2])
    left_ok = left_level > level if kind in COMPARISON else left_level >= level
    left = left if left_ok else f"({left})"
    right = right if right_level > level else f"({right})"
    return f"{left} {kind} {right}", level


def bounded(number: float) -> float | None:
    if isinstance(number, float):
        return number if math.isfinite(number) else None
    return number if abs(number) <= MAX_INTEGER else None


def compute(tree: tuple[Any, ...]) -> Any:
    """What the language should give for the tree, computed with Python's operators."""
    kind = tree[0]
    if kind in ("int", "bool"):
        return tree[1]
    if kind == "neg":
        operand = compute(tree[1])
        return None if operand is None else bounded(-operand)
    if kind == "not":
        return not compute(tree[1])
    left, right = compute(tree[1]), compute(tree[2])
    if kind == "and":
        return left and right
    if kind == "or":
        return left or right
    if kind in ("==", "!="):
        return COMPARISON[kind](left, right)
    if kind in COMPARISON:
        return left is not None and right is not None and COMPARISON[kind](left, right)
    if left is None or right is None or kind in "/%" and right == 0:
        return None
    return bounded(ARITHMETIC[kind](left, right))


@settings(max_examples=200, deadline=None)
@given(st.one_of(arithmetic_trees, boolean_trees))
def test_arithmetic_and_comparisons_agree_with_python(tree: tuple[Any, ...]) -> None:
    source, _ = to_source(tree)
    expected = compute(tree)

    result = parse(source).evaluate({})

    assert result == expected
    assert type(result) is type(expected)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_parse_raises_only_expression_errors(text: str) -> None:
    for parser in (parse, parse_template):
        try:
            parser(text)
        except ExpressionError as caught:
            assert 0 <= caught.position <= max(len(text), MAX_SOURCE_LENGTH)


PIECES = ["a", "b", "event", "a.b", "a.c.0", "a[0]", "b[-1]", "a['k']", "a[b]", ".", ",", "(", ")", "[", "]", "1",
          "0", "-3", "2.5", "'x'", '"ab\\"c"', "''", "true", "false", "null", "+", "-", "*", "/", "%", "==", "!=",
          "<", "<=", ">", ">=", "in", "not", "and", "or", "lower(", "upper(", "len(", "startswith(", "endswith(",
          "contains(", "matches(", "days_between(", "coalesce(", "'a.*'", "'2026-03-02'", "'2026-03-02T10:00Z'",
          str(MAX_INTEGER)]
expression_soup = st.lists(st.sampled_from(PIECES), min_size=1, max_size=14).map(" ".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["2026-03-02", "2026-03-02T10:00:00Z", "a.*", "k"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["b", "c", "k", "0"]) | st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)
contexts = st.dictionaries(st.sampled_from(["a", "b", "event"]) | st.text(max_size=4), json_values, max_size=4)


@settings(max_examples=200, deadline=None)
@given(expression_soup, contexts)
def test_whatever_parses_evaluates_without_raising(source: str, context: dict[str, Any]) -> None:
    try:
        expression = parse(source)
    except ExpressionError:
        return

    expression.evaluate(context)
    assert isinstance(expression.test(context), bool)
    assert isinstance(parse_template("<{{ " + source + " }}>").render(context), str)
    assert parse(expression.root.to_source()).root == expression.root
    assert expression.names() <= {"a", "b", "event"}


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-MAX_INTEGER, MAX_INTEGER),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
condition_objects = st.fixed_dictionaries({
    "path": st.sampled_from(["a", "a.b", "a.c.0", "b.k"]),
    "op": st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "contains", "exists", "not_exists"]),
    "value": scalars | st.lists(scalars, max_size=3),
})


@settings(max_examples=200, deadline=None)
@given(st.lists(condition_objects, max_size=4), contexts)
def test_structured_conditions_read_back_and_evaluate(conditions: list[Any], context: dict[str, Any]) -> None:
    try:
        expression = structured(conditions)
    except ExpressionError as caught:
        assert caught.message.startswith(f"condition {caught.position}, 'value'")
        return

    assert parse(expression.source) == expression
    assert isinstance(expression.test(context), bool)


def test_expression_is_exported() -> None:
    assert isinstance(parse("1"), Expression)
