"""Observability: /metrics in the Prometheus text format, and one log line per GraphQL request."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import dramatiq
import httpx
import pytest
import structlog
from dramatiq.brokers.stub import StubBroker
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from mcgraph.app import create_app
from mcgraph.db import models as m
from mcgraph.db.models import Role
from mcgraph.logs import REDACTED, redact_secrets
from mcgraph.metrics import Metrics, queue_depths
from mcgraph.testing import START, eventually
from tests.live import Http, open_socket
from tests.project_helpers import create_project, create_task, succeed

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

CREATE_PROJECT = """mutation CreateProject($input: CreateProjectInput!) {
  createProject(input: $input) { project { id key } userErrors { code } } }"""
VIEWER = "query Viewer { viewer { role } }"


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests(samples: Samples, operation: str, outcome: str) -> float:
    return value(samples, "mcgraph_graphql_requests_total", operation=operation, outcome=outcome)


async def test_requests_are_counted_by_operation_and_outcome(http, gql, acme):
    token = acme[Role.MANAGER]
    before = await scrape(http)

    await gql.data(VIEWER, token=token)
    created = await gql.data(CREATE_PROJECT, {"input": {"key": "WEB", "name": "Website"}}, token=token)
    assert created["createProject"]["userErrors"] == []
    again = await gql.data(CREATE_PROJECT, {"input": {"key": "WEB", "name": "Website again"}}, token=token)
    assert again["createProject"]["userErrors"] != []
    assert "errors" in await gql("query Broken { viewer { nothingHere } }", token=token)
    assert "errors" in await gql("query Unparsed { viewer {", token=token)  # a name in a broken document is unknown
    assert "errors" in await gql("{ viewer { role } }")  # no token: UNAUTHENTICATED
    assert (await http.put("/graphql", json={"query": "{ viewer { role } }"})).status_code == 405

    after = await scrape(http)
    moved = {
        (operation, outcome): requests(after, operation, outcome) - requests(before, operation, outcome)
        for operation, outcome in [
            ("Viewer", "ok"),
            ("CreateProject", "ok"),
            ("CreateProject", "user_error"),
            ("Broken", "refused"),
            ("(anonymous)", "refused"),
            ("(anonymous)", "user_error"),
            ("(none)", "refused"),
        ]
    }
    assert moved == dict.fromkeys(moved, 1.0)
    histogram = "mcgraph_graphql_request_duration_seconds_count"
    assert value(after, histogram, operation="CreateProject") - value(before, histogram, operation="CreateProject") == 2
    assert value(after, histogram, operation="Viewer") - value(before, histogram, operation="Viewer") == 1


async def test_events_written_and_published_are_counted(http, gql, acme):
    before = await scrape(http)
    created = await gql.data(CREATE_PROJECT, {"input": {"key": "OPS", "name": "Operations"}}, token=acme[Role.MANAGER])
    assert created["createProject"]["userErrors"] == []
    written = value(await scrape(http), "mcgraph_events_written_total") - value(before, "mcgraph_events_written_total")
    assert written >= 1

    async def published() -> None:
        now = await scrape(http)
        assert value(now, "mcgraph_events_published_total") - value(before, "mcgraph_events_published_total") >= written
        assert value(now, "mcgraph_relay_lag_seconds") == 0

    await eventually(published)


@pytest.fixture
async def quiet_app(settings, clock) -> AsyncIterator[Any]:
    """The app with no periodic relay sweep: an event left unpublished stays so until swept."""
    application = create_app(settings.model_copy(update={"relay_sweep_seconds": 0}), clock=clock)
    async with application.router.lifespan_context(application):
        yield application


async def test_relay_lag_is_the_age_of_the_oldest_unpublished_event(quiet_app, acme, database):
    async with database.transaction() as session:
        organization_id = await session.scalar(select(m.Organization.id).where(m.Organization.slug == "acme"))
        session.add(m.Event(organization_id=organization_id, type="project.created", subject_type="Project", subject_id=1,
                            occurred_at=START - timedelta(seconds=90)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=quiet_app), base_url="http://testserver") as http:
        before = await scrape(http)
        assert value(before, "mcgraph_relay_lag_seconds") == 90
        assert await quiet_app.state.runtime.relay.sweep(everything=True) == 1
        after = await scrape(http)
    assert value(after, "mcgraph_relay_lag_seconds") == 0
    assert value(after, "mcgraph_events_published_total") - value(before, "mcgraph_events_published_total") == 1


async def test_automation_runs_appear_by_state(http, gql, acme):
    manager = acme[Role.MANAGER]
    rule = """mutation($input: CreateAutomationRuleInput!) { createAutomationRule(input: $input) { userErrors { code } } }"""
    data = await gql.data(rule, {"input": {
        "name": "Comment on progress", "trigger": {"kind": "EVENT", "eventType": "task.state_changed"},
        "actions": [{"type": "ADD_COMMENT", "params": {"body": "Moved"}}],
    }}, token=manager)
    assert data["createAutomationRule"]["userErrors"] == []
    assert value(await scrape(http), "mcgraph_automation_runs", state="succeeded") == 0

    project = await create_project(gql, manager, "WEB")
    task = await create_task(gql, manager, project["id"], "Ship")
    await succeed(gql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)

    async def ran() -> None:
        samples = await scrape(http)
        assert value(samples, "mcgraph_automation_runs", state="succeeded") == 1
        assert value(samples, "mcgraph_automation_runs", state="dead") == 0

    await eventually(ran, timeout=15)


async def test_the_in_process_broker_queue_shows(http):
    samples = await scrape(http)
    queues = {dict(labels)["queue"] for name, labels in samples if name == "mcgraph_broker_queue_depth"}
    assert any(queue.endswith("_automations") for queue in queues), queues


async def test_a_subscription_shows_in_the_gauges_until_closed(live, acme):
    async with httpx.AsyncClient(base_url=live.url) as http:

        async def gauges(connections: float, subscriptions: float) -> None:
            async def check() -> None:
                samples = await scrape(http)
                assert value(samples, "mcgraph_websocket_connections") == connections
                assert value(samples, "mcgraph_subscriptions_active") == subscriptions

            await eventually(check)

        await gauges(0, 0)
        async with Http(live.url) as client, open_socket(live.url, acme[Role.VIEWER]) as sock:
            await client.data(CREATE_PROJECT, {"input": {"key": "WEB", "name": "Web"}}, token=acme[Role.MANAGER])
            await gauges(1, 0)
            await sock.subscribe("subscription { portfolioChanged { event { type } } }")
            await live.listening(1)
            await gauges(1, 1)
        await gauges(0, 0)


async def test_a_request_writes_one_log_line_without_the_token(gql, acme, database):
    token = acme[Role.MANAGER]
    with structlog.testing.capture_logs() as lines:
        await gql.data(VIEWER, token=token)
        request_id = gql.last_response.headers["x-request-id"]
        created = await gql.data(
            "mutation NewToken { createApiToken(input: {name: \"ci\"}) { secret userErrors { code } } }", token=token
        )
    secret = created["createApiToken"]["secret"]
    assert secret
    requests_logged = [line for line in lines if line["event"] == "graphql request"]
    assert [line["operation"] for line in requests_logged] == ["Viewer", "NewToken"]
    line = requests_logged[0]
    async with database.session() as session:
        user = await session.scalar(select(m.User).where(m.User.email == "manager@acme.test"))
        organization_id = await session.scalar(select(m.Organization.id).where(m.Organization.slug == "acme"))
    assert line["request_id"] == request_id
    assert (line["organization_id"], line["user_id"]) == (organization_id, user.id)
    assert line["outcome"] == "ok" and line["transport"] == "http" and line["operation_type"] == "query"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    written = repr(lines)
    assert token not in written and secret not in written


async def test_a_field_named_like_a_credential_is_redacted():
    line = redact_secrets(None, "info", {"event": "x", "authorization": "Bearer abc", "api_token": "abc", "token_id": 7})
    assert line == {"event": "x", "authorization": REDACTED, "api_token": REDACTED, "token_id": 7}


def test_operation_names_from_clients_are_bounded():
    metrics = Metrics()
    labels = {metrics.operation_label(f"Op{n}") for n in range(500)}
    assert len(labels) == 201 and "(other)" in labels
    assert metrics.operation_label("not a name!") == "(invalid)"
    assert metrics.operation_label(None) == "(anonymous)"


def test_queue_depth_of_the_in_process_broker():
    broker = StubBroker()
    queue = f"q_{uuid.uuid4().hex[:8]}"
    actor = dramatiq.actor(lambda: None, broker=broker, actor_name="noop", queue_name=queue)
    actor.send()
    actor.send()
    actor.send_with_options(delay=60_000)
    assert queue_depths(broker) == {queue: 2, f"{queue}.DQ": 1}


def test_queue_depth_of_a_redis_broker(redis_url):
    if redis_url is None:
        pytest.skip("Redis does not answer")
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=redis_url, namespace=f"test-{uuid.uuid4().hex[:8]}")
    try:
        actor = dramatiq.actor(lambda: None, broker=broker, actor_name="noop", queue_name="work")
        actor.send()
        actor.send()
        assert queue_depths(broker) == {"work": 2, "work.DQ": 0}
    finally:
        broker.flush_all()
        broker.close()


async def test_queue_depth_of_a_rabbitmq_broker(rabbitmq_url):
    if rabbitmq_url is None:
        pytest.skip("RabbitMQ does not answer")
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    broker = RabbitmqBroker(url=rabbitmq_url)
    queue = f"test_{uuid.uuid4().hex[:8]}"
    try:
        actor = dramatiq.actor(lambda: None, broker=broker, actor_name="noop", queue_name=queue)
        actor.send()

        async def counted() -> None:  # RabbitMQ's count follows the publish shortly after
            assert await asyncio.to_thread(queue_depths, broker) == {queue: 1, f"{queue}.DQ": 0}

        await eventually(counted)
    finally:
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            broker.channel.queue_delete(name)
        broker.close()
