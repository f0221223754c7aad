"""Tenant isolation of processes: acme's tokens never see or touch globex's processes,
versions, steps, runs or run steps.

Every answer about a globex id (or key) must be exactly the answer about one that names
no row, so that a client cannot even learn that it exists.
"""

from __future__ import annotations

from typing import Any

import pytest

from mcgraph.api.ids import encode_id
from mcgraph.db import models as m
from mcgraph.db.models import Role
from tests.conftest import process_mutation, process_ok
from tests.project_helpers import create_project, create_task, rows_of, viewer_id

TYPES = {"process": "Process", "version": "ProcessVersion", "draft": "ProcessVersion", "step": "ProcessStep",
         "draft_step": "ProcessStep", "run": "ProcessRun", "run_step": "RunStep", "approval": "RunStep",
         "project": "Project", "user": "User", "team": "Team"}
# What a process mutation may write; compared before and after a refused request.
TABLES = [m.Process, m.ProcessVersion, m.ProcessStep, m.ProcessRun, m.RunStep, m.RoundRobinCursor, m.Project, m.Task,
          m.Dependency, m.Event]
STEPS = [
    {"name": "Prepare the desk", "assignment": "PAYLOAD", "payloadPath": "manager_email"},
    {"name": "Approve the hire", "approval": True, "onReject": "END", "waitsFor": []},
]
SCHEMA = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}


async def their_or_our_things(gql: Any, tokens: dict[Role, str], key: str) -> dict[str, Any]:
    """A published process on ``employee.hired`` with a draft of version 2, a run of it, a team and a project with a task."""
    token = tokens[Role.MANAGER]
    user = await viewer_id(gql, tokens[Role.MEMBER])
    team = await gql.data("""mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } } }""",
                          {"i": {"name": f"{key} team", "memberIds": [user]}}, token=tokens[Role.OWNER])
    process = (await process_ok(gql, "createProcess", {"key": key, "name": f"Onboarding at {key}", "triggerEvent": "employee.hired",
                                                       "payloadSchema": SCHEMA, "runNameTemplate": "{{input.name}}", "steps": STEPS},
                                      token))["process"]
    version = (await process_ok(gql, "publishProcess", {"processId": process["id"]}, token))["version"]
    steps = await gql.data("query($id: ID!) { node(id: $id) { ... on ProcessVersion { steps { id } } } }", {"id": version["id"]}, token=token)
    draft = (await process_ok(gql, "setProcessSteps", {"processId": process["id"], "steps": STEPS[:1]}, token))["draft"]
    run = (await process_ok(gql, "startProcessRun", {"processKey": key, "input": {"name": f"{key} hire"}}, token))["run"]
    project = await create_project(gql, token, f"{key}P")
    await create_task(gql, token, project["id"], "Design the onboarding")
    return {
        "key": key, "process": process["id"], "version": version["id"], "draft": draft["id"], "step": steps["node"]["steps"][0]["id"],
        "draft_step": draft["steps"][0]["id"], "run": run["id"], "run_step": run["steps"][0]["id"], "approval": run["steps"][1]["id"],
        "project": project["id"], "user": user, "team": team["createTeam"]["team"]["id"],
    }


@pytest.fixture
async def theirs(gql, globex) -> dict[str, Any]:
    return await their_or_our_things(gql, globex, "GLX")


@pytest.fixture
async def ours(gql, acme) -> dict[str, Any]:
    return await their_or_our_things(gql, acme, "ACM")


def missing(name: str) -> str:
    return encode_id(TYPES[name], 999999)


NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
NAMED = [name for name in TYPES if name not in ("project", "user", "team")]


@pytest.mark.parametrize("role", [Role.OWNER, Role.VIEWER])
async def test_node_and_nodes_give_null_for_their_ids(gql, acme, theirs, ours, role):
    token = acme[role]
    for name in NAMED:
        for global_id in (theirs[name], missing(name)):
            assert await gql.data(NODE, {"id": global_id}, token=token) == {"node": None}, name
        assert (await gql.data(NODE, {"id": ours[name]}, token=token))["node"] == {"__typename": TYPES[name], "id": ours[name]}
    data = await gql.data(NODES, {"ids": [theirs[n] for n in NAMED] + [ours["run"]]}, token=token)
    assert data["nodes"] == [None] * len(NAMED) + [{"__typename": "ProcessRun", "id": ours["run"]}]


async def test_process_by_their_id_or_key_is_null(gql, acme, theirs, ours):
    token = acme[Role.MEMBER]
    by_id = "query($id: ID!) { process(id: $id) { key } }"
    by_key = "query($key: String!) { process(key: $key) { key } }"
    assert await gql.data(by_id, {"id": theirs["process"]}, token=token) == {"process": None}
    assert await gql.data(by_id, {"id": missing("process")}, token=token) == {"process": None}
    for key in ("GLX", "glx", " GLX ", "NOPE"):
        assert await gql.data(by_key, {"key": key}, token=token) == {"process": None}, key
    assert await gql.data(by_key, {"key": "acm"}, token=token) == {"process": {"key": "ACM"}}


LISTS = [
    ("processes", None, ["ACM"]),
    ("processes", {"triggerEvents": ["employee.hired"]}, ["ACM"]),
    ("processes", {"search": "GL"}, []),
    ("processes", {"search": "Onboarding"}, ["ACM"]),
    ("processes", {"ownerIds": ["$user"]}, []),
    ("processes", {"statuses": ["PUBLISHED", "DRAFT", "RETIRED"]}, ["ACM"]),
    ("processRuns", None, ["ACM hire"]),
    ("processRuns", {"processIds": ["$process"]}, []),
    ("processRuns", {"projectIds": ["$project"]}, []),
    ("processRuns", {"triggerEvents": ["employee.hired"]}, []),
    ("processRuns", {"states": ["RUNNING"]}, ["ACM hire"]),
    ("processRuns", {"overdue": False}, ["ACM hire"]),
]


async def test_lists_hold_nothing_of_theirs(gql, acme, theirs, ours):
    wrong = []
    for field, where, expected in LISTS:
        resolved = {k: [theirs[v[1:]] if isinstance(v, str) and v.startswith("$") else v for v in vs] if isinstance(vs, list) else vs
                    for k, vs in (where or {}).items()}
        label = "key" if field == "processes" else "name"
        filter_type = "ProcessFilter" if field == "processes" else "ProcessRunFilter"
        query = f"query($w: {filter_type}) {{ {field}(first: 100, where: $w) {{ totalCount nodes {{ {label} }} }} }}"

        data = (await gql.data(query, {"w": resolved or None}, token=acme[Role.MEMBER]))[field]

        if [n[label] for n in data["nodes"]] != expected or data["totalCount"] != len(expected):
            wrong.append((field, where, data))
    assert wrong == []


# mutation: (input with "G." for globex ids, "A." for acme ids, "KEY" for globex's process key, [(field, code)])
MUTATIONS = {
    "updateProcess": ({"processId": "G.process", "name": "Mine now"}, [(["processId"], "NOT_FOUND")]),
    "updateProcess their owner": ({"processId": "A.process", "ownerId": "G.user"}, [(["ownerId"], "NOT_A_MEMBER")]),
    "updateProcess their team": ({"processId": "A.process", "teamId": "G.team"}, [(["teamId"], "NOT_FOUND")]),
    "setProcessSteps": ({"processId": "G.process", "steps": [{"name": "Spy"}]}, [(["processId"], "NOT_FOUND")]),
    "setProcessSteps their user": ({"processId": "A.process", "steps": [{"name": "Spy", "assignment": "USER", "assigneeId": "G.user"}]},
                                   [(["steps", "0", "assigneeId"], "NOT_A_MEMBER")]),
    "updateProcessStep": ({"stepId": "G.draft_step", "name": "Mine now"}, [(["stepId"], "NOT_FOUND")]),
    "updateProcessStep published": ({"stepId": "G.step", "name": "Mine now"}, [(["stepId"], "NOT_FOUND")]),
    "publishProcess": ({"processId": "G.process"}, [(["processId"], "NOT_FOUND")]),
    "retireProcess": ({"processId": "G.process"}, [(["processId"], "NOT_FOUND")]),
    "startProcessRun": ({"processKey": "KEY", "input": {"name": "Spy"}}, [(["processKey"], "NOT_FOUND")]),
    "startProcessRun their project": ({"processKey": "ACM", "input": {"name": "Spy"}, "projectId": "G.project"},
                                      [(["projectId"], "NOT_FOUND")]),
    "cancelProcessRun": ({"runId": "G.run", "note": "Mine now"}, [(["runId"], "NOT_FOUND")]),
    "decideApproval": ({"runStepId": "G.approval", "approve": False, "comment": "No"}, [(["runStepId"], "NOT_FOUND")]),
    "decideApproval approve": ({"runStepId": "G.approval", "approve": True}, [(["runStepId"], "NOT_FOUND")]),
    "createProcessFromProject": ({"projectId": "G.project", "key": "STOLEN"}, [(["projectId"], "NOT_FOUND")]),
    "createProjectFromProcess": ({"processKey": "KEY", "key": "STOLEN"}, [(["processKey"], "NOT_FOUND")]),
    "createProjectFromProcess their manager": ({"processKey": "ACM", "key": "STOLEN", "managerId": "G.user"},
                                               [(["managerId"], "NOT_A_MEMBER")]),
    "createProcess their owner": ({"key": "STOLEN", "name": "Spy", "ownerId": "G.user", "steps": [{"name": "Spy"}]},
                                  [(["ownerId"], "NOT_A_MEMBER")]),
    "createProcess their team": ({"key": "STOLEN", "name": "Spy", "teamId": "G.team", "steps": [{"name": "Spy"}]},
                                 [(["teamId"], "NOT_FOUND")]),
}
NO_SUCH_KEY = "ZZZ"


def resolve(template: Any, theirs: dict[str, Any], ours: dict[str, Any], *, nonexistent: bool = False) -> Any:
    if isinstance(template, dict):
        return {k: resolve(v, theirs, ours, nonexistent=nonexistent) for k, v in template.items()}
    if isinstance(template, list):
        return [resolve(v, theirs, ours, nonexistent=nonexistent) for v in template]
    if template == "KEY":
        return NO_SUCH_KEY if nonexistent else theirs["key"]
    if not isinstance(template, str) or template[:2] not in ("G.", "A."):
        return template
    side, name = template.split(".", 1)
    if side == "A":
        return ours[name]
    return missing(name) if nonexistent else theirs[name]


def anonymous(payload: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """The payload with globex's key written as the nonexistent one, the only text that may differ."""
    return {**payload, "userErrors": [{**e, "message": e["message"].replace(repr(theirs["key"]), repr(NO_SUCH_KEY))}
                                      for e in payload["userErrors"]]}


async def test_mutations_on_their_ids_are_not_found_and_change_nothing(gql, acme, database, theirs, ours):
    token = acme[Role.OWNER]
    before = await rows_of(database, *TABLES)
    wrong = []
    for case, (template, expected) in MUTATIONS.items():
        name = case.split()[0]

        payload = await process_mutation(gql, name, resolve(template, theirs, ours), token)
        nonexistent = await process_mutation(gql, name, resolve(template, theirs, ours, nonexistent=True), token)

        if [(e["field"], e["code"]) for e in payload["userErrors"]] != expected or anonymous(payload, theirs) != nonexistent:
            wrong.append((case, payload, nonexistent))
        if await rows_of(database, *TABLES) != before:
            wrong.append((case, "wrote to the database"))
            before = await rows_of(database, *TABLES)
    assert wrong == []


THEIR_PROCESS = """query($id: ID!) { node(id: $id) { ... on Process { key name status version triggerEvent
  versions { number isDraft steps { id key name } }
  runs(first: 10) { nodes { id name state steps { stepKey outcome readyAt } } } } } }"""


async def test_their_processes_are_intact_for_them(gql, globex, acme, theirs, ours):
    """After every refused attempt, globex still sees its process and its run as they were."""
    seen = await gql.data(THEIR_PROCESS, {"id": theirs["process"]}, token=globex[Role.MANAGER])
    for case, (template, _) in MUTATIONS.items():
        await process_mutation(gql, case.split()[0], resolve(template, theirs, ours), acme[Role.OWNER])
    assert await gql.data(THEIR_PROCESS, {"id": theirs["process"]}, token=globex[Role.MANAGER]) == seen
    assert seen["node"]["status"] == "PUBLISHED"
    assert [v["number"] for v in seen["node"]["versions"]] == [2, 1]
    assert [r["state"] for r in seen["node"]["runs"]["nodes"]] == ["RUNNING"]
    projects = await gql.data("{ projects(first: 10) { nodes { key derivedProcesses { key } } } }", token=globex[Role.MANAGER])
    assert projects["projects"]["nodes"] == [{"key": "GLXP", "derivedProcesses": []}]


RAISE = """mutation($i: RaiseEventInput!) { raiseEvent(input: $i) { eventId runs { name process { key } } userErrors { code } } }"""
RUN_COUNT = "{ processRuns(first: 50) { totalCount nodes { name process { key } } } }"


async def test_their_event_starts_only_their_runs(gql, acme, globex, theirs, ours):
    """Both organisations have a process on ``employee.hired``: each raise starts its own organisation's run only."""
    ours_raised = await gql.data(RAISE, {"i": {"name": "employee.hired", "payload": {"name": "Ada"}}}, token=acme[Role.MEMBER])
    theirs_raised = await gql.data(RAISE, {"i": {"name": "employee.hired", "payload": {"name": "Grace"}}}, token=globex[Role.MEMBER])

    assert ours_raised["raiseEvent"]["runs"] == [{"name": "Ada", "process": {"key": "ACM"}}]
    assert theirs_raised["raiseEvent"]["runs"] == [{"name": "Grace", "process": {"key": "GLX"}}]
    for tokens, key in ((acme, "ACM"), (globex, "GLX")):
        runs = (await gql.data(RUN_COUNT, token=tokens[Role.MEMBER]))["processRuns"]
        assert runs["totalCount"] == 2 and {n["process"]["key"] for n in runs["nodes"]} == {key}


async def test_a_payload_naming_their_user_assigns_nobody(gql, acme, globex, theirs, ours):
    """The step goes to the user whose e-mail the payload names, only when that user is one of ours."""
    raised = await process_ok(gql, "raiseEvent", {"name": "employee.hired", "payload": {"name": "Ada", "manager_email": "manager@globex.test"}},
                              acme[Role.MEMBER])
    ours_too = await process_ok(gql, "raiseEvent", {"name": "employee.hired", "payload": {"name": "Bo", "manager_email": "manager@acme.test"}},
                                acme[Role.MEMBER])

    assert [s["task"]["assignee"] for s in raised["runs"][0]["steps"]] == [None, {"email": "manager@acme.test"}]  # the owner's step
    assert ours_too["runs"][0]["steps"][0]["task"]["assignee"] == {"email": "manager@acme.test"}
