"""Automation rules end to end on the embedded default: rules saved and checked, runs
executed by the in-process Dramatiq worker, retries, loops, idempotency, dry runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from mcgraph.app import create_app
from mcgraph.automation import engine
from mcgraph.db import models as m
from mcgraph.db.engine import ORGANIZATION_WRITE_LOCK
from mcgraph.db.models import Role
from tests.conftest import GraphQLClient
from tests.project_helpers import create_project, create_task, pk, succeed

RULE_FIELDS = "id name enabled version condition trigger { kind eventType filter { path op value } cron schedule } actions { type params }"
CREATE_RULE = f"""mutation($input: CreateAutomationRuleInput!) {{
  createAutomationRule(input: $input) {{ rule {{ {RULE_FIELDS} }} userErrors {{ field message code }} }} }}"""
RUNS = """query($where: AutomationRunFilter) { automationRuns(where: $where, first: 50) { totalCount nodes {
  id state attempts depth error rule { name } event { type cursor } results { index type status output error } } } }"""
RETRY = "mutation($id: ID!) { retryAutomationRun(input: {runId: $id}) { run { id state } userErrors { code message } } }"
DONE_IN_WEB = [
    {"path": "event.changes.state_category.after", "op": "eq", "value": "done"},
    {"path": "project.key", "op": "eq", "value": "WEB"},
]


@pytest.fixture
async def auto_app(settings, clock) -> AsyncIterator[Any]:
    """The app with quick retries (and no sweep, so that what runs was sent by dispatch or retry)."""
    quick = settings.model_copy(update={"automation_retry_seconds": 0.05, "automation_max_attempts": 3, "automation_sweep_seconds": 0})
    application = create_app(quick, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def agql(auto_app) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=auto_app), base_url="http://testserver") as client:
        yield GraphQLClient(client)


async def create_rule(gql: GraphQLClient, token: str, **input: Any) -> dict[str, Any]:
    payload = (await gql.data(CREATE_RULE, {"input": {"trigger": {"kind": "EVENT", "eventType": "task.state_changed"}, **input}}, token=token))[
        "createAutomationRule"
    ]
    assert payload["userErrors"] == [], payload
    return payload["rule"]


async def runs(gql: GraphQLClient, token: str, **where: Any) -> list[dict[str, Any]]:
    return (await gql.data(RUNS, {"where": where or None}, token=token))["automationRuns"]["nodes"]


async def run_by_id(gql: GraphQLClient, token: str, run_id: str) -> dict[str, Any]:
    query = "query($id: ID!) { node(id: $id) { ... on AutomationRun { id state attempts error } } }"
    return (await gql.data(query, {"id": run_id}, token=token))["node"]


async def settled(gql: GraphQLClient, token: str, count: int, timeout: float = 15, **where: Any) -> list[dict[str, Any]]:
    """The runs, once ``count`` of them have finished (SUCCEEDED, SKIPPED or DEAD); fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = await runs(gql, token, **where)
        finished = [r for r in found if r["state"] in ("SUCCEEDED", "SKIPPED", "DEAD")]
        if len(finished) >= count:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{len(finished)} of {count} automation runs finished in {timeout} s: {found}")
        await asyncio.sleep(0.02)


async def count(database: Any, model: type, *where: Any) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def test_a_rule_acts_when_a_task_is_done_in_its_project(agql, acme, database):
    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    ops = await create_project(agql, manager, "OPS")
    rule = await create_rule(
        agql,
        manager,
        name="Follow up done work",
        trigger={"kind": "EVENT", "eventType": "task.state_changed", "filter": DONE_IN_WEB},
        actions=[
            {"type": "ADD_COMMENT", "params": {"body": "Done: {{ task.title }} ({{ upper(project.key) }})"}},
            {"type": "CREATE_TASK", "params": {"title": "Review {{ task.title }}", "priority": "high", "dueInDays": 2}},
        ],
    )
    assert rule["trigger"]["filter"][1] == {"path": "project.key", "op": "eq", "value": "WEB"}
    ship = await create_task(agql, manager, web["id"], "Ship the site")
    other = await create_task(agql, manager, ops["id"], "Patch servers")

    await succeed(agql, "setTaskState", {"taskId": ship["id"], "state": "done"}, manager)
    await succeed(agql, "setTaskState", {"taskId": other["id"], "state": "done"}, manager)  # filtered out: OPS
    await succeed(agql, "setTaskState", {"taskId": other["id"], "state": "in_progress"}, manager)

    (run,) = await settled(agql, acme[Role.VIEWER], 1)
    assert run["state"] == "SUCCEEDED" and run["attempts"] == 1 and run["depth"] == 1
    assert run["event"]["type"] == "task.state_changed"
    assert [(r["index"], r["type"], r["status"]) for r in run["results"]] == [(0, "ADD_COMMENT", "done"), (1, "CREATE_TASK", "done")]

    data = await agql.data(
        "query($id: ID!) { node(id: $id) { ... on Task { comments(first: 5) { nodes { body author { email } } } } } }",
        {"id": ship["id"]},
        token=manager,
    )
    assert data["node"]["comments"]["nodes"] == [{"body": "Done: Ship the site (WEB)", "author": None}]
    async with database.session() as session:
        follow_up = await session.scalar(select(m.Task).where(m.Task.title == "Review Ship the site"))
        assert follow_up is not None and follow_up.project_id == pk(web["id"]) and follow_up.priority.value == "high"
        caused = await session.scalar(select(m.Event).where(m.Event.type == "task.created", m.Event.subject_id == follow_up.id))
        assert caused.data["automation"] == {"run": pk(run["id"]), "rule": pk(rule["id"]), "depth": 1}


async def test_a_rule_is_checked_when_saved(agql, acme, database):
    manager = acme[Role.MANAGER]
    payload = (
        await agql.data(
            CREATE_RULE,
            {
                "input": {
                    "name": " ",
                    "trigger": {"kind": "SCHEDULE", "cron": "61 * * * *", "filter": [{"path": "x", "op": "near", "value": 1}]},
                    "condition": "task.priority == ",
                    "actions": [
                        {"type": "ADD_COMMENT", "params": {"body": "{{ oops"}},
                        {"type": "SET_TASK_STATE", "params": {"colour": "red"}},
                        {"type": "OVERRIDE_HEALTH", "params": {"health": "GREAT", "note": "n"}},
                    ],
                }
            },
            token=manager,
        )
    )["createAutomationRule"]
    problems = {(".".join(e["field"]), e["code"]) for e in payload["userErrors"]}
    assert problems == {
        ("name", "INVALID"),
        ("trigger.cron", "INVALID"),
        ("trigger.filter", "BAD_EXPRESSION"),
        ("condition", "BAD_EXPRESSION"),
        ("actions.0.params.body", "BAD_EXPRESSION"),
        ("actions.1.params.state", "REQUIRED"),
        ("actions.1.params.colour", "INVALID"),
        ("actions.2.params.health", "INVALID"),
    }
    assert payload["rule"] is None
    assert await count(database, m.AutomationRule) == 0

    await create_rule(agql, manager, name="Once", actions=[{"type": "ADD_COMMENT", "params": {"body": "x"}}])
    again = (await agql.data(CREATE_RULE, {"input": {"name": "Once", "trigger": {"kind": "EVENT", "eventType": "task.*"}, "actions": [{"type": "ADD_COMMENT", "params": {"body": "x"}}]}}, token=manager))
    assert [e["code"] for e in again["createAutomationRule"]["userErrors"]] == ["TAKEN"]
    members_may_not = await agql(CREATE_RULE, {"input": {"name": "No", "trigger": {"kind": "EVENT", "eventType": "task.*"}, "actions": []}}, token=acme[Role.MEMBER])
    assert [e["extensions"]["code"] for e in members_may_not["errors"]] == ["FORBIDDEN"]


async def test_params_that_are_not_an_object_are_refused_as_input(agql, acme, database):
    actions = [{"type": "ADD_COMMENT", "params": 1}, {"type": "ADD_COMMENT", "params": ["body"]}]
    input = {"name": "Odd", "trigger": {"kind": "EVENT", "eventType": "task.*"}, "actions": actions}
    payload = (await agql.data(CREATE_RULE, {"input": input}, token=acme[Role.MANAGER]))["createAutomationRule"]
    assert [(".".join(e["field"]), e["code"]) for e in payload["userErrors"]] == [("actions.0.params", "INVALID"), ("actions.1.params", "INVALID")]
    assert await count(database, m.AutomationRule) == 0


async def test_a_condition_that_does_not_hold_skips_the_run(agql, acme):
    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    await create_rule(agql, manager, name="Urgent only", condition='task.priority == "urgent"', actions=[{"type": "ADD_COMMENT", "params": {"body": "!"}}])
    task = await create_task(agql, manager, web["id"], "Calm")
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)
    (run,) = await settled(agql, manager, 1)
    assert (run["state"], run["results"]) == ("SKIPPED", [])


async def test_a_refused_action_makes_the_run_dead_at_once_and_retry_runs_it_again(agql, acme, database):
    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    rule = await create_rule(
        agql, manager, name="Bad state",
        actions=[{"type": "ADD_COMMENT", "params": {"body": "first"}}, {"type": "SET_TASK_STATE", "params": {"state": "shipped"}}],
    )
    task = await create_task(agql, manager, web["id"], "T")
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)
    (run,) = await settled(agql, manager, 1)
    assert run["state"] == "DEAD" and run["attempts"] == 1
    assert "shipped" in run["error"] and run["error"].startswith("Action 2 (set_task_state)")
    assert [(r["type"], r["status"]) for r in run["results"]] == [("ADD_COMMENT", "done"), ("SET_TASK_STATE", "failed")]

    # the rule is mended, the run retried: the comment that took effect is not made again
    async with database.transaction() as session:
        row = await session.get(m.AutomationRule, pk(rule["id"]))
        row.actions = [row.actions[0], {"type": "add_comment", "params": {"body": "second"}}]
    retried = (await agql.data(RETRY, {"id": run["id"]}, token=manager))["retryAutomationRun"]
    assert retried["userErrors"] == [] and retried["run"]["state"] == "QUEUED"
    deadline = time.monotonic() + 15
    while (current := await run_by_id(agql, manager, run["id"]))["state"] != "SUCCEEDED":
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.02)
    assert current["attempts"] == 2
    assert await count(database, m.Comment, m.Comment.body == "first") == 1
    assert await count(database, m.Comment, m.Comment.body == "second") == 1
    again = (await agql.data(RETRY, {"id": run["id"]}, token=manager))["retryAutomationRun"]
    assert [e["code"] for e in again["userErrors"]] == ["INVALID"]


async def test_a_failing_action_is_retried_with_backoff_then_dead(agql, acme, auto_app):
    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    # nothing listens on port 1: every attempt fails, and may be retried
    await create_rule(agql, manager, name="Hook", actions=[{"type": "SEND_WEBHOOK", "params": {"url": "http://127.0.0.1:1/hook"}}])
    runtime = auto_app.state.runtime
    object.__setattr__(runtime, "settings", runtime.settings.model_copy(update={"webhook_allow": ["127.0.0.1"]}))
    task = await create_task(agql, manager, web["id"], "T")
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)
    (run,) = await settled(agql, manager, 1)
    assert run["state"] == "DEAD" and run["attempts"] == 3
    assert "webhook" in run["error"]


async def test_a_loop_of_automations_stops_at_the_depth_limit(agql, acme, database):
    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    # each comment makes another comment
    await create_rule(
        agql, manager, name="Echo", trigger={"kind": "EVENT", "eventType": "comment.added"},
        actions=[{"type": "ADD_COMMENT", "params": {"body": "echo", "on": "project"}}],
    )
    await agql.data('mutation($p: ID!) { addComment(input: {projectId: $p, body: "hello"}) { userErrors { code } } }', {"p": web["id"]}, token=manager)
    found = await settled(agql, manager, 6)
    by_depth = sorted((r["depth"], r["state"]) for r in found)
    assert by_depth == [(1, "SUCCEEDED"), (2, "SUCCEEDED"), (3, "SUCCEEDED"), (4, "SUCCEEDED"), (5, "SUCCEEDED"), (6, "DEAD")]
    (stopped,) = [r for r in found if r["depth"] == 6]
    assert "deeper than 5" in stopped["error"]
    assert await count(database, m.Comment) == 6  # the first, and five echoes


async def test_a_redelivered_event_or_message_has_one_effect(agql, acme, auto_app, database):
    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    await create_rule(agql, manager, name="Note", actions=[{"type": "ADD_COMMENT", "params": {"body": "noted"}}])
    task = await create_task(agql, manager, web["id"], "T")
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)
    (run,) = await settled(agql, manager, 1)
    runtime = auto_app.state.runtime
    async with database.session() as session:
        event_id = await session.scalar(select(m.Event.id).where(m.Event.type == "task.state_changed"))
    assert await engine.dispatch(runtime, [event_id]) == []  # the run exists already
    assert await engine.execute(runtime, pk(run["id"])) is None  # done: nothing to claim
    # a worker whose first transaction failed counts its attempt only on a run still to claim
    action = {"type": "add_comment", "params": {"body": "noted"}}
    assert await engine._fail(runtime, pk(run["id"]), 0, action, "boom", retryable=True, claim=True) is None
    async with database.session() as session:
        row = await session.get(m.AutomationRun, pk(run["id"]))
        assert (row.state, row.attempts, row.error) == (m.AutomationRunState.SUCCEEDED, 1, None)
    assert await count(database, m.Comment, m.Comment.body == "noted") == 1
    assert await count(database, m.AutomationRun) == 1


async def test_a_dry_run_says_what_would_happen(agql, acme, database):
    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    rule = await create_rule(
        agql, manager, name="Dry", condition='task.title != "skip me"',
        trigger={"kind": "EVENT", "eventType": "task.created", "filter": [{"path": "project.key", "op": "eq", "value": "WEB"}]},
        actions=[{"type": "CREATE_TASK", "params": {"title": "Test {{ task.title }}"}}],
    )
    await create_task(agql, manager, web["id"], "Build")
    async with database.session() as session:
        number = await session.scalar(select(m.Event.org_seq).where(m.Event.type == "task.created"))
    from mcgraph.api.ids import encode_id

    query = "query($r: ID!, $e: ID!) { dryRunAutomationRule(ruleId: $r, eventId: $e) { matches reasons actions } }"
    # an Event's global id holds its number in the organisation's log
    result = (await agql.data(query, {"r": rule["id"], "e": encode_id("Event", number)}, token=acme[Role.VIEWER]))["dryRunAutomationRule"]
    assert result["matches"] is True and result["reasons"] == []
    assert result["actions"] == [f"create task 'Test Build' in project {pk(web['id'])}"]
    await settled(agql, manager, 1)
    assert await count(database, m.Task, m.Task.title == "Test Build") == 1  # by the rule itself, not the dry run


async def test_rules_and_runs_stay_in_their_organisation(agql, acme, globex, database):
    theirs = await create_project(agql, globex[Role.MANAGER], "WEB")
    await create_rule(agql, globex[Role.MANAGER], name="Theirs", actions=[{"type": "ADD_COMMENT", "params": {"body": "g"}}])
    mine = await create_project(agql, acme[Role.MANAGER], "WEB")
    task = await create_task(agql, acme[Role.MANAGER], mine["id"], "Mine")
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, acme[Role.MANAGER])
    their_task = await create_task(agql, globex[Role.MANAGER], theirs["id"], "Theirs")
    await succeed(agql, "setTaskState", {"taskId": their_task["id"], "state": "in_progress"}, globex[Role.MANAGER])
    await settled(agql, globex[Role.VIEWER], 1)
    assert await runs(agql, acme[Role.VIEWER]) == []
    rules = (await agql.data("{ automationRules { nodes { name } } }", token=acme[Role.VIEWER]))["automationRules"]["nodes"]
    assert rules == []
    assert await count(database, m.Comment, m.Comment.body == "g") == 1


@pytest.fixture
def receiver() -> Any:
    """A local webhook receiver answering 500 first, then 200; yields (url, requests)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from tests.live import serving

    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return Response("busy" if len(received) == 1 else "ok", status_code=500 if len(received) == 1 else 200)

    with serving(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        yield url + "/hook", received


async def test_a_webhook_is_signed_retried_logged_and_redelivered_with_one_delivery_id(agql, auto_app, acme, receiver, clock):
    from standardwebhooks import Webhook, WebhookVerificationError

    from mcgraph.domain import webhook_secrets

    clock.set(datetime.now(UTC))  # the receiver checks the delivery's timestamp against its own clock
    url, received = receiver
    secret = webhook_secrets.generate()
    runtime = auto_app.state.runtime
    object.__setattr__(runtime, "settings", runtime.settings.model_copy(update={"webhook_allow": ["127.0.0.1"]}))
    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    rule = await create_rule(agql, manager, name="Tell CI", actions=[{"type": "SEND_WEBHOOK", "params": {"url": url, "secret": secret}}])
    assert rule["actions"][0]["params"] == {"url": url, "secret": "********"}
    task = await create_task(agql, manager, web["id"], "T")
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)

    (run,) = await settled(agql, manager, 1)
    assert (run["state"], run["attempts"]) == ("SUCCEEDED", 2)
    deliveries_query = "query($id: ID!) { node(id: $id) { ... on AutomationRun { deliveries { deliveryId attempt ok status error } } } }"
    deliveries = (await agql.data(deliveries_query, {"id": run["id"]}, token=manager))["node"]["deliveries"]
    assert [(d["attempt"], d["ok"], d["status"]) for d in deliveries] == [(1, False, 500), (2, True, 200)]
    assert len({d["deliveryId"] for d in deliveries}) == 1
    assert [headers["webhook-id"] for headers, _ in received] == [deliveries[0]["deliveryId"]] * 2
    # A receiver using the Standard Webhooks library, given the secret as it was saved.
    headers, body = received[-1]
    assert Webhook(secret).verify(body, headers)["event"]["type"] == "task.state_changed"
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_secrets.generate()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"task.state_changed", b"task.deleted"), headers)

    redeliver = "mutation($id: ID!) { redeliverWebhook(input: {runId: $id, actionIndex: 0}) { run { state } userErrors { code } } }"
    assert (await agql.data(redeliver, {"id": run["id"]}, token=manager))["redeliverWebhook"] == {"run": {"state": "QUEUED"}, "userErrors": []}
    deadline = time.monotonic() + 15
    while len(deliveries := (await agql.data(deliveries_query, {"id": run["id"]}, token=manager))["node"]["deliveries"]) < 3:
        assert time.monotonic() < deadline, deliveries
        await asyncio.sleep(0.02)
    assert (deliveries[2]["attempt"], deliveries[2]["ok"]) == (3, True)
    assert received[2][0]["webhook-id"] == received[0][0]["webhook-id"]


async def _look(database_url: str, organization_id: int) -> tuple[bool, str]:
    """Whether a write transaction of the organisation stays open (its write lock held
    for 2 s), and the state of the one automation run, as another connection sees them.

    Other short writers (the relay marking events published, a token's last use) may hold
    the lock for a moment: the look waits up to 2 s for it, as a writer would.
    """
    if database_url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(database_url.split("///", 1)[1], timeout=2, isolation_level=None)
        try:
            (state,) = connection.execute("SELECT state FROM automation_run").fetchone()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
                return False, state
            except sqlite3.OperationalError:
                return True, state
        finally:
            connection.close()
    import asyncpg

    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        state = await connection.fetchval("SELECT state FROM automation_run")
        try:
            async with connection.transaction():
                await connection.execute("SET LOCAL lock_timeout = '2s'")
                await connection.execute("SELECT pg_advisory_xact_lock($1)", ORGANIZATION_WRITE_LOCK + organization_id)
        except asyncpg.LockNotAvailableError:
            return True, state
        return False, state
    finally:
        await connection.close()


async def test_a_webhook_is_sent_with_no_transaction_open_while_its_run_shows_running(agql, auto_app, acme, database, database_url):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from tests.live import serving

    seen: list[tuple[bool, str]] = []
    async with database.session() as session:
        organization_id = await session.scalar(select(m.Organization.id).where(m.Organization.slug == "acme"))

    async def hook(_request: Request) -> Response:
        seen.append(await _look(database_url, organization_id))
        return Response("ok")

    runtime = auto_app.state.runtime
    object.__setattr__(runtime, "settings", runtime.settings.model_copy(update={"webhook_allow": ["127.0.0.1"]}))
    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    async with serving(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        await create_rule(agql, manager, name="Tell CI", actions=[{"type": "SEND_WEBHOOK", "params": {"url": url + "/hook"}}])
        task = await create_task(agql, manager, web["id"], "T")
        await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)
        (run,) = await settled(agql, manager, 1)
    assert run["state"] == "SUCCEEDED"
    # while the receiver answered, no write of the organisation waited on it, and the run showed RUNNING
    assert [(waiting, state.upper()) for waiting, state in seen] == [(False, "RUNNING")]


async def test_a_completed_run_of_one_process_triggers_its_rule(agql, acme, database):
    from tests.conftest import process_ok
    from tests.test_process_scenarios import make_process, set_state, tasks_of

    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    steps = [{"key": "check", "name": "Check", "durationHours": 1}]
    watched = await make_process(agql, manager, "AUDIT", steps)
    other = await make_process(agql, manager, "OTHER", steps)
    await create_rule(
        agql, manager, name="After audits",
        trigger={"kind": "RUN_COMPLETED", "processId": watched["id"]},
        actions=[{"type": "CREATE_TASK", "params": {"projectId": web["id"], "title": "Act on {{ run.name }}"}}],
    )
    for process in (other, watched):
        run = (await process_ok(agql, "startProcessRun", {"processKey": process["key"]}, manager))["run"]
        await set_state(agql, manager, tasks_of(run)["check"], "done")

    (only,) = await settled(agql, manager, 1)
    assert (only["state"], only["event"]["type"]) == ("SUCCEEDED", "process_run.completed")
    async with database.session() as session:
        titles = list(await session.scalars(select(m.Task.title).where(m.Task.title.like("Act on %"))))
    assert titles == ["Act on Process AUDIT #1"]


async def test_a_rule_does_not_act_on_events_from_before_it_existed(agql, acme, auto_app, clock, database):
    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    task = await create_task(agql, manager, web["id"], "T")
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)
    clock.advance(minutes=1)
    await create_rule(agql, manager, name="Note", actions=[{"type": "ADD_COMMENT", "params": {"body": "noted"}}])
    async with database.session() as session:
        earlier = await session.scalar(select(m.Event.id).where(m.Event.type == "task.state_changed"))
    # the relay hands the earlier event on late (a restart, a backlog): it calls for no run
    assert await engine.dispatch(auto_app.state.runtime, [earlier]) == []
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "done"}, manager)
    (run,) = await settled(agql, manager, 1)
    assert run["state"] == "SUCCEEDED"
    assert await count(database, m.AutomationRun) == 1
