"""Keyset (cursor) pagination over any ORM select.

A cursor holds the sort values of its row, so a page is found by ``WHERE (keys) >
(cursor)`` on an index, never by OFFSET: the tenth page costs what the first does, and
rows inserted meanwhile neither repeat nor vanish from the pages that follow.

A cursor is accepted only as :func:`encode_cursor` writes it: the same values spelled
otherwise (padding, white space, another number or date form) do not belong to the list.
"""

from __future__ import annotations

import base64
import enum
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, case, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from mcgraph.db.base import MAX_ID, MAX_INT
from mcgraph.domain.errors import BadInput

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Window:
    """Which slice of a list a client asked for (Relay's first/after/last/before)."""

    size: int
    after: str | None = None
    before: str | None = None
    backwards: bool = False

    @classmethod
    def of(
        cls,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        *,
        max_size: int = 100,
        default_size: int = 20,
    ) -> Window:
        if first is not None and last is not None:
            raise BadInput("Pass either `first` or `last`, not both.")
        for name, value in (("first", first), ("last", last)):
            if value is not None and not 0 <= value <= max_size:
                raise BadInput(f"`{name}` must be between 0 and {max_size}; got {value}.")
        if last is not None:
            return cls(size=last, after=after, before=before, backwards=True)
        return cls(size=first if first is not None else default_size, after=after, before=before)


@dataclass(frozen=True, slots=True)
class SortKey:
    """One sort key: a mapped column, or an expression with ``read`` to compute it from a row.

    ``nullable`` keys sort their NULLs last in either direction. A ``unique`` last key
    orders the rows alone: no id is added to break ties (nor put in cursors).
    """

    column: Any
    descending: bool = False
    nullable: bool = False
    read: Callable[[Any], Any] | None = None
    unique: bool = False

    def value(self, row: object) -> Any:
        return self.read(row) if self.read is not None else getattr(row, self.column.key)

    def coerce(self, value: Any) -> Any:
        """A cursor's value for this key, checked against the key's type (cursors come from clients)."""
        if value is None:
            if self.nullable:
                return None
            raise ValueError("null")
        expected: type = int if self.read is not None else self.column.type.python_type
        if issubclass(expected, enum.Enum):
            return expected(value)
        if expected in (int, float):
            if isinstance(value, bool) or not isinstance(value, int | float) or (expected is int and not isinstance(value, int)):
                raise ValueError("not a number")
            # past what the column (or a computed rank, a small integer) can hold, the database would fail
            largest = MAX_ID if self.read is None else MAX_INT
            if expected is int and not -largest - 1 <= value <= largest:
                raise ValueError("out of range")
            return value
        if not isinstance(value, expected) or (expected is date and isinstance(value, datetime)):
            raise ValueError(f"not a {expected.__name__}")
        return value


def ranked(
    expression: Any, value_of: Callable[[Any], Any], order: Sequence[Any], *, descending: bool = False
) -> SortKey:
    """Sort by ``expression``'s values in the given ``order`` (e.g. severity), not alphabetically.

    ``value_of`` reads the same value from a row, for its cursor.
    """
    rank = {value: i for i, value in enumerate(order)}
    case_of = case(*((expression == value, i) for value, i in rank.items()), else_=len(rank))
    return SortKey(case_of, descending=descending, read=lambda row: rank.get(value_of(row), len(rank)))


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]] = field(repr=False)


async def paginate(
    session: AsyncSession, stmt: Select[Any], keys: Sequence[SortKey], window: Window
) -> Page[Any]:
    """Run ``stmt`` (an ORM select of one entity) for the rows of ``window``.

    ``keys`` name the order; the entity's ``id`` is appended to make it total.
    """
    entity = stmt.column_descriptions[0]["entity"]
    keys = _total(keys, entity)

    async def count() -> int:
        counted = select(func.count()).select_from(stmt.order_by(None).subquery())
        return int((await session.execute(counted)).scalar_one())

    page_stmt = _within(stmt, keys, window)
    order = _order_by(keys, reverse=window.backwards)
    page_stmt = page_stmt.order_by(None).order_by(*order).limit(window.size + 1)
    rows = list((await session.execute(page_stmt)).scalars().all())
    return _page(rows, keys, window, count)


def _page(rows: list[Any], keys: Sequence[SortKey], window: Window, count: Callable[[], Awaitable[int]]) -> Page[Any]:
    """The page of ``rows``, fetched with one row more than asked to tell if more follow."""
    more = len(rows) > window.size
    rows = rows[: window.size]
    if window.backwards:
        rows.reverse()
        has_previous, has_next = more, window.before is not None
    else:
        has_next, has_previous = more, window.after is not None
    cursors = [encode_cursor([k.value(row) for k in keys]) for row in rows]
    return Page(rows, cursors, has_next, has_previous, count)


async def paginate_many(
    session: AsyncSession,
    stmt: Select[Any],
    partition: InstrumentedAttribute[Any],
    parent_ids: Sequence[Any],
    keys: Sequence[SortKey],
    window: Window,
) -> dict[Any, Page[Any]]:
    """:func:`paginate` for many parents at once: one statement for all their pages.

    ``stmt`` selects the child entity; ``partition`` is its column naming the parent.
    Each parent's page is cut by ``ROW_NUMBER() OVER (PARTITION BY parent)``, so the cost
    does not grow with the number of parents. ``count()`` of every page is batched too.
    """
    entity = stmt.column_descriptions[0]["entity"]
    keys = _total(keys, entity)
    scoped = stmt.where(partition.in_(list(parent_ids)))
    filtered = _within(scoped, keys, window)
    order = _order_by(keys, reverse=window.backwards)
    position = func.row_number().over(partition_by=partition, order_by=order).label("position")
    ranked = filtered.order_by(None).add_columns(position).subquery()
    row = aliased(entity, ranked)
    page_stmt = select(row).where(ranked.c.position <= window.size + 1).order_by(ranked.c.position)
    grouped: dict[Any, list[Any]] = {parent: [] for parent in parent_ids}
    for item in (await session.execute(page_stmt)).scalars():
        grouped[getattr(item, partition.key)].append(item)

    counts: dict[Any, int] | None = None

    async def count_for(parent: Any) -> int:
        nonlocal counts
        if counts is None:
            inner = scoped.order_by(None).subquery()
            column = inner.c[partition.key]
            rows = await session.execute(select(column, func.count()).group_by(column))
            counts = {parent_id: int(n) for parent_id, n in rows}
        return counts.get(parent, 0)

    return {parent: _page(rows, keys, window, lambda p=parent: count_for(p)) for parent, rows in grouped.items()}


def _total(keys: Sequence[SortKey], entity: Any) -> list[SortKey]:
    """``keys`` made a total order: the id breaks ties, in the direction of the last key."""
    if keys and keys[-1].unique:
        return list(keys)
    return [*keys, SortKey(entity.id, descending=bool(keys) and keys[-1].descending)]


def _within(stmt: Select[Any], keys: Sequence[SortKey], window: Window) -> Select[Any]:
    """``stmt`` limited to the rows between the window's cursors."""
    if window.after is not None:
        stmt = stmt.where(_beyond(keys, decode_cursor(window.after, keys), after=True))
    if window.before is not None:
        stmt = stmt.where(_beyond(keys, decode_cursor(window.before, keys), after=False))
    return stmt


def _null_flag(key: SortKey) -> Any:
    return case((key.column.is_(None), 1), else_=0)


def _order_by(keys: Sequence[SortKey], *, reverse: bool) -> list[Any]:
    clauses: list[Any] = []
    for key in keys:
        descending = key.descending != reverse
        if key.nullable:
            clauses.append(_null_flag(key).desc() if reverse else _null_flag(key).asc())
        clauses.append(key.column.desc() if descending else key.column.asc())
    return clauses


def _beyond(keys: Sequence[SortKey], values: list[Any], *, after: bool) -> Any:
    """Rows strictly after (or before) the row whose sort values are ``values``."""
    atoms: list[tuple[Any, Any, bool]] = []  # (expression, value, compare descending)
    for key, value in zip(keys, values, strict=True):
        if key.nullable:
            atoms.append((_null_flag(key), 1 if value is None else 0, False))
            if value is None:
                continue
        atoms.append((key.column, value, key.descending))
    alternatives = []
    for i, (expr, value, descending) in enumerate(atoms):
        forward = after != descending
        earlier = [e == v for e, v, _ in atoms[:i]]
        alternatives.append(and_(*earlier, expr > value if forward else expr < value))
    return or_(*alternatives) if alternatives else false()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def _hook(obj: dict[str, str]) -> Any:
    if "t" in obj:
        return datetime.fromisoformat(obj["t"])
    if "d" in obj:
        return date.fromisoformat(obj["d"])
    if "n" in obj:
        return Decimal(obj["n"])
    return obj


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, default=_default, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[SortKey]) -> list[Any]:
    """The sort values in ``cursor``, each checked against its key; BAD_USER_INPUT otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw, object_hook=_hook)
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("wrong length")
        if encode_cursor(values) != cursor:
            raise ValueError("not as written")
        return [key.coerce(value) for key, value in zip(keys, values, strict=True)]
    # a tagged number that does not parse ({"n": "x"}) raises decimal.InvalidOperation, an ArithmeticError
    except (binascii.Error, ValueError, TypeError, ArithmeticError, UnicodeDecodeError, RecursionError):
        raise BadInput(f"The cursor {cursor!r} does not belong to this list; ask again from the start.") from None
