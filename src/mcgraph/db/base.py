"""Declarative base, shared column types and the organisation-scoping mixin."""

from __future__ import annotations

from datetime import UTC, datetime

import enum

from sqlalchemy import BigInteger, DateTime, Enum, ForeignKey, Integer, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")
MAX_ID = 2**63 - 1  # the largest value either database keeps in a BigId column
MAX_INT = 2**31 - 1  # the largest in an Integer column on PostgreSQL


def parse_id(text: str) -> int | None:
    """The row id that ``text`` spells in ASCII digits, or None when it spells none a row can have."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware ``datetime``.

    SQLite keeps no time zone; PostgreSQL keeps ``timestamptz``. Both give UTC here.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        super().__init__(timezone=True)

    @property
    def python_type(self) -> type:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; mcgraph stores aware UTC datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), int: BigId}

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class OrgScoped:
    """Rows owned by one organisation.

    Sessions opened for an authenticated request see only their organisation's rows of
    every ``OrgScoped`` model (see :mod:`mcgraph.db.scoping`); queries still filter
    explicitly, and this is the net under them.
    """

    @declared_attr
    def organization_id(cls) -> Mapped[int]:
        return mapped_column(
            BigId, ForeignKey("organization.id", ondelete="CASCADE"), index=True, nullable=False
        )


def enum_column(cls: type[enum.Enum], name: str) -> Enum:
    """A string column holding an enum's values (portable: no native enum types)."""
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e], native_enum=False, length=32)
