"""GraphQL documents and small helpers shared by the test modules."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from graphql import GraphQLEnumType, GraphQLScalarType, get_named_type
from sqlalchemy import event, select

from mcgraph.db import Base, Database

VIEWER_ROLE = "{ viewer { role } }"

MEMBERS = """
query Members($first: Int, $after: String, $last: Int, $before: String, $where: MemberFilter, $orderBy: MemberOrder) {
  viewer { organization { members(first: $first, after: $after, last: $last, before: $before,
                                  where: $where, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id role user { id email } } }
  } } }
}
"""

TEAMS = "{ viewer { organization { teams(first: 100) { nodes { id name } } } } }"
ORG_TOKENS = "{ viewer { organization { apiTokens(first: 100) { nodes { id name user { email } } } } } }"
MY_TOKENS = """
query MyTokens($includeRevoked: Boolean! = false) {
  viewer { apiTokens(first: 100, includeRevoked: $includeRevoked) {
    nodes { id name prefix createdAt expiresAt lastUsedAt revokedAt }
  } }
}
"""

MUTATION_PAYLOADS = {
    "updateOrganization": "organization { id name }",
    "addMember": "membership { id role user { id email } }",
    "changeMemberRole": "membership { id role }",
    "removeMember": "removedMembershipId",
    "createTeam": "team { id name }",
    "updateTeam": "team { id name }",
    "deleteTeam": "deletedTeamId",
    "addTeamMembers": "team { id }",
    "removeTeamMembers": "team { id }",
    "createApiToken": "apiToken { id name expiresAt } secret",
    "revokeApiToken": "apiToken { id revokedAt }",
}


def mutation_document(name: str) -> str:
    input_type = "TeamMembersInput" if name in ("addTeamMembers", "removeTeamMembers") else name[0].upper() + name[1:] + "Input"
    return (
        f"mutation M($input: {input_type}!) {{ {name}(input: $input) {{"
        f" userErrors {{ field message code }} {MUTATION_PAYLOADS[name]} }} }}"
    )


async def mutate(gql: Any, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    """The payload of mutation ``name``; the request must have no top-level errors."""
    data = await gql.data(mutation_document(name), {"input": input}, token=token)
    return data[name]


async def succeed(gql: Any, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    """The payload of mutation ``name``, which must have no user errors either."""
    payload = await mutate(gql, name, input, token)
    assert payload["userErrors"] == [], payload
    return payload


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def user_error_codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def members(gql: Any, token: str, **arguments: Any) -> dict[str, Any]:
    data = await gql.data(MEMBERS, {"first": 100, **arguments}, token=token)
    return data["viewer"]["organization"]["members"]


async def membership_ids(gql: Any, token: str) -> dict[str, str]:
    """E-mail address -> membership id, for every member of the token's organisation."""
    page = await members(gql, token)
    return {edge["node"]["user"]["email"]: edge["node"]["id"] for edge in page["edges"]}


async def my_token_id(gql: Any, token: str) -> str:
    """The id of the only API token of the token's user."""
    data = await gql.data(MY_TOKENS, token=token)
    (node,) = data["viewer"]["apiTokens"]["nodes"]
    return node["id"]


async def warm_up(gql: Any, *tokens: str) -> None:
    """Use each token once: its ``lastUsedAt`` is then set and, the clock being frozen, stays."""
    for token in tokens:
        await gql.data(VIEWER_ROLE, token=token)


async def node_ids(database: Database, organization_id: int, per_type: int = 1) -> dict[str, list[str]]:
    """Global ids of up to ``per_type`` objects of each node type in one organisation (its members too)."""
    from mcgraph.api.dataloaders import NODE_KEYS
    from mcgraph.api.ids import MODEL_OF_TYPE, encode_id
    from mcgraph.db.base import OrgScoped
    from mcgraph.db.models import Membership, User

    found: dict[str, list[str]] = {}
    async with database.session() as session:
        for type_name, model in MODEL_OF_TYPE.items():
            if issubclass(model, OrgScoped):  # the number the API puts in the id (an event's in its organisation's log)
                stmt = select(NODE_KEYS.get(model, model.id)).where(model.organization_id == organization_id)
            elif model is User:
                stmt = select(User.id).join(Membership).where(Membership.organization_id == organization_id)
            elif type_name == "Organization":
                found[type_name] = [encode_id(type_name, organization_id)]
                continue
            else:
                continue
            pks = (await session.scalars(stmt.order_by(model.id).limit(per_type))).all()
            if pks:
                found[type_name] = [encode_id(type_name, pk) for pk in pks]
    return found


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a refused request wrote nothing."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with database.session() as session:
        for table in Base.metadata.sorted_tables:
            result = await session.execute(select(*data_columns(table)).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in result]
    return rows


def data_columns(table: Any) -> list[Any]:
    """A table's columns but the relay's bookkeeping (``event.published_at``), which changes after commit."""
    return [column for column in table.columns if (table.name, column.name) != ("event", "published_at")]


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements the app runs inside the block for the calling task (the request,
    through an ASGI transport), leaving out what background tasks such as the relay run."""
    seen: list[str] = []
    engine = app.state.runtime.database.engine.sync_engine
    caller = asyncio.current_task()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if asyncio.current_task() is caller:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def selection(kind: Any) -> str:
    """What a generated document selects of a field of type ``kind``: a payload's userErrors, or its type name."""
    named = get_named_type(kind)
    if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
        return ""
    if "userErrors" in getattr(named, "fields", {}):
        return "{ __typename userErrors { field message code } }"
    return "{ __typename }"


def document(root: str, name: str, field: Any) -> str:
    """An operation of type ``root`` calling field ``name`` with every argument as a variable."""
    variables = ", ".join(f"${a}: {arg.type}" for a, arg in field.args.items())
    arguments = ", ".join(f"{a}: ${a}" for a in field.args)
    return f"{root.lower()}{f'({variables})' if variables else ''} {{ {name}{f'({arguments})' if arguments else ''} {selection(field.type)} }}"
