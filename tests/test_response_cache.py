"""The response cache: a query's answer is served again while nothing it read changed,
and never after (see mcgraph.api.response_cache)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from mcgraph.app import create_app
from mcgraph.db.models import Role, Task
from mcgraph.testing import Client
from tests.helpers import statements
from tests.project_helpers import create_project, create_task, pk, succeed
from tests.test_process_schedules import scheduled

PORTFOLIO = """{ projects(first: 10, orderBy: {field: KEY}) { nodes {
  key name progress health { health reasons { code } } tasks(first: 5) { totalCount nodes { title state { key } } } } } }"""


def lookups(app: Any, outcome: str) -> float:
    return app.state.runtime.metrics.response_cache.labels(outcome)._value.get()


async def test_a_query_asked_again_is_answered_without_executing_it(app, gql, acme):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB")
    await create_task(gql, token, project["id"], "Design")
    first = await gql.data(PORTFOLIO, token=token)
    with statements(app) as seen:
        again = await gql.data(PORTFOLIO, token=token)
    assert again == first
    assert lookups(app, "hit") == 1
    # the token, then the organisation's data version: nothing of the projects is read
    assert not any("FROM project" in statement or "FROM task" in statement for statement in seen), seen


async def test_every_change_is_seen_by_the_next_query(app, gql, acme):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB")
    task = await create_task(gql, token, project["id"], "Design")
    await gql.data(PORTFOLIO, token=token)
    await succeed(gql, "updateTask", {"taskId": task["id"], "title": "Design the pages"}, token)
    assert (await gql.data(PORTFOLIO, token=token))["projects"]["nodes"][0]["tasks"]["nodes"][0]["title"] == "Design the pages"
    await succeed(gql, "setTaskState", {"taskId": task["id"], "state": "done"}, token)
    answer = (await gql.data(PORTFOLIO, token=token))["projects"]["nodes"][0]
    assert answer["progress"] == 1.0
    assert answer["tasks"]["nodes"][0]["state"]["key"] == "done"
    assert lookups(app, "hit") == 0


async def test_a_change_written_outside_the_api_is_seen_too(app, gql, acme):
    """A worker, the scheduler or another API process writes through its own session."""
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB")
    task = await create_task(gql, token, project["id"], "Design")
    await gql.data(PORTFOLIO, token=token)
    runtime = app.state.runtime
    async with runtime.database.transaction() as session:  # no organisation: the statement names none
        row = await session.get(Task, pk(task["id"]))
        row.title = "Written by a worker"
    assert (await gql.data(PORTFOLIO, token=token))["projects"]["nodes"][0]["tasks"]["nodes"][0]["title"] == "Written by a worker"


async def test_other_organisations_changes_leave_the_answer_kept(app, gql, acme, globex):
    token = acme[Role.MANAGER]
    await create_project(gql, token, "WEB")
    first = await gql.data(PORTFOLIO, token=token)
    await create_project(gql, globex[Role.MANAGER], "ERP")
    assert await gql.data(PORTFOLIO, token=token) == first
    assert lookups(app, "hit") == 1


async def test_each_viewer_has_answers_of_their_own(app, gql, acme):
    await create_project(gql, acme[Role.MANAGER], "WEB")
    viewer = "{ viewer { role user { email } } }"
    manager = await gql.data(viewer, token=acme[Role.MANAGER])
    member = await gql.data(viewer, token=acme[Role.MEMBER])
    assert manager["viewer"]["user"]["email"] != member["viewer"]["user"]["email"]
    assert lookups(app, "hit") == 0
    assert await gql.data(viewer, token=acme[Role.MEMBER]) == member
    assert lookups(app, "hit") == 1


async def test_variables_are_part_of_the_question(app, gql, acme):
    token = acme[Role.MANAGER]
    for key in ("WEB", "APP"):
        await create_project(gql, token, key)
    one = "query($key: String!) { project(key: $key) { key } }"
    assert (await gql.data(one, {"key": "WEB"}, token=token))["project"]["key"] == "WEB"
    assert (await gql.data(one, {"key": "APP"}, token=token))["project"]["key"] == "APP"
    assert lookups(app, "hit") == 0


async def test_an_answer_is_kept_for_its_day_only(app, gql, acme, clock):
    """Health reads the day: past its target end a project with open tasks is off track."""
    token = acme[Role.MANAGER]
    today = clock.now().date()
    project = await create_project(gql, token, "WEB", startDate=str(today), targetEndDate=str(today + timedelta(days=1)))
    await create_task(gql, token, project["id"], "Design")
    assert (await gql.data(PORTFOLIO, token=token))["projects"]["nodes"][0]["health"]["health"] == "ON_TRACK"
    clock.advance(days=2)
    later = (await gql.data(PORTFOLIO, token=token))["projects"]["nodes"][0]["health"]
    assert later["health"] == "OFF_TRACK"
    assert "PAST_TARGET_END" in [reason["code"] for reason in later["reasons"]]
    assert lookups(app, "hit") == 0


async def test_answers_that_read_the_time_are_not_kept(app, gql, acme, clock):
    token = acme[Role.MANAGER]
    await scheduled(gql, token)
    ask = '{ process(key: "MAINT") { schedule { nextRuns(count: 1) } } }'
    first = await gql.data(ask, token=token)
    clock.advance(days=7)
    assert await gql.data(ask, token=token) != first
    assert lookups(app, "hit") == 0


async def test_mutations_are_never_served_again(app, gql, acme):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB")
    titles = [(await create_task(gql, token, project["id"], "Same title"))["id"] for _ in range(2)]
    assert titles[0] != titles[1]
    assert lookups(app, "hit") + lookups(app, "miss") == 0


@pytest.fixture
async def uncached_app(settings, clock):
    app = create_app(settings.model_copy(update={"response_cache_mb": 0}), clock=clock)
    async with app.router.lifespan_context(app):
        yield app


async def test_the_cache_can_be_turned_off(uncached_app, database):
    async with Client.signed_in(uncached_app, "acme", "manager@acme.test", Role.MANAGER) as client:
        await client.data(PORTFOLIO)
        await client.data(PORTFOLIO)
    assert lookups(uncached_app, "hit") + lookups(uncached_app, "miss") == 0


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_a_kept_answer_is_sent_counted_and_logged_like_a_fresh_one(app, http, acme, accept):
    token = acme[Role.MANAGER]
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    body = {"query": "query Page { projects(first: 10) { nodes { key } } }"}
    fresh = await http.post("/graphql", json=body, headers=headers)
    with capture_logs() as lines:
        kept = await http.post("/graphql", json=body, headers=headers)
    assert lookups(app, "hit") == 1
    assert (kept.status_code, kept.content, kept.headers["content-type"]) == (fresh.status_code, fresh.content, fresh.headers["content-type"])
    requests = app.state.runtime.metrics.requests.labels("Page", "ok")._value.get()
    assert requests == 2
    (line,) = [line for line in lines if line["event"] == "graphql request"]
    assert (line["operation"], line["outcome"], line["operation_type"]) == ("Page", "ok", "query")
    assert line["request_id"] == kept.headers["x-request-id"]
