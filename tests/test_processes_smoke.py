from __future__ import annotations

from mcgraph.db.models import Role

CREATE = """mutation($i: CreateProcessInput!) { createProcess(input: $i) {
  process { id key status draft { number steps { key name waitsFor } } } userErrors { field message code } } }"""
PUBLISH = """mutation($i: PublishProcessInput!) { publishProcess(input: $i) { version { number isDraft } process { status } userErrors { code message } } }"""
RAISE = """mutation($i: RaiseEventInput!) { raiseEvent(input: $i) { eventId runs { id name state steps { id stepKey readyAt task { id assignee { email } } } } userErrors { field code message } } }"""
STATE = """mutation($i: SetTaskStateInput!) { setTaskState(input: $i) { task { state { key } } userErrors { code message } } }"""


async def test_onboarding_runs_from_an_event(gql, acme, clock):
    token = acme[Role.MANAGER]
    steps = [
        {"name": "Prepare laptop", "assignment": "PAYLOAD", "payloadPath": "manager_email", "durationHours": 8},
        {"name": "Accounts", "durationHours": 4, "waitsFor": []},
        {"name": "Welcome meeting", "offsetHours": 8, "durationHours": 2, "waitsFor": ["prepare-laptop", "accounts"]},
        {"name": "Sign off", "approval": True, "durationHours": 1},
    ]
    schema = {"type": "object", "required": ["name", "manager_email"], "properties": {"name": {"type": "string"}, "manager_email": {"type": "string"}}}
    data = await gql.data(CREATE, {"i": {"key": "ONB", "name": "Onboarding", "triggerEvent": "employee.hired", "payloadSchema": schema, "runNameTemplate": "Onboarding: {{input.name}}", "steps": steps}}, token=token)
    assert data["createProcess"]["userErrors"] == [], data
    process = data["createProcess"]["process"]
    assert [s["waitsFor"] for s in process["draft"]["steps"]] == [[], [], ["prepare-laptop", "accounts"], ["welcome-meeting"]]
    published = await gql.data(PUBLISH, {"i": {"processId": process["id"]}}, token=token)
    assert published["publishProcess"]["version"] == {"number": 1, "isDraft": False}
    bad = await gql.data(RAISE, {"i": {"name": "employee.hired", "payload": {"name": "Ada"}}}, token=token)
    assert bad["raiseEvent"]["userErrors"][0]["code"] == "INVALID"
    raised = await gql.data(RAISE, {"i": {"name": "employee.hired", "payload": {"name": "Ada", "manager_email": "manager@acme.test"}}}, token=token)
    run = raised["raiseEvent"]["runs"][0]
    assert run["name"] == "Onboarding: Ada"
    assert run["steps"][0]["task"]["assignee"]["email"] == "manager@acme.test"
    assert [s["readyAt"] is not None for s in run["steps"]] == [True, True, False, False]
    for step in run["steps"][:3]:
        clock.advance(hours=2)
        done = await gql.data(STATE, {"i": {"taskId": step["task"]["id"], "state": "done"}}, token=token)
        assert done["setTaskState"]["userErrors"] == [], done
    decided = await gql.data("""mutation($i: DecideApprovalInput!) { decideApproval(input: $i) { run { state completedAt } userErrors { code message } } }""", {"i": {"runStepId": run["steps"][3]["id"], "approve": True}}, token=token)
    assert decided["decideApproval"]["run"]["state"] == "COMPLETED", decided
    runs = await gql.data("{ processRuns(first: 5) { totalCount nodes { state processVersion { number } } } myTasks { totalCount } }", token=token)
    assert runs["processRuns"]["nodes"] == [{"state": "COMPLETED", "processVersion": {"number": 1}}]
