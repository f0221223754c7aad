"""Two sprints of an agile project through GraphQL: commitment, burndown day by day,
scope creep in the health, completion, velocity, the backlog and the release gate."""

from __future__ import annotations

from typing import Any

SPRINT = """id number name state startDate endDate committedPoints completedPoints scopeAddedPoints
  tasks { title points done addedAfterStart } burndown { date remainingPoints idealPoints }"""
PROJECT = f"""query($id: ID!) {{ project(id: $id) {{
  sprints {{ number state }} activeSprint {{ {SPRINT} }}
  velocity {{ average completedPoints sprints {{ number }} }} lastOne: velocity(last: 1) {{ average }}
  backlog {{ taskId title points }}
  health {{ computed reasons {{ code health value threshold }} }} }} }}"""
SPRINT_Q = f"query($id: ID!) {{ node(id: $id) {{ ... on Sprint {{ {SPRINT} }} }} }}"


async def task(client: Any, project: str, title: str, points: float) -> str:
    created = await client.mutate("createTask", {"projectId": project, "title": title, "points": points}, "task { id }")
    return created["task"]["id"]


async def finish(client: Any, task_id: str) -> None:
    await client.mutate("setTaskState", {"taskId": task_id, "state": "done"}, "task { id }")


async def view(client: Any, project: str) -> dict[str, Any]:
    return (await client.data(PROJECT, {"id": project}))["project"]


async def sprint(client: Any, sprint_id: str) -> dict[str, Any]:
    return (await client.data(SPRINT_Q, {"id": sprint_id}))["node"]


def remaining(s: dict[str, Any]) -> list[float | None]:
    return [day["remainingPoints"] for day in s["burndown"]]


def codes(p: dict[str, Any]) -> set[str]:
    return {r["code"] for r in p["health"]["reasons"]}


async def test_two_sprints_commit_burn_down_creep_and_give_a_velocity(mcgraph_client, mcgraph_clock):
    client = mcgraph_client
    project = (
        await client.mutate(
            "createProject",
            {"key": "AG", "name": "Agile app", "methodology": "agile", "startDate": "2026-03-02", "targetEndDate": "2026-06-30"},
            "project { id }",
        )
    )["project"]["id"]
    a, b, c, d = [await task(client, project, title, pts) for title, pts in (("A", 5), ("B", 3), ("C", 8), ("D", 4))]
    assert [i["title"] for i in (await view(client, project))["backlog"]] == ["A", "B", "C", "D"]

    created = await client.mutate(
        "createSprint",
        {"projectId": project, "name": "Sprint 1", "goal": "Sign-in", "startDate": "2026-03-02", "endDate": "2026-03-06"},
        "sprint { id number state committedPoints }",
    )
    first = created["sprint"]["id"]
    assert created["sprint"] == {"id": first, "number": 1, "state": "PLANNED", "committedPoints": None}
    await client.mutate("addTasksToSprint", {"sprintId": first, "taskIds": [a, b, c, d]})
    assert (await view(client, project))["backlog"] == []

    started = await client.mutate("startSprint", {"sprintId": first}, "sprint { state committedPoints }")
    assert started["sprint"] == {"state": "ACTIVE", "committedPoints": 20.0}

    await finish(client, a)  # Monday
    mcgraph_clock.advance(days=1)
    await finish(client, b)  # Tuesday, and E joins mid-sprint: 3 of 20 points, 15%
    e = await task(client, project, "E", 3)
    await client.mutate("addTasksToSprint", {"sprintId": first, "taskIds": [e]})
    p = await view(client, project)
    active = p["activeSprint"]
    assert active["scopeAddedPoints"] == 3.0
    assert [(t["title"], t["addedAfterStart"]) for t in active["tasks"]] == [("A", False), ("B", False), ("C", False), ("D", False), ("E", True)]
    creep = next(r for r in p["health"]["reasons"] if r["code"] == "AGILE_SCOPE_CREEP")
    assert creep == {"code": "AGILE_SCOPE_CREEP", "health": "AT_RISK", "value": 0.15, "threshold": 0.1}
    assert p["health"]["computed"] in ("AT_RISK", "OFF_TRACK")
    assert remaining(active) == [15.0, 15.0, None, None, None]

    mcgraph_clock.advance(days=1)  # Wednesday: nothing done
    assert remaining(await sprint(client, first)) == [15.0, 15.0, 15.0, None, None]
    mcgraph_clock.advance(days=1)  # Thursday
    await finish(client, c)
    day_by_day = await sprint(client, first)
    assert remaining(day_by_day) == [15.0, 15.0, 15.0, 7.0, None]
    assert [day["idealPoints"] for day in day_by_day["burndown"]] == [20.0, 15.0, 10.0, 5.0, 0.0]
    assert [day["date"] for day in day_by_day["burndown"]] == ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"]

    await client.mutate("setTaskState", {"taskId": d, "state": "in_progress"}, "task { id }")  # started, not finished
    done = await client.mutate("completeSprint", {"sprintId": first}, "sprint { state completedPoints }")
    assert done["sprint"] == {"state": "COMPLETED", "completedPoints": 16.0}
    p = await view(client, project)
    assert p["activeSprint"] is None
    assert [(i["title"], i["points"]) for i in p["backlog"]] == [("D", 4.0), ("E", 3.0)]
    states = await client.data("query($id: ID!) { project(id: $id) { tasks(first: 10) { nodes { title state { key } } } } }", {"id": project})
    assert {t["title"]: t["state"]["key"] for t in states["project"]["tasks"]["nodes"]}["D"] == "backlog"  # unfinished: back in the backlog
    assert p["velocity"] == {"average": 16.0, "completedPoints": [16.0], "sprints": [{"number": 1}]}
    assert not codes(p) & {"AGILE_SCOPE_CREEP", "AGILE_VELOCITY_SHORTFALL"}  # 16 of 20 is 80%: no shortfall
    mcgraph_clock.advance(days=1)  # Friday: the completed sprint's burndown stops where it completed
    assert remaining(await sprint(client, first)) == [15.0, 15.0, 15.0, 7.0, None]

    mcgraph_clock.advance(days=3)  # Monday 9 March
    f = await task(client, project, "F", 13)
    second = (
        await client.mutate(
            "createSprint", {"projectId": project, "startDate": "2026-03-09", "endDate": "2026-03-13"}, "sprint { id name number }"
        )
    )["sprint"]
    assert (second["name"], second["number"]) == ("Sprint 2", 2)
    await client.mutate("addTasksToSprint", {"sprintId": second["id"], "taskIds": [d, e, f]})
    await client.mutate("startSprint", {"sprintId": second["id"]})
    p = await view(client, project)
    assert p["activeSprint"]["committedPoints"] == 20.0
    over = next(r for r in p["health"]["reasons"] if r["code"] == "AGILE_OVERCOMMITTED")  # 20 against a velocity of 16
    assert over == {"code": "AGILE_OVERCOMMITTED", "health": "AT_RISK", "value": 1.25, "threshold": 1.2}

    await finish(client, d)
    await finish(client, f)
    mcgraph_clock.advance(days=4)
    await client.mutate("completeSprint", {"sprintId": second["id"]})
    p = await view(client, project)
    assert p["velocity"] == {"average": 16.5, "completedPoints": [16.0, 17.0], "sprints": [{"number": 1}, {"number": 2}]}
    assert p["lastOne"] == {"average": 17.0}
    assert p["sprints"] == [{"number": 1, "state": "COMPLETED"}, {"number": 2, "state": "COMPLETED"}]
    assert [i["title"] for i in p["backlog"]] == ["E"]

    types = ["agile.sprint_created", "agile.sprint_started", "agile.sprint_completed"]
    kinds = await client.data("query($t: [String!]) { events(first: 50, types: $t) { nodes { type data } } }", {"t": types})
    events = kinds["events"]["nodes"]
    assert sorted(ev["type"] for ev in events) == sorted(types * 2)
    completed = [ev["data"] for ev in events if ev["type"] == "agile.sprint_completed"]
    assert {(ev["number"], ev["completed_points"]) for ev in completed} == {(1, 16.0), (2, 17.0)}
