"""Object types of the tenancy area."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from sqlalchemy import or_, select

from mcgraph.api.common import OrderDirection
from mcgraph.api.fields import query
from mcgraph.api.ids import Connection, Node, node_type, window
from mcgraph.db import models as m
from mcgraph.db.pagination import SortKey, paginate
from mcgraph.domain.permissions import Action
from mcgraph.domain.queries import escape_like


@node_type(m.User, description="A person. One user may belong to several organisations.")
class User(Node):
    email: str
    name: str
    created_at: datetime


@node_type(m.Membership, description="A user's place in the organisation, with their role.")
class Membership(Node):
    role: m.Role
    joined_at: datetime = strawberry.field(resolver=lambda root: root.created_at)

    @strawberry.field
    async def user(self, root: strawberry.Parent[m.Membership], info: strawberry.Info) -> User:
        return await info.context.loaders.by_id(m.User).load(root.user_id)


@strawberry.input(description="Which members to list.")
class MemberFilter:
    roles: list[m.Role] | None = None
    search: str | None = strawberry.field(default=None, description="Part of the e-mail address or name.")


@strawberry.enum(description="How to order members.")
class MemberOrderField(enum.Enum):
    JOINED_AT = "joined_at"


@strawberry.input
class MemberOrder:
    field: MemberOrderField = MemberOrderField.JOINED_AT
    direction: OrderDirection = OrderDirection.ASC


@node_type(m.Team, description="A named group of members, for assigning work and reading workload.")
class Team(Node):
    name: str
    description: str
    created_at: datetime

    @query(Action.ORG_READ, description="The team's members, by name.")
    async def members(
        self,
        root: strawberry.Parent[m.Team],
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[User]:
        stmt = select(m.User).join(m.TeamMember, m.TeamMember.user_id == m.User.id).where(
            m.TeamMember.team_id == root.id
        )
        async with info.context.read() as session:
            page = await paginate(session, stmt, [SortKey(m.User.name)], window(info, first, after, last, before))
        return Connection.of(page, info.context.scope)


@node_type(m.ApiToken, description="A bearer token of one member. Its secret is shown only when created.")
class ApiToken(Node):
    name: str
    prefix: str = strawberry.field(description="The secret's first characters, to tell tokens apart.")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @strawberry.field(description="Accurate to about a minute.")
    def last_used_at(self, root: strawberry.Parent[m.ApiToken], info: strawberry.Info) -> datetime | None:
        info.context.vary_by_time()  # written as the token is used, without a data version change
        return root.last_used_at

    @strawberry.field
    async def user(self, root: strawberry.Parent[m.ApiToken], info: strawberry.Info) -> User:
        return await info.context.loaders.by_id(m.User).load(root.user_id)


async def token_page(
    info: strawberry.Info, user_id: int | None, include_revoked: bool, first: int | None, after: str | None,
    last: int | None, before: str | None,
) -> Connection[ApiToken]:
    stmt = select(m.ApiToken).where(m.ApiToken.organization_id == info.context.actor.organization_id)
    if user_id is not None:
        stmt = stmt.where(m.ApiToken.user_id == user_id)
    if not include_revoked:
        stmt = stmt.where(m.ApiToken.revoked_at.is_(None))
    async with info.context.read() as session:
        page = await paginate(
            session, stmt, [SortKey(m.ApiToken.created_at, descending=True)], window(info, first, after, last, before)
        )
    return Connection.of(page, info.context.scope)


@node_type(m.Organization, description="An organisation: the tenant that owns projects, processes and members.")
class Organization(Node):
    slug: str
    name: str
    created_at: datetime

    @query(Action.ORG_READ, description="The organisation's members.")
    async def members(
        self,
        root: strawberry.Parent[m.Organization],
        info: strawberry.Info,
        where: MemberFilter | None = None,
        order_by: MemberOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Membership]:
        stmt = select(m.Membership).where(m.Membership.organization_id == root.id)
        if where and where.roles:
            stmt = stmt.where(m.Membership.role.in_(where.roles))
        if where and where.search:
            pattern = f"%{escape_like(where.search.strip().lower())}%"
            stmt = stmt.join(m.User, m.User.id == m.Membership.user_id).where(
                or_(m.User.email.like(pattern, escape="\\"), m.User.name.ilike(pattern, escape="\\"))
            )
        order = order_by or MemberOrder()
        keys = [SortKey(m.Membership.created_at, descending=order.direction.descending)]
        async with info.context.read() as session:
            page = await paginate(session, stmt, keys, window(info, first, after, last, before))
        return Connection.of(page, info.context.scope)

    @query(Action.ORG_READ, description="The organisation's teams, by name.")
    async def teams(
        self,
        root: strawberry.Parent[m.Organization],
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Team]:
        stmt = select(m.Team).where(m.Team.organization_id == root.id)
        async with info.context.read() as session:
            page = await paginate(session, stmt, [SortKey(m.Team.name)], window(info, first, after, last, before))
        return Connection.of(page, info.context.scope)

    @query(Action.TOKEN_MANAGE_ANY, description="Every member's API tokens (owners and admins).")
    async def api_tokens(
        self,
        info: strawberry.Info,
        include_revoked: bool = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ApiToken]:
        return await token_page(info, None, include_revoked, first, after, last, before)



@strawberry.type(description="Who is asking: the token's user, organisation and role.")
class Viewer:
    role: m.Role

    _actor_user_id: strawberry.Private[int]
    _organization_id: strawberry.Private[int]

    @strawberry.field
    async def user(self, info: strawberry.Info) -> User:
        return await info.context.loaders.by_id(m.User).load(self._actor_user_id)

    @strawberry.field
    async def organization(self, info: strawberry.Info) -> Organization:
        return await info.context.loaders.by_id(m.Organization).load(self._organization_id)

    @query(Action.TOKEN_MANAGE_OWN, description="The viewer's own API tokens.")
    async def api_tokens(
        self,
        info: strawberry.Info,
        include_revoked: bool = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ApiToken]:
        return await token_page(info, self._actor_user_id, include_revoked, first, after, last, before)
