"""Small types shared by every area of the API."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

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
    return parsed


AWARE_DATETIME = strawberry.scalar(
    name="DateTime",
    description="A moment in time, ISO 8601 with a time zone (answers are in UTC), e.g. 2026-03-02T09:00:00Z.",
    serialize=lambda value: value.isoformat(),
    parse_value=_aware,
)
