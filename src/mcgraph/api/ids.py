"""Relay conventions: opaque global ids, the ``Node`` interface and connections.

A global id is ``base64url("<Type>:<pk>")``, unpadded. Clients treat it as opaque; ``node(id:)``
and ``nodes(ids:)`` fetch any object by it. Object types that are nodes are declared
with :func:`node_type`, which ties the GraphQL type to its model. Only the exact text
:func:`encode_id` writes is an id: another spelling of the same object (``Task:01``,
padding, ``+``/``/``, white space) names nothing, so an id compares equal as text exactly
when it names the same object.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import strawberry

from mcgraph.db.base import parse_id
from mcgraph.db.pagination import Page, Window
from mcgraph.domain.errors import BadInput, UserError, UserErrorCode

if TYPE_CHECKING:
    from mcgraph.api.context import OperationScope

T = TypeVar("T")

# GraphQL type name <-> model class, filled by @node_type as the API modules load.
MODEL_OF_TYPE: dict[str, type] = {}
TYPE_OF_MODEL: dict[type, str] = {}


def encode_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("="))


def decode_id(global_id: str) -> tuple[str, int] | None:
    """``(type name, pk)`` of a global id, or None when it is not one of ours as :func:`encode_id` writes it."""
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, digits = raw.partition(":")
        pk = parse_id(digits)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if type_name not in MODEL_OF_TYPE or pk is None or encode_id(type_name, pk) != global_id:
        return None
    return type_name, pk


def global_id_of(row: Any) -> strawberry.ID:
    return encode_id(TYPE_OF_MODEL[type(row)], row.id)


def pk_of(global_id: str, type_name: str, *, field: str | None = None) -> int:
    """The primary key behind ``global_id``, which must be a ``type_name`` id.

    With ``field`` (a mutation input) a wrong id is a NOT_FOUND user error on that
    field; without it (a query argument) it is a BAD_USER_INPUT request error.
    """
    decoded = decode_id(global_id)
    if decoded is None or decoded[0] != type_name:
        message = f"{global_id!r} is not the id of a {type_name}."
        if field is not None:
            raise UserError.one(field, message, UserErrorCode.NOT_FOUND)
        raise BadInput(message)
    return decoded[1]


@strawberry.interface(description="An object with a global id; fetch any of them with `node(id:)`.")
class Node:
    @strawberry.field(description="The object's global id: opaque, stable, usable with `node`.")
    def id(self) -> strawberry.ID:
        return global_id_of(self)


def node_type(model: type, *, description: str) -> Callable[[type[T]], type[T]]:
    """Declare a GraphQL object type that implements ``Node`` and is read from ``model`` rows."""

    def wrap(cls: type[T]) -> type[T]:
        def is_type_of(_cls: type, obj: object, _info: object) -> bool:
            return isinstance(obj, model)

        cls.is_type_of = classmethod(is_type_of)  # type: ignore[attr-defined]
        decorated = strawberry.type(cls, description=description)
        MODEL_OF_TYPE[cls.__name__] = model
        TYPE_OF_MODEL[model] = cls.__name__
        return decorated

    return wrap


@strawberry.type(description="Where a page stands in its list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="One item of a connection, with the cursor that points at it.")
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="A page of a list, Relay style: pass `first`/`after` or `last`/`before`.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    nodes: list[T] = strawberry.field(description="The items of this page, without their cursors.")
    page_info: PageInfo
    _page: strawberry.Private[Page[Any]]
    _scope: strawberry.Private[Any]  # the OperationScope whose lock guards the count

    @strawberry.field(description="How many items the whole list holds, across all pages.")
    async def total_count(self) -> int:
        async with self._scope.lock:
            return await self._page.count()

    @classmethod
    def of(cls, page: Page[Any], scope: OperationScope) -> Connection[Any]:
        return cls(
            edges=[Edge(cursor=c, node=n) for c, n in zip(page.cursors, page.items, strict=True)],
            nodes=page.items,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            _page=page,
            _scope=scope,
        )


def window(info: strawberry.Info, first: int | None, after: str | None, last: int | None, before: str | None) -> Window:
    settings = info.context.runtime.settings
    return Window.of(
        first, after, last, before, max_size=settings.max_page_size, default_size=settings.default_page_size
    )
