from __future__ import annotations

from sqlalchemy import func, select

from mcgraph.db.models import Event, Health, Project
from mcgraph.demo import seed
from mcgraph.automation.sweeps import refresh_all_health

PORTFOLIO = """{ portfolio { byHealth { health count } atRisk { key } offTrack { key health { reasons { code message } } } }
  viewer { organization { members(first: 1) { totalCount } } } }"""


async def _seed(app, database, clock) -> str:
    runtime = app.state.runtime
    async with database.transaction() as session:
        return await seed(session, clock.now(), runtime.plugins, runtime.settings)


async def test_demo_has_projects_in_every_health(app, database, clock, gql):
    token = await _seed(app, database, clock)
    data = await gql.data(PORTFOLIO, token=token)
    counts = {row["health"]: row["count"] for row in data["portfolio"]["byHealth"]}
    assert counts == {"ON_TRACK": 2, "AT_RISK": 1, "OFF_TRACK": 1}, data
    assert [p["key"] for p in data["portfolio"]["offTrack"]] == ["ERP"]
    assert "OVER_BUDGET" in {r["code"] for r in data["portfolio"]["offTrack"][0]["health"]["reasons"]}
    assert data["viewer"]["organization"]["members"]["totalCount"] == 6


async def test_seeding_twice_adds_no_second_set_of_projects(app, database, clock, gql):
    await _seed(app, database, clock)
    token = await _seed(app, database, clock)
    data = await gql.data("{ projects(first: 50) { totalCount } }", token=token)
    assert data["projects"]["totalCount"] == 5

async def test_sweep_records_health_changes_as_time_passes(app, database, clock):
    await _seed(app, database, clock)
    runtime = app.state.runtime
    assert await refresh_all_health(runtime) == 0  # nothing changed since seeding
    clock.advance(days=45)
    changed = await refresh_all_health(runtime)
    async with database.session() as session:
        web = await session.scalar(select(Project).where(Project.key == "WEB"))
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "project.health_changed", Event.occurred_at == clock.now())
        )
    assert web.health == Health.OFF_TRACK
    assert changed == events >= 1
    assert await refresh_all_health(runtime) == 0  # a second sweep finds nothing new
