"""Per-operation dataloaders: every relation is fetched in one statement per batch.

``Loaders`` is made fresh for each GraphQL operation (see :mod:`mcgraph.api.context`),
so nothing is cached across requests or users. ``by_id(Model)`` loads rows by primary
key, showing only rows the actor's organisation may see; ``node(Model)`` by the number
their global id holds; ``children(column)`` loads the rows whose ``column`` holds each key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import InstrumentedAttribute
from strawberry.dataloader import DataLoader

from mcgraph.db.base import OrgScoped
from mcgraph.db.models import Event, Membership, Organization, User
from mcgraph.db.pagination import Page, SortKey, Window, paginate_many

if TYPE_CHECKING:
    from mcgraph.api.context import OperationScope

# the column a global id holds, where it is not the primary key: an event's id carries its
# number in the organisation's log, which counts no other organisation's events
NODE_KEYS: dict[type, InstrumentedAttribute[Any]] = {Event: Event.org_seq}


class Loaders:
    def __init__(self, scope: OperationScope) -> None:
        self._scope = scope
        self._by_id: dict[type, DataLoader[int, Any]] = {}
        self._children: dict[Any, DataLoader[int, list[Any]]] = {}
        self._unique: dict[Any, DataLoader[int, Any]] = {}
        self._pages: dict[Hashable, DataLoader[int, Page[Any]]] = {}
        self._batches: dict[Hashable, DataLoader[Any, Any]] = {}

    def by_id(self, model: type) -> DataLoader[int, Any]:
        loader = self._by_id.get(model)
        if loader is None:
            loader = self._by_id[model] = DataLoader(lambda keys: self._load_by_id(model, keys))
        return loader

    def node(self, model: type) -> DataLoader[int, Any]:
        """Rows by the number in their global id (:data:`NODE_KEYS`, else the primary key)."""
        column = NODE_KEYS.get(model)
        if column is None:
            return self.by_id(model)
        loader = self._unique.get(column)
        if loader is None:
            loader = self._unique[column] = DataLoader(lambda keys: self._load_unique(column, keys))
        return loader

    def children(self, column: InstrumentedAttribute[Any]) -> DataLoader[int, list[Any]]:
        loader = self._children.get(column)
        if loader is None:
            loader = self._children[column] = DataLoader(lambda keys: self._load_children(column, keys))
        return loader

    def pages(
        self, key: Hashable, stmt: Select[Any], partition: InstrumentedAttribute[Any], keys: Sequence[SortKey], window: Window
    ) -> DataLoader[int, Page[Any]]:
        """Pages of ``stmt``'s rows per parent; ``key`` names the field and its arguments."""
        loader = self._pages.get(key)
        if loader is None:

            async def batch(parent_ids: Sequence[int]) -> list[Page[Any]]:
                async with self._scope.lock:
                    pages = await paginate_many(self._scope.session, stmt, partition, parent_ids, keys, window)
                return [pages[p] for p in parent_ids]

            loader = self._pages[key] = DataLoader(batch)
        return loader

    def batch(self, key: Hashable, compute: Callable[[Any, Sequence[Any]], Awaitable[dict[Any, Any]]]) -> DataLoader[Any, Any]:
        """A loader that computes values for many keys at once with ``compute(session, keys)``."""
        loader = self._batches.get(key)
        if loader is None:

            async def run(keys: Sequence[Any]) -> list[Any]:
                async with self._scope.lock:
                    values = await compute(self._scope.session, keys)
                return [values.get(k) for k in keys]

            loader = self._batches[key] = DataLoader(run)
        return loader

    def _visible(self, model: type) -> ColumnElement[bool]:
        actor = self._scope.context.actor
        if actor is None:
            return false()
        if issubclass(model, OrgScoped):
            return model.organization_id == actor.organization_id  # type: ignore[attr-defined,no-any-return]
        if model is Organization:
            return Organization.id == actor.organization_id
        if model is User:
            members = select(Membership.user_id).where(Membership.organization_id == actor.organization_id)
            return User.id.in_(members)
        raise TypeError(f"{model.__name__} has no visibility rule; add one in Loaders._visible")

    async def _load_by_id(self, model: type, keys: Sequence[int]) -> list[Any]:
        stmt = select(model).where(model.id.in_(keys), self._visible(model))  # type: ignore[attr-defined]
        async with self._scope.lock:
            rows = {row.id: row for row in (await self._scope.session.scalars(stmt))}
        return [rows.get(key) for key in keys]

    async def _load_unique(self, column: InstrumentedAttribute[Any], keys: Sequence[int]) -> list[Any]:
        """Rows by ``column``, unique within an organisation (the actor's rows only)."""
        model = column.class_
        stmt = select(model).where(column.in_(keys), self._visible(model))
        async with self._scope.lock:
            rows = {getattr(row, column.key): row for row in (await self._scope.session.scalars(stmt))}
        return [rows.get(key) for key in keys]

    async def _load_children(self, column: InstrumentedAttribute[Any], keys: Sequence[int]) -> list[list[Any]]:
        model = column.class_
        stmt = select(model).where(column.in_(keys), self._visible(model)).order_by(model.id)
        groups: dict[int, list[Any]] = defaultdict(list)
        async with self._scope.lock:
            for row in await self._scope.session.scalars(stmt):
                groups[getattr(row, column.key)].append(row)
        return [groups.get(key, []) for key in keys]
