"""Small types shared by every area of the API."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal

import strawberry
from strawberry.schema.types.base_scalars import DecimalDefinition

from mcgraph.db.models import Role

strawberry.enum(Role, name="Role", description="A member's role in an organisation, most powerful first.")


@strawberry.enum(description="Sort direction.")
class OrderDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"

    @property
    def descending(self) -> bool:
        return self is OrderDirection.DESC


def _aware(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not an ISO 8601 date-time such as 2026-03-02T09:00:00Z.") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone: add Z for UTC or an offset such as +01:00.")
    try:
        parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-23:59 is in the year 10000 in UTC
        raise ValueError(f"{value!r} is outside the years 1 to 9999 once in UTC.") from None
    return parsed


AWARE_DATETIME = strawberry.scalar(
    name="DateTime",
    description="A moment in time, ISO 8601 with a time zone (answers are in UTC), e.g. 2026-03-02T09:00:00Z.",
    serialize=lambda value: value.isoformat(),
    parse_value=_aware,
)


MAX_DECIMAL_DIGITS = 18  # before and after the point: beyond any amount, rate or tolerance a column keeps


def _finite_decimal(value: object) -> Decimal:
    parsed = DecimalDefinition.parse_value(value)  # type: ignore[misc]
    if not parsed.is_finite():
        raise ValueError(f"{value!r} is not a finite number.")
    if parsed and parsed.adjusted() >= MAX_DECIMAL_DIGITS:
        raise ValueError(f"{value!r} has more than {MAX_DECIMAL_DIGITS} digits before the decimal point.")
    if int(parsed.normalize().as_tuple().exponent) < -MAX_DECIMAL_DIGITS:
        raise ValueError(f"{value!r} has more than {MAX_DECIMAL_DIGITS} digits after the decimal point.")
    return parsed


FINITE_DECIMAL = strawberry.scalar(
    name="Decimal",
    description="Decimal (fixed-point)",
    serialize=str,
    parse_value=_finite_decimal,
)
