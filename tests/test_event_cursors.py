"""Event cursors and event ids count one organisation's events only.

A cursor or an Event id that counted every organisation's events would let a tenant
watch another's activity: the step between two of its own events would be the number
of events everybody else wrote in between.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from mcgraph.api.ids import encode_id
from mcgraph.db.migrate import upgrade
from mcgraph.db.models import Role
from tests.live import Http, open_socket
from tests.project_helpers import create_project, create_task, succeed
from tests.test_automations import RETRY, agql, auto_app, create_rule, runs, settled  # noqa: F401 - agql, auto_app: fixtures
from tests.test_subscriptions import create_project as live_project
from tests.test_subscriptions import create_tasks as live_tasks

EVENTS = """query($after: String) { events(after: $after, first: 100) { nodes { id type cursor } } }"""
LATEST = "{ latestEventCursor }"
NODE = "query($id: ID!) { node(id: $id) { ... on Event { id type cursor } } }"
LIVE_EVENTS = "subscription($after: String) { events(after: $after) { id type cursor } }"
OTHERS = 7  # changes of the other organisation between two of ours


async def _events(gql, token: str, after: str | None = None) -> list[dict]:
    return (await gql.data(EVENTS, {"after": after}, token=token))["events"]["nodes"]


async def test_another_organisations_changes_do_not_move_our_cursors_or_ids(gql, acme, globex):
    mine, theirs = acme[Role.MANAGER], globex[Role.MANAGER]
    project = await create_project(gql, mine, "WEB")
    (first,) = await _events(gql, mine)
    their_project = await create_project(gql, theirs, "WEB")
    for n in range(OTHERS):
        await create_task(gql, theirs, their_project["id"], f"Theirs {n}")
    await create_task(gql, mine, project["id"], "Ours")

    following = int(first["cursor"]) + 1
    created = await _events(gql, acme[Role.VIEWER], first["cursor"])
    assert [(e["type"], e["cursor"]) for e in created] == [("task.created", str(following))]
    assert created[0]["id"] == encode_id("Event", following)
    assert (await gql.data(LATEST, token=acme[Role.VIEWER]))["latestEventCursor"] == str(following)
    node = (await gql.data(NODE, {"id": created[0]["id"]}, token=acme[Role.VIEWER]))["node"]
    assert node == created[0]
    # the other organisation counts its own: its log reads 1, 2, ... too
    assert [int(e["cursor"]) for e in await _events(gql, globex[Role.VIEWER])] == list(range(1, OTHERS + 2))


async def test_a_cursor_past_the_organisations_log_is_refused(gql, acme, globex):
    await create_project(gql, globex[Role.MANAGER], "WEB")
    await create_task(gql, globex[Role.MANAGER], (await create_project(gql, globex[Role.MANAGER], "OPS"))["id"], "T")
    await create_project(gql, acme[Role.MANAGER], "WEB")
    # acme has one event: a cursor of globex's third names nothing in acme's log
    body = await gql(EVENTS, {"after": "3"}, token=acme[Role.VIEWER])
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await gql.data(EVENTS, {"after": "1"}, token=acme[Role.VIEWER]))["events"]["nodes"] == []


async def test_replay_after_interleaved_writes_returns_exactly_our_missed_events(live, acme, globex):
    mine, theirs = acme[Role.MANAGER], globex[Role.MANAGER]
    async with Http(live.url) as http:
        web = await live_project(http, mine, "WEB")
        rival = await live_project(http, theirs, "WEB")
        start = (await http.data(LATEST, token=mine))["latestEventCursor"]
        for round in range(3):  # ours and theirs, taking turns while we are away
            await live_tasks(http, mine, web, 2, f"Ours {round}.")
            await live_tasks(http, theirs, rival, OTHERS, f"Theirs {round}.")
        expected = [str(int(start) + n) for n in range(1, 7)]

        logged = (await http.data(EVENTS, {"after": start}, token=mine))["events"]["nodes"]
        assert [e["cursor"] for e in logged] == expected
        assert {e["type"] for e in logged} == {"task.created"}

        async with open_socket(live.url, acme[Role.VIEWER]) as sock:
            await sock.subscribe(LIVE_EVENTS, {"after": start})
            replayed = [r["events"] for r in await sock.results(6)]
            assert replayed == logged
            await live.listening(1)
            # live: the other organisation's changes move nothing we see
            await live_tasks(http, theirs, rival, OTHERS, "Theirs, live")
            await live_tasks(http, mine, web, 1, "Ours, live")
            following = (await sock.data())["events"]
            assert following["cursor"] == str(int(expected[-1]) + 1)
            assert following["id"] == encode_id("Event", int(following["cursor"]))


async def test_live_events_move_by_one_whatever_another_organisation_writes(live, acme, globex):
    mine, theirs = acme[Role.MANAGER], globex[Role.MANAGER]
    async with Http(live.url) as http, open_socket(live.url, acme[Role.VIEWER]) as sock:
        web = await live_project(http, mine, "WEB")
        rival = await live_project(http, theirs, "WEB")
        await sock.subscribe(LIVE_EVENTS, {"after": None})  # live only
        await live.listening(1)
        await live_tasks(http, mine, web, 1, "Ours first")
        await live_tasks(http, theirs, rival, OTHERS, "Theirs")
        await live_tasks(http, mine, web, 1, "Ours next")
        first, following = [r["events"] for r in await sock.results(2)]
    assert int(following["cursor"]) == int(first["cursor"]) + 1
    assert following["id"] == encode_id("Event", int(following["cursor"]))


async def test_the_migration_numbers_existing_events_per_organisation(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'numbered.db'}"
    upgrade(url, "8b41f0c2d9e3")
    engine = create_async_engine(url)
    event = sa.table("event", sa.column("id"), sa.column("organization_id"), sa.column("type"), sa.column("subject_type"),
                     sa.column("subject_id"), sa.column("data"), sa.column("occurred_at"))
    try:
        async with engine.begin() as conn:
            for org in (1, 2):
                await conn.execute(sa.text("INSERT INTO organization (id, slug, name, created_at) VALUES (:id, :slug, :slug, '2026-01-01')"),
                                   {"id": org, "slug": f"org{org}"})
            owners = [1, 2, 2, 1, 2, 2, 2, 1]  # interleaved, as two busy organisations write
            await conn.execute(event.insert(), [
                {"organization_id": org, "type": "task.created", "subject_type": "task", "subject_id": n, "data": "{}",
                 "occurred_at": "2026-01-01 00:00:00"} for n, org in enumerate(owners)
            ])
            # a retry recorded the run's event by its id (globally the 3rd, organisation 2's 2nd)
            await conn.execute(event.insert(), [{"organization_id": 2, "type": "automation_run.retried", "subject_type": "automation_run",
                                                 "subject_id": 1, "data": '{"rule_id": 1, "event_id": 3}', "occurred_at": "2026-01-01 00:00:00"}])
        upgrade(url)
        async with engine.begin() as conn:
            rows = (await conn.execute(sa.text("SELECT organization_id, org_seq FROM event ORDER BY id"))).all()
            assert rows == [(1, 1), (2, 1), (2, 2), (1, 2), (2, 3), (2, 4), (2, 5), (1, 3), (2, 6)]
            counters = dict((await conn.execute(sa.text("SELECT id, last_number FROM event_counter"))).all())
            assert counters == {1: 3, 2: 6}
            retried = (await conn.execute(sa.text("SELECT data FROM event WHERE type = 'automation_run.retried'"))).scalar_one()
            assert json.loads(retried) == {"rule_id": 1, "event_id": 2}
    finally:
        await engine.dispose()


RAISE = "mutation($i: RaiseEventInput!) { raiseEvent(input: $i) { eventId userErrors { code } } }"


async def test_automations_and_raised_events_name_events_by_the_organisations_numbers(agql, acme, globex):
    """What a rule's templates and webhooks see, what ``raiseEvent`` answers and what a retry records."""
    manager = acme[Role.MANAGER]
    their_project = await create_project(agql, globex[Role.MANAGER], "WEB")
    for n in range(OTHERS):  # globex's events come first: a number that counted them would be past 7
        await create_task(agql, globex[Role.MANAGER], their_project["id"], f"Theirs {n}")
    web = await create_project(agql, manager, "WEB")  # acme's event 1
    await create_rule(agql, manager, name="Bad state", actions=[
        {"type": "ADD_COMMENT", "params": {"body": "after event {{ event.id }}"}},
        {"type": "SET_TASK_STATE", "params": {"state": "shipped"}},  # no such state: the run is DEAD
    ])  # 2
    task = await create_task(agql, manager, web["id"], "T")  # 3
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)  # 4
    (run,) = await settled(agql, manager, 1)
    assert run["state"] == "DEAD" and run["event"] == {"type": "task.state_changed", "cursor": "4"}
    comments = "query($id: ID!) { node(id: $id) { ... on Task { comments(first: 5) { nodes { body } } } } }"
    bodies = (await agql.data(comments, {"id": task["id"]}, token=manager))["node"]["comments"]["nodes"]
    assert [c["body"] for c in bodies] == ["after event 4"]
    assert [r["id"] for r in await runs(agql, manager, eventId=encode_id("Event", 4))] == [run["id"]]
    assert await runs(agql, globex[Role.MANAGER], eventId=encode_id("Event", 4)) == []

    assert (await agql.data(RETRY, {"id": run["id"]}, token=manager))["retryAutomationRun"]["userErrors"] == []
    data = "query($after: String) { events(after: $after, types: [\"automation_run.retried\"]) { nodes { data } } }"
    (recorded,) = (await agql.data(data, {"after": "4"}, token=manager))["events"]["nodes"]
    assert recorded["data"]["event_id"] == 4

    raised = (await agql.data(RAISE, {"i": {"name": "employee.hired", "payload": {}}}, token=manager))["raiseEvent"]
    latest = (await agql.data(LATEST, token=manager))["latestEventCursor"]
    assert raised["userErrors"] == [] and raised["eventId"] == encode_id("Event", int(latest))
