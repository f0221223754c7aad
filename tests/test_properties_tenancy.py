"""Organisation scoping is a net under every ORM statement, whatever its writer forgot.

The oracle: an ORM SELECT, UPDATE or DELETE run in a session of one organisation touches
exactly the rows of that organisation its own WHERE picks, never another's, for every
model with an ``organization_id`` (plugins' included). The statements are generated over
the product of models, statement kinds and WHERE clauses (none, this organisation, the
other one, either), which is small enough to try whole. Two organisations are seeded
with the demo data, so that most models have rows in both.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError

from mcgraph import demo
from mcgraph.db import Database
from mcgraph.db.base import Base, OrgScoped
from mcgraph.db.models import ApiToken, Membership, Organization
from mcgraph.testing import issue_token

KINDS = ("select", "update", "delete")
WHERES = ("none", "own", "other", "either")


class Rollback(Exception):
    """Raised to undo a statement once its rows are counted."""


def scoped_models() -> list[type]:
    return sorted(
        (mapper.class_ for mapper in Base.registry.mappers if issubclass(mapper.class_, OrgScoped)),
        key=lambda model: model.__name__,
    )


@pytest.fixture
async def two_organisations(app: Any, database: Database, clock: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    plugins = app.state.runtime.plugins
    for slug in ("demo", "other-demo"):
        monkeypatch.setattr(demo, "DEMO_ORG", slug)
        async with database.transaction() as session:
            await demo.seed(session, clock.now(), plugins, settings)
    async with database.session() as session:
        ids = dict((await session.execute(select(Organization.slug, Organization.id))).all())
    return ids["demo"], ids["other-demo"]


def where(model: type, which: str, own: int, other: int) -> list[Any]:
    column = model.organization_id
    return {
        "none": [],
        "own": [column == own],
        "other": [column == other],
        "either": [column.in_([own, other])],
    }[which]


async def rows_of(database: Database, model: type) -> dict[int, int]:
    """Rows per organisation, counted without the ORM (no scoping can apply)."""
    table = model.__table__.name
    async with database.session() as session:
        result = await session.execute(text(f'SELECT organization_id, COUNT(*) FROM "{table}" GROUP BY organization_id'))
        return {organization_id: count for organization_id, count in result.all()}


async def touched(database: Database, model: type, kind: str, own: int, clauses: list[Any]) -> int | None:
    """Rows the statement touches in ``own``'s session (undone); None when a constraint refuses it."""
    if kind == "select":
        async with database.session(own) as session:
            return len((await session.scalars(select(model).where(*clauses))).all())
    statement = (
        update(model).where(*clauses).values(organization_id=model.organization_id)
        if kind == "update"
        else delete(model).where(*clauses)
    )
    try:
        async with database.transaction(own) as session:
            count = (await session.execute(statement.execution_options(synchronize_session=False))).rowcount
            raise Rollback(count)
    except Rollback as undone:
        return undone.args[0]
    except IntegrityError:  # a row of another table refers to one of these: nothing was deleted
        return None


async def test_every_orm_statement_of_an_organisation_touches_only_its_rows(database, two_organisations):
    own, other = two_organisations
    models = scoped_models()
    counts = {model: await rows_of(database, model) for model in models}
    in_both = [model.__name__ for model in models if counts[model].get(own) and counts[model].get(other)]
    assert len(in_both) >= 12, in_both  # the check is not vacuous: most models have rows on both sides

    wrong, refused = [], 0
    for model, kind, which, (a, b) in product(models, KINDS, WHERES, [(own, other), (other, own)]):
        expected = 0 if which == "other" else counts[model].get(a, 0)
        got = await touched(database, model, kind, a, where(model, which, a, b))
        if got is None:
            refused += 1
            continue
        if got != expected:
            wrong.append((model.__name__, kind, which, got, expected))
        if kind == "delete":
            assert await rows_of(database, model) == counts[model]  # undone
    assert wrong == []
    assert refused < len(models) * len(WHERES)  # most deletes ran


async def test_an_unfiltered_update_or_delete_in_one_organisation_leaves_the_others_rows(database):
    await issue_token(database, "acme", "owner@acme.test", "owner")
    await issue_token(database, "globex", "owner@globex.test", "owner")
    async with database.session() as session:
        ids = dict((await session.execute(select(Organization.slug, Organization.id))).all())
    acme, globex = ids["acme"], ids["globex"]

    async with database.transaction(acme) as session:
        await session.execute(update(ApiToken).values(name="renamed"))
    async with database.session() as session:
        names = dict((await session.execute(select(ApiToken.organization_id, ApiToken.name))).all())
    assert names[acme] == "renamed" and names[globex] != "renamed"

    async with database.transaction(acme) as session:
        await session.execute(delete(ApiToken))
    async with database.session() as session:
        left = (await session.execute(select(ApiToken.organization_id, func.count()).group_by(ApiToken.organization_id))).all()
        members = await session.scalar(select(func.count()).select_from(Membership))
    assert dict(left) == {globex: 1}
    assert members == 2
