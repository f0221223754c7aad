"""Tenant isolation, generated from the schema: every query and mutation that takes an id,
plugins' included, asked by acme's owner about each of another organisation's objects,
answers exactly as it does about an id that names nothing, and changes nothing.

The other organisation is the demo one (projects, tasks, milestones, comments, time,
processes, runs, automations...), plus objects of the built-in plugins.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
)
from sqlalchemy import select

from mcgraph.api.ids import encode_id
from mcgraph.api.schema import build_schema
from mcgraph.db.models import Membership, Role, User
from mcgraph.demo import seed
from tests.conftest import without_rate_limits
from tests.helpers import document, node_ids, snapshot, warm_up

pytestmark = pytest.mark.timeout(600)

MISSING = 10**9
SCALARS = {"String": "x", "Int": 1, "Float": 1.0, "Boolean": False, "Date": "2026-03-10", "DateTime": "2026-03-10T00:00:00Z", "Decimal": "1", "JSON": {}}


def slot_types(slot: str, known: set[str]) -> set[str]:
    """The node types an id argument or input field may name, going by its name."""
    base = re.sub(r"Ids?$", "", slot)
    if not base:
        return known
    matching = {t for t in known if t.lower().endswith(base.lower())}
    return matching or known


def value(kind: Any, slot: str, chosen: str) -> Any:
    """A value for an argument or input field of ``kind``: ``chosen`` for every id in it."""
    if isinstance(kind, GraphQLNonNull):
        return value(kind.of_type, slot, chosen)
    if isinstance(kind, GraphQLList):
        return [value(kind.of_type, slot, chosen)]
    if isinstance(kind, GraphQLInputObjectType):
        return {
            name: value(field.type, name, chosen)
            for name, field in kind.fields.items()
            if isinstance(field.type, GraphQLNonNull) or takes_id(field.type)
        }
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    assert isinstance(kind, GraphQLScalarType)
    return chosen if kind.name == "ID" else SCALARS.get(kind.name, "x")


def takes_id(kind: Any, seen: frozenset[str] = frozenset()) -> bool:
    named = get_named_type(kind)
    if isinstance(named, GraphQLScalarType):
        return named.name == "ID"
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        return any(takes_id(f.type, seen | {named.name}) for f in named.fields.values())
    return False


def id_slots(kind: Any, name: str, seen: frozenset[str] = frozenset()) -> list[str]:
    named = get_named_type(kind)
    if isinstance(named, GraphQLScalarType):
        return [name] if named.name == "ID" else []
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        return [s for field_name, f in named.fields.items() for s in id_slots(f.type, field_name, seen | {named.name})]
    return []




def normalised(body: dict[str, Any], *ids: str) -> str:
    text = repr(body)
    for global_id in sorted(ids, key=len, reverse=True):  # one id may begin with the other
        text = text.replace(global_id, "<id>")
    return text


@pytest.fixture
def settings(settings: Any) -> Any:
    # thousands of requests a minute with one token, for minutes on a busy machine: no
    # rate limits, and no sweep writing meanwhile (what changes must be the requests' doing)
    return without_rate_limits(settings).model_copy(update={"health_sweep_seconds": 0, "schedule_seconds": 0})


@pytest.fixture
async def elsewhere(app: Any, database: Any, clock: Any, settings: Any) -> dict[str, str]:
    """One global id per node type of the demo organisation (the other one)."""
    async with database.transaction() as session:
        await seed(session, clock.now(), app.state.runtime.plugins, settings)
    async with database.session() as session:
        demo = await session.scalar(select(Membership.organization_id).join(User).where(User.email.like("%@demo.test")))
    found = {type_name: ids[0] for type_name, ids in (await node_ids(database, demo)).items()}
    assert {"Project", "Task", "Milestone", "Process", "ProcessRun", "User", "Team"} <= set(found)
    return found


async def test_no_id_of_another_organisation_answers_differently_from_a_missing_one(app, gql, acme, database, elsewhere):
    schema = build_schema(app.state.runtime.plugins)._schema
    token = acme[Role.OWNER]
    await warm_up(gql, token)
    before = await snapshot(database)
    checked, leaks = 0, []
    for root in ("Query", "Mutation"):
        for name, field in schema.get_type(root).fields.items():
            slots = [s for arg_name, arg in field.args.items() for s in id_slots(arg.type, arg_name)]
            if not slots:
                continue
            candidates = set.union(*(slot_types(s, set(elsewhere)) for s in slots)) & set(elsewhere)
            for type_name in sorted(candidates):
                theirs, nothing = elsewhere[type_name], encode_id(type_name, MISSING)
                answers = []
                for chosen in (theirs, nothing):
                    variables = {a: value(arg.type, a, chosen) for a, arg in field.args.items() if isinstance(arg.type, GraphQLNonNull) or takes_id(arg.type)}
                    answers.append(await gql(document(root, name, field), variables, token=token))
                assert "INTERNAL" not in repr(answers), (name, type_name, answers)
                if normalised(answers[0], theirs, nothing) != normalised(answers[1], theirs, nothing):
                    leaks.append((f"{root}.{name}", type_name, answers))
                checked += 1
    assert leaks == []
    assert checked > 100  # the walk reached the schema, plugins' mutations included
    assert await snapshot(database) == before
