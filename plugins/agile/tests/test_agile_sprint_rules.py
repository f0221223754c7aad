"""What the sprint mutations refuse, and how a removal shows in a sprint, through GraphQL."""

from __future__ import annotations

from typing import Any

ERRORS = "userErrors { field message code }"


async def agile_project(client: Any, key: str = "AG", methodology: str = "agile") -> str:
    return (await client.mutate("createProject", {"key": key, "name": key, "methodology": methodology}, "project { id }"))["project"]["id"]


async def task(client: Any, project: str, title: str, points: float = 2) -> str:
    return (await client.mutate("createTask", {"projectId": project, "title": title, "points": points}, "task { id }"))["task"]["id"]


async def new_sprint(client: Any, project: str, start: str = "2026-03-02", end: str = "2026-03-13") -> str:
    created = await client.mutate("createSprint", {"projectId": project, "startDate": start, "endDate": end}, "sprint { id }")
    return created["sprint"]["id"]


def refusal(payload: dict[str, Any]) -> tuple[str, str]:
    [error] = payload["userErrors"]
    return error["code"], error["message"]


async def test_one_active_sprint_per_project(mcgraph_client):
    project = await agile_project(mcgraph_client)
    first, second = await new_sprint(mcgraph_client, project), await new_sprint(mcgraph_client, project)
    for sprint in (first, second):
        await mcgraph_client.mutate("addTasksToSprint", {"sprintId": sprint, "taskIds": [await task(mcgraph_client, project, "t")]})
    await mcgraph_client.mutate("startSprint", {"sprintId": first})
    refused = await mcgraph_client.mutate("startSprint", {"sprintId": second}, ok=False)
    assert refusal(refused) == ("INVALID", "Sprint 1 is still active; complete it first.")
    again = await mcgraph_client.mutate("startSprint", {"sprintId": first}, ok=False)
    assert refusal(again) == ("INVALID", "Sprint 1 is active; only a planned sprint starts.")


async def test_a_task_sits_in_one_open_sprint_and_done_tasks_join_none(mcgraph_client):
    project = await agile_project(mcgraph_client)
    first, second = await new_sprint(mcgraph_client, project), await new_sprint(mcgraph_client, project)
    shared = await task(mcgraph_client, project, "Shared")
    await mcgraph_client.mutate("addTasksToSprint", {"sprintId": first, "taskIds": [shared]})
    await mcgraph_client.mutate("addTasksToSprint", {"sprintId": first, "taskIds": [shared]})  # again: no change
    refused = await mcgraph_client.mutate("addTasksToSprint", {"sprintId": second, "taskIds": [shared]}, ok=False)
    assert refusal(refused) == ("INVALID", "'Shared' is already in sprint 1; remove it from there first.")
    finished = await task(mcgraph_client, project, "Finished")
    await mcgraph_client.mutate("setTaskState", {"taskId": finished, "state": "done"})
    refused = await mcgraph_client.mutate("addTasksToSprint", {"sprintId": second, "taskIds": [finished]}, ok=False)
    assert refusal(refused) == ("INVALID", "'Finished' is already done.")
    sprint = await mcgraph_client.data("query($id: ID!) { node(id: $id) { ... on Sprint { tasks { title } } } }", {"id": first})
    assert sprint["node"]["tasks"] == [{"title": "Shared"}]


async def test_tasks_of_another_project_and_projects_of_another_methodology_are_refused(mcgraph_client):
    project, other = await agile_project(mcgraph_client), await agile_project(mcgraph_client, "OT")
    sprint = await new_sprint(mcgraph_client, project)
    stranger = await task(mcgraph_client, other, "Elsewhere")
    refused = await mcgraph_client.mutate("addTasksToSprint", {"sprintId": sprint, "taskIds": [stranger]}, ok=False)
    assert refused["userErrors"][0]["code"] == "NOT_FOUND"
    simple = await agile_project(mcgraph_client, "SI", "simple")
    payload = await mcgraph_client.mutate("createSprint", {"projectId": simple, "startDate": "2026-03-02", "endDate": "2026-03-06"}, ok=False)
    assert refusal(payload) == ("INVALID", "Sprints belong to agile projects only.")
    fields = await mcgraph_client.data(
        "query($id: ID!) { project(id: $id) { sprints { id } activeSprint { id } velocity { average } backlog { title } } }", {"id": simple}
    )
    assert fields["project"] == {"sprints": None, "activeSprint": None, "velocity": None, "backlog": None}


async def test_dates_and_states_are_checked(mcgraph_client):
    project = await agile_project(mcgraph_client)
    backwards = await mcgraph_client.mutate("createSprint", {"projectId": project, "startDate": "2026-03-06", "endDate": "2026-03-02"}, ok=False)
    assert backwards["userErrors"] == [{"field": ["endDate"], "message": "The sprint must end on or after its start date.", "code": "INVALID"}]
    sprint = await new_sprint(mcgraph_client, project)
    empty = await mcgraph_client.mutate("startSprint", {"sprintId": sprint}, ok=False)
    assert refusal(empty) == ("INVALID", "Add tasks to the sprint before starting it.")
    assert refusal(await mcgraph_client.mutate("completeSprint", {"sprintId": sprint}, ok=False)) == (
        "INVALID",
        "Sprint 1 is planned; only the active sprint completes.",
    )


async def test_a_task_removed_mid_sprint_leaves_the_burndown_and_returns_to_the_backlog(mcgraph_client, mcgraph_clock):
    project = await agile_project(mcgraph_client)
    sprint = await new_sprint(mcgraph_client, project, "2026-03-02", "2026-03-04")
    keep, drop = await task(mcgraph_client, project, "Keep", 3), await task(mcgraph_client, project, "Drop", 5)
    await mcgraph_client.mutate("addTasksToSprint", {"sprintId": sprint, "taskIds": [keep, drop]})
    await mcgraph_client.mutate("startSprint", {"sprintId": sprint})
    mcgraph_clock.advance(days=1)
    removed = await mcgraph_client.mutate(
        "removeTasksFromSprint", {"sprintId": sprint, "taskIds": [drop]}, "sprint { committedPoints tasks { title } burndown { remainingPoints } }"
    )
    assert removed["sprint"] == {
        "committedPoints": 8.0,
        "tasks": [{"title": "Keep"}],
        "burndown": [{"remainingPoints": 8.0}, {"remainingPoints": 3.0}, {"remainingPoints": None}],
    }
    backlog = await mcgraph_client.data("query($id: ID!) { project(id: $id) { backlog { taskId title } } }", {"id": project})
    assert backlog["project"]["backlog"] == [{"taskId": drop, "title": "Drop"}]
    again = await mcgraph_client.mutate("removeTasksFromSprint", {"sprintId": sprint, "taskIds": [drop]}, ok=False)
    assert again["userErrors"][0]["code"] == "NOT_FOUND"


async def test_viewers_read_sprints_but_may_not_plan_them(mcgraph_client):
    project = await agile_project(mcgraph_client)
    await new_sprint(mcgraph_client, project)
    viewer = await mcgraph_client.as_member("viewer@acme.test", "viewer")
    read = await viewer.data("query($id: ID!) { project(id: $id) { sprints { number state } } }", {"id": project})
    assert read["project"]["sprints"] == [{"number": 1, "state": "PLANNED"}]
    body = await viewer(
        "mutation($i: CreateSprintInput!) { createSprint(input: $i) { sprint { id } } }",
        {"i": {"projectId": project, "startDate": "2026-03-02", "endDate": "2026-03-06"}},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
