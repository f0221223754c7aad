"""Data versions: which transactions count as a change of which organisation."""

from __future__ import annotations

from sqlalchemy import select, update

from mcgraph.db import Database
from mcgraph.db import versions
from mcgraph.db.models import ApiToken, Event, Membership, Organization, User
from mcgraph.testing import issue_token


async def _organizations(database: Database) -> tuple[int, int]:
    await issue_token(database, "acme", "owner@acme.test", "owner")
    await issue_token(database, "globex", "owner@globex.test", "owner")
    async with database.session() as session:
        ids = {slug: id_ for slug, id_ in await session.execute(select(Organization.slug, Organization.id))}
    return ids["acme"], ids["globex"]


async def _versions(database: Database, *organizations: int) -> tuple[int, ...]:
    async with database.session() as session:
        return tuple([await versions.current(session, organization) for organization in organizations])


async def test_a_write_of_one_organisation_changes_its_version_only(database: Database) -> None:
    acme, globex = await _organizations(database)
    before = await _versions(database, acme, globex)
    async with database.transaction(acme) as session:
        await session.execute(update(ApiToken).values(name="renamed"))
    after = await _versions(database, acme, globex)
    assert after[0] > before[0]
    assert after[1] == before[1]
    # the statement names no organisation: the session's scoping kept it to acme's rows
    async with database.session() as session:
        names = dict((await session.execute(select(ApiToken.organization_id, ApiToken.name))).all())
    assert names[acme] == "renamed" and names[globex] != "renamed"


async def test_reads_and_rolled_back_writes_change_nothing(database: Database) -> None:
    acme, globex = await _organizations(database)
    before = await _versions(database, acme, globex)
    async with database.transaction(acme) as session:
        await session.scalars(select(ApiToken))
    try:
        async with database.transaction(acme) as session:
            await session.execute(update(ApiToken).values(name="renamed"))
            raise LookupError("undo")
    except LookupError:
        pass
    assert await _versions(database, acme, globex) == before


async def test_a_statement_of_no_organisation_changes_every_one_unless_its_writer_names_them(database: Database) -> None:
    acme, globex = await _organizations(database)
    before = await _versions(database, acme, globex)
    async with database.transaction() as session:
        await session.execute(update(ApiToken).where(ApiToken.organization_id == acme).values(name="renamed"))
    unnamed = await _versions(database, acme, globex)
    assert unnamed[0] > before[0] and unnamed[1] > before[1]

    async with database.transaction() as session:
        await session.execute(update(ApiToken).where(ApiToken.organization_id == acme).values(name="again"))
        versions.changed(session, acme)
    named = await _versions(database, acme, globex)
    assert named[0] > unnamed[0]
    assert named[1] == unnamed[1]


async def test_a_statement_that_changes_no_row_changes_no_version(database: Database) -> None:
    acme, globex = await _organizations(database)
    before = await _versions(database, acme, globex)
    async with database.transaction() as session:
        await session.execute(update(ApiToken).where(ApiToken.id == -1).values(name="nobody"))
    assert await _versions(database, acme, globex) == before


async def test_a_flushed_row_changes_its_own_organisation(database: Database) -> None:
    acme, globex = await _organizations(database)
    before = await _versions(database, acme, globex)
    async with database.transaction() as session:
        token = await session.scalar(select(ApiToken).where(ApiToken.organization_id == globex))
        token.name = "renamed"
    after = await _versions(database, acme, globex)
    assert after[0] == before[0]
    assert after[1] > before[1]


async def test_users_belong_to_every_organisation(database: Database) -> None:
    acme, globex = await _organizations(database)
    before = await _versions(database, acme, globex)
    async with database.transaction(acme) as session:
        user = await session.scalar(select(User).where(User.email == "owner@acme.test"))
        user.name = "Renamed"
    after = await _versions(database, acme, globex)
    assert after[0] > before[0] and after[1] > before[1]


async def test_bookkeeping_changes_nothing(database: Database) -> None:
    acme, globex = await _organizations(database)
    before = await _versions(database, acme, globex)
    async with database.transaction(bookkeeping=True) as session:
        await session.execute(update(Event).values(published_at=None))
        await session.execute(update(ApiToken).values(name="renamed"))
    assert await _versions(database, acme, globex) == before


async def test_a_savepoint_undone_keeps_the_changes_before_it_counted(database: Database) -> None:
    acme, globex = await _organizations(database)
    before = await _versions(database, acme, globex)
    async with database.transaction(acme) as session:
        await session.execute(update(ApiToken).values(name="kept"))
        try:
            async with session.begin_nested():
                await session.execute(update(ApiToken).values(name="undone"))
                raise LookupError("undo")
        except LookupError:
            pass
    after = await _versions(database, acme, globex)
    assert after[0] > before[0]
    assert after[1] == before[1]
    async with database.session() as session:
        assert set(await session.scalars(select(ApiToken.name).where(ApiToken.organization_id == acme))) == {"kept"}


async def _access(database: Database, organization: int) -> tuple[int, int]:
    async with database.session() as session:
        return await versions.versions_of(session, organization)


async def test_only_changes_to_who_may_do_what_change_the_access_version(database: Database) -> None:
    acme, globex = await _organizations(database)
    data, access = await _access(database, acme)
    async with database.transaction(acme) as session:
        await session.execute(update(Event).values(type="renamed"))  # the organisation's data
    after = await _access(database, acme)
    assert after[0] > data and after[1] == access

    for statement in (
        update(ApiToken).values(revoked_at=ApiToken.created_at),  # a token revoked
        update(Membership).values(role="viewer"),  # a role changed
    ):
        data, access = after
        async with database.transaction(acme) as session:
            await session.execute(statement.where(statement.table.c.organization_id == acme))
        after = await _access(database, acme)
        assert after[0] > data and after[1] > access

    other = await _access(database, globex)
    async with database.transaction() as session:  # a user's row is every organisation's
        await session.execute(update(User).values(email=User.email))
    assert (await _access(database, globex))[1] > other[1]
