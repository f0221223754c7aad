"""Project health as time passes, with a frozen clock moved by the test.

Project WEB runs 2026-03-02..2026-03-31 (29 days). Its four tasks of 40 hours (5 days)
each form a finish-to-start chain:

    WEB-1 Design  due 03-06     WEB-2 Build  due 03-13
    WEB-3 Test    due 03-20     WEB-4 Launch due 03-27

Design is finished on the first day, so progress stays at 40/160 = 25%, and 15 days of
work remain. The forecast end is today + 15 days.

    today   elapsed         gap    overdue           forecast (slip)   health
    03-02   0/29  =   0%      -    0                 03-17 (-14)       ON_TRACK
    03-09   7/29  =  24%  < 10     0                 03-24 (-7)        ON_TRACK
    03-16   14/29 =  48%   23 pt   1 (Build)         03-31 (0)         AT_RISK: behind (> 10 pt), 1 overdue
    03-23   21/29 =  72%   47 pt   2 (Build, Test)   04-07 (7)         OFF_TRACK: behind (> 25 pt), 7 days late; 2 overdue
    04-04   capped 100%    75 pt   3                 04-19 (19)        OFF_TRACK, and 4 days past the target end
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from mcgraph.db import models as m
from mcgraph.db.models import Role
from tests.project_helpers import create_project, create_task, events_of, mutate, pk, project_by_key, succeed, viewer_id

HEALTH = "progress health { health computed reasons { code health message value } override { health note at by { email } } }"

JOURNEY = [
    (date(2026, 3, 2), 0.25, "ON_TRACK", []),
    (date(2026, 3, 9), 0.25, "ON_TRACK", []),
    (
        date(2026, 3, 16), 0.25, "AT_RISK",
        [
            ("BEHIND_SCHEDULE", "AT_RISK", "behind schedule: 25% done at 48% of the time"),
            ("OVERDUE_TASKS", "AT_RISK", "1 overdue task"),
        ],
    ),
    (
        date(2026, 3, 23), 0.25, "OFF_TRACK",
        [
            ("BEHIND_SCHEDULE", "OFF_TRACK", "behind schedule: 25% done at 72% of the time"),
            ("LATE_FORECAST", "OFF_TRACK", "critical path ends 7 days after the target end"),
            ("OVERDUE_TASKS", "AT_RISK", "2 overdue tasks"),
        ],
    ),
    (
        date(2026, 4, 4), 0.25, "OFF_TRACK",
        [
            ("BEHIND_SCHEDULE", "OFF_TRACK", "behind schedule: 25% done at 100% of the time"),
            ("LATE_FORECAST", "OFF_TRACK", "critical path ends 19 days after the target end"),
            ("PAST_TARGET_END", "OFF_TRACK", "past the target end by 4 days with 3 open tasks"),
            ("OVERDUE_TASKS", "AT_RISK", "3 overdue tasks"),
        ],
    ),
]


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


async def plan(gql: Any, token: str) -> dict[str, str]:
    project = await create_project(gql, token, "WEB", startDate="2026-03-02", targetEndDate="2026-03-31")
    ids = {"project": project["id"]}
    previous = None
    for title, due in [("Design", "2026-03-06"), ("Build", "2026-03-13"), ("Test", "2026-03-20"), ("Launch", "2026-03-27")]:
        ids[title] = (await create_task(gql, token, project["id"], title, estimateHours=40, dueDate=due))["id"]
        if previous:
            await succeed(gql, "addDependency", {"predecessorId": ids[previous], "successorId": ids[title]}, token)
        previous = title
    await succeed(gql, "setTaskState", {"taskId": ids["Design"], "state": "done"}, token)
    return ids


async def health(gql: Any, token: str) -> dict[str, Any]:
    project = await project_by_key(gql, token, "WEB", HEALTH)
    assert project is not None
    return project


async def test_health_follows_the_clock(gql, acme, clock):
    token = acme[Role.MANAGER]
    await plan(gql, token)

    for day, progress, verdict, reasons in JOURNEY:
        clock.set(at(day))
        project = await health(gql, acme[Role.VIEWER])
        assert project["progress"] == progress, day
        assert (project["health"]["health"], project["health"]["computed"]) == (verdict, verdict), day
        assert [(r["code"], r["health"], r["message"]) for r in project["health"]["reasons"]] == reasons, day


async def test_reason_values_are_in_the_documented_units(gql, acme, clock):
    await plan(gql, acme[Role.MANAGER])
    clock.set(at(date(2026, 4, 4)))

    reasons = {r["code"]: r["value"] for r in (await health(gql, acme[Role.MEMBER]))["health"]["reasons"]}

    assert reasons == {"BEHIND_SCHEDULE": 0.75, "LATE_FORECAST": 19.0, "PAST_TARGET_END": 4.0, "OVERDUE_TASKS": 3.0}


async def test_finishing_the_work_brings_the_project_back_on_track(gql, acme, clock):
    token = acme[Role.MEMBER]
    ids = await plan(gql, acme[Role.MANAGER])
    clock.set(at(date(2026, 3, 23)))
    assert (await health(gql, token))["health"]["health"] == "OFF_TRACK"

    for title in ("Build", "Test", "Launch"):
        await succeed(gql, "setTaskState", {"taskId": ids[title], "state": "done"}, token)

    project = await health(gql, token)
    assert project["progress"] == 1.0
    assert project["health"]["health"] == "ON_TRACK" and project["health"]["reasons"] == []


@pytest.mark.parametrize(
    ("spent", "labour_minutes", "verdict", "message"),
    [
        ("10500.00", 0, "ON_TRACK", None),  # exactly 5% over is not more than 5%
        ("10600.00", 0, "AT_RISK", "cost 6% over budget"),
        ("11500.00", 0, "AT_RISK", "cost 15% over budget"),
        ("11800.00", 0, "OFF_TRACK", "cost 18% over budget"),
        ("10600.00", 24 * 60, "OFF_TRACK", "cost 18% over budget"),  # plus 24 h at 50 an hour
    ],
)
async def test_cost_over_budget(gql, acme, database, spent, labour_minutes, verdict, message):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB", plannedBudget="10000")
    task = await create_task(gql, token, project["id"], "Work")
    member = await viewer_id(gql, acme[Role.MEMBER])
    await succeed(gql, "setProjectMember", {"projectId": project["id"], "userId": member, "hourlyRate": "50"}, token)
    async with database.transaction() as session:
        row = await session.get(m.Project, pk(project["id"]))
        session.add(m.CostEntry(organization_id=row.organization_id, project_id=row.id, amount=Decimal(spent), incurred_on=date(2026, 3, 2)))
        if labour_minutes:
            session.add(
                m.TimeEntry(
                    organization_id=row.organization_id, project_id=row.id, task_id=pk(task["id"]),
                    user_id=pk(member), minutes=labour_minutes, spent_on=date(2026, 3, 2),
                )
            )

    found = await project_by_key(gql, token, "WEB", f"actualCost {HEALTH}")

    assert Decimal(found["actualCost"]) == Decimal(spent) + Decimal(labour_minutes * 50 // 60)
    assert found["health"]["health"] == verdict
    assert [r["message"] for r in found["health"]["reasons"]] == ([message] if message else [])


OVERRIDE = "overrideProjectHealth"


async def test_a_manager_override_shows_beside_the_computed_health(gql, acme, clock, database):
    token = acme[Role.MANAGER]
    ids = await plan(gql, token)
    clock.set(at(date(2026, 3, 23)))

    payload = await succeed(gql, OVERRIDE, {"projectId": ids["project"], "health": "AT_RISK", "note": "Client moved the launch"}, token)
    assert payload["project"]["health"]["health"] == "AT_RISK"

    shown = await health(gql, acme[Role.VIEWER])
    assert (shown["health"]["health"], shown["health"]["computed"]) == ("AT_RISK", "OFF_TRACK")
    assert shown["health"]["override"] == {
        "health": "AT_RISK", "note": "Client moved the launch", "at": "2026-03-23T09:00:00+00:00", "by": {"email": "manager@acme.test"}
    }
    assert len(shown["health"]["reasons"]) == 3  # the reasons are still those of the computed health
    (event,) = await events_of(database, "project.health_overridden")
    assert event.data["changes"]["health_override"] == [None, "at_risk"]

    cleared = await succeed(gql, OVERRIDE, {"projectId": ids["project"], "health": None}, token)
    assert cleared["project"]["health"] == {"health": "OFF_TRACK", "computed": "OFF_TRACK", "override": None}


@pytest.mark.parametrize("note", [None, "", "   "])
async def test_an_override_needs_a_note(gql, acme, database, note):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB")

    payload = await mutate(gql, OVERRIDE, {"projectId": project["id"], "health": "OFF_TRACK", "note": note}, token)

    assert payload["project"] is None
    assert payload["userErrors"] == [{"field": ["note"], "message": "Say why you override the health: a note is required.", "code": "REQUIRED"}]
    assert (await health(gql, token))["health"]["override"] is None
    assert await events_of(database, "project.health_overridden") == []


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
async def test_only_managers_override_health(gql, acme, role):
    project = await create_project(gql, acme[Role.MANAGER], "WEB")

    body = await gql(
        f"mutation($input: OverrideProjectHealthInput!) {{ {OVERRIDE}(input: $input) {{ userErrors {{ code }} }} }}",
        {"input": {"projectId": project["id"], "health": "OFF_TRACK", "note": "Looks bad"}},
        token=acme[role],
    )

    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert body["data"] is None
    assert (await health(gql, acme[Role.MANAGER]))["health"]["override"] is None


async def test_a_health_change_through_a_mutation_writes_one_event(gql, acme, clock, database):
    token = acme[Role.MANAGER]
    ids = await plan(gql, token)
    manager = pk(await viewer_id(gql, token))
    assert await events_of(database, "project.health_changed") == []

    clock.set(at(date(2026, 3, 16)))
    assert (await health(gql, token))["health"]["health"] == "AT_RISK"
    assert await events_of(database, "project.health_changed") == [], "reading writes nothing"

    await succeed(gql, "updateTask", {"taskId": ids["Launch"], "description": "Press release too"}, token)
    await succeed(gql, "updateTask", {"taskId": ids["Launch"], "description": "Press release and mail"}, token)
    clock.set(at(date(2026, 3, 23)))
    await succeed(gql, "setTaskState", {"taskId": ids["Build"], "state": "in_progress"}, token)

    changes = [
        (e.project_id, e.actor_id, e.occurred_at, e.data["changes"]["health"], [r["code"] for r in e.data["reasons"]])
        for e in await events_of(database, "project.health_changed")
    ]
    project = pk(ids["project"])
    assert changes == [
        (project, manager, at(date(2026, 3, 16)), ["on_track", "at_risk"], ["BEHIND_SCHEDULE", "OVERDUE_TASKS"]),
        (project, manager, at(date(2026, 3, 23)), ["at_risk", "off_track"], ["BEHIND_SCHEDULE", "LATE_FORECAST", "OVERDUE_TASKS"]),
    ]
    stored = await gql.data("{ projects(where: {healths: [OFF_TRACK]}) { nodes { key } } }", token=token)
    assert stored["projects"]["nodes"] == [{"key": "WEB"}]
