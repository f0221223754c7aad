"""Properties of pagination cursors, against the rule of :mod:`mcgraph.db.pagination`.

The oracle: a cursor written by ``encode_cursor`` for values of its keys' types reads
back as those values; any other cursor of the right length (a value of another JSON
type, a number past what the column holds, a tagged object that does not parse, or the
same values spelled otherwise) is refused with BAD_USER_INPUT, never another error.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mcgraph.db import models as m
from mcgraph.db.base import MAX_ID
from mcgraph.db.models.enums import Health
from mcgraph.db.pagination import SortKey, decode_cursor, encode_cursor
from mcgraph.domain.errors import BadInput

# keys over columns of every type a list sorts by; the id last, as paginate appends it
KEYS = [
    SortKey(m.Project.key),
    SortKey(m.Project.created_at, descending=True),
    SortKey(m.Project.start_date, nullable=True),
    SortKey(m.Project.planned_budget, nullable=True),
    SortKey(m.Project.progress),
    SortKey(m.Project.health),
    SortKey(m.Project.id),
]
ID = [SortKey(m.Project.id)]

zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
row_values = st.tuples(
    st.text(max_size=20),
    st.datetimes(timezones=zones),
    st.none() | st.dates(),
    st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**9), max_value=10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(Health),
    st.integers(-MAX_ID - 1, MAX_ID),
).map(list)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["t", "d", "n", "id", ""]) | st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


def raw_cursor(values: Any) -> str:
    """A cursor with exactly this JSON in it, as a client could forge one."""
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def an_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID - 1 <= value <= MAX_ID


@given(row_values)
def test_a_cursor_reads_back_as_the_values_it_was_written_from(values):
    assert decode_cursor(encode_cursor(values), KEYS) == values


@given(json_values)
@example(True)
@example(False)
@example(None)
@example(1.0)
@example(1.5)
@example("1")
@example([1])
@example({"id": 1})
@example({"n": "1"})
@example({"n": "not a number"})
@example({"t": "2026-01-01T00:00:00+00:00"})
@example({"d": "2026-01-01"})
@example(MAX_ID + 1)
@example(-MAX_ID - 2)
@example(2**200)
def test_an_id_of_any_other_json_type_is_refused(value):
    cursor = raw_cursor([value])
    if an_id(value):
        assert decode_cursor(cursor, ID) == [value]
    else:
        with pytest.raises(BadInput):
            decode_cursor(cursor, ID)


@given(row_values, st.integers(0, len(KEYS) - 1), json_values)
def test_a_cursor_with_any_value_replaced_is_read_as_its_type_or_refused(values, position, value):
    forged = [*values[:position], value, *values[position + 1 :]]
    try:
        cursor = raw_cursor(forged)
    except TypeError:  # dates and decimals: written by encode_cursor below instead
        cursor = encode_cursor(forged)
    try:
        decoded = decode_cursor(cursor, KEYS)
    except BadInput:
        return
    # accepted: then it is as encode_cursor writes it, and each value has its key's type
    assert encode_cursor(decoded) == cursor
    expected = (str, datetime, date, Decimal, (float, int), Health, int)
    for key, read, kinds in zip(KEYS, decoded, expected, strict=True):
        assert (read is None and key.nullable) or type(read) in (kinds if isinstance(kinds, tuple) else (kinds,)), (key, read)
    assert an_id(decoded[-1])


@given(row_values, st.sampled_from([" ", "=", "==", "\n"]))
def test_the_same_values_spelled_otherwise_are_refused(values, extra):
    cursor = encode_cursor(values)
    for other in (cursor + extra, extra + cursor):
        with pytest.raises(BadInput):
            decode_cursor(other, KEYS)


@given(st.lists(json_values, max_size=len(KEYS) + 2).filter(lambda values: len(values) != len(KEYS)))
def test_a_cursor_of_another_length_is_refused(values):
    with pytest.raises(BadInput):
        decode_cursor(raw_cursor(values), KEYS)


@given(st.datetimes(timezones=zones))
def test_a_moment_is_not_a_day(moment):
    # a datetime is a date to Python, not to the column the key sorts by
    day = [SortKey(m.Project.start_date, nullable=True)]
    assert decode_cursor(encode_cursor([moment.date()]), day) == [moment.date()]
    with pytest.raises(BadInput):
        decode_cursor(encode_cursor([moment]), day)
