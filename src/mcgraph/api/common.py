"""Small types shared by every area of the API."""

from __future__ import annotations

import enum

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
