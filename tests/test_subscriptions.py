"""Live status over a real WebSocket: subscribe, change something over HTTP, receive it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from mcgraph.db.models import Role
from mcgraph.settings import Settings
from tests.conftest import without_rate_limits
from tests.live import LEGACY_WS, TRANSPORT_WS, Http, open_socket, until

PROJECT = "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id key } userErrors { code } } }"
TASK = "mutation($i: CreateTaskInput!) { createTask(input: $i) { task { id key } userErrors { code } } }"
UPDATE_TASK = "mutation($i: UpdateTaskInput!) { updateTask(input: $i) { task { id } userErrors { code } } }"
STATE = "mutation($i: SetTaskStateInput!) { setTaskState(input: $i) { task { id } userErrors { code } } }"
VIEWER = "{ viewer { user { id } } }"

PROJECT_UPDATED = "subscription($id: ID!) { projectUpdated(id: $id) { event { type cursor } project { key } } }"
TASK_CHANGED = """subscription($p: ID, $a: ID) {
  taskChanged(projectId: $p, assigneeId: $a) { event { type changes { field before after } } task { title } }
}"""
EVENTS = "subscription($after: String, $types: [String!]) { events(after: $after, types: $types) { type cursor subjectType } }"
PORTFOLIO = "subscription { portfolioChanged { event { type changes { field before after } } project { key health { health } } process { key } } }"


async def create_project(http: Http, token: str, key: str, **fields: Any) -> str:
    data = await http.data(PROJECT, {"i": {"key": key, "name": key.title(), **fields}}, token=token)
    assert data["createProject"]["userErrors"] == []
    return data["createProject"]["project"]["id"]


async def create_task(http: Http, token: str, project_id: str, title: str, **fields: Any) -> str:
    data = await http.data(TASK, {"i": {"projectId": project_id, "title": title, **fields}}, token=token)
    assert data["createTask"]["userErrors"] == []
    return data["createTask"]["task"]["id"]


async def create_tasks(http: Http, token: str, project_id: str, count: int, prefix: str = "T") -> None:
    """``count`` tasks, fifteen to a request (aliased mutations run one after the other;
    fifteen aliases is the default MCGRAPH_MAX_ALIASES)."""
    for start in range(0, count, 15):
        fields = " ".join(
            f'm{n}: createTask(input: {{projectId: "{project_id}", title: "{prefix}{n}"}}) {{ userErrors {{ code }} }}'
            for n in range(start, min(start + 15, count))
        )
        data = await http.data(f"mutation {{ {fields} }}", token=token)
        assert all(payload["userErrors"] == [] for payload in data.values())


async def collect(sock: Any, count: int) -> list[dict[str, Any]]:
    return [await sock.receive() for _ in range(count)]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_change_made_over_http_reaches_the_subscriber(live, acme, protocol):
    token = acme[Role.MANAGER]
    async with Http(live.url) as http, open_socket(live.url, acme[Role.VIEWER], protocol) as sock:
        project = await create_project(http, token, "WEB")
        await sock.subscribe(PROJECT_UPDATED, {"id": project})
        await live.listening(1)
        await create_task(http, token, project, "Write the copy")

        first = await sock.data()
        assert first["projectUpdated"]["event"]["type"] == "task.created"
        assert first["projectUpdated"]["project"] == {"key": "WEB"}

        await http.data(STATE, {"i": {"taskId": await create_task(http, token, project, "Ship"), "state": "in_progress"}}, token=token)
        types = [r["projectUpdated"]["event"]["type"] for r in await sock.results(2)]
        assert types == ["task.created", "task.state_changed"]


async def test_subscriptions_keep_to_their_subject(live, acme):
    token = acme[Role.MANAGER]
    async with Http(live.url) as http, open_socket(live.url, token) as sock:
        web = await create_project(http, token, "WEB")
        ops = await create_project(http, token, "OPS")
        me = (await http.data(VIEWER, token=token))["viewer"]["user"]["id"]
        await sock.subscribe(TASK_CHANGED, {"p": web})
        await sock.subscribe(TASK_CHANGED, {"a": me})
        await sock.subscribe(PROJECT_UPDATED, {"id": ops})
        await live.listening(3)

        await create_task(http, token, ops, "Ops work")  # projectUpdated(OPS) only
        ops_update = await sock.receive()
        assert (ops_update["id"], ops_update["payload"]["data"]["projectUpdated"]["event"]["type"]) == ("3", "task.created")

        task = await create_task(http, token, web, "Web work")  # taskChanged(WEB)
        message = await sock.receive()
        assert message["id"] == "1"
        assert message["payload"]["data"]["taskChanged"]["task"] == {"title": "Web work"}

        await http.data(UPDATE_TASK, {"i": {"taskId": task, "assigneeId": me}}, token=token)  # both taskChanged
        received = {(await sock.receive())["id"] for _ in range(2)}
        assert received == {"1", "2"}

        await http.data(UPDATE_TASK, {"i": {"taskId": task, "assigneeId": None}}, token=token)
        by_id = {}
        for _ in range(2):
            message = await sock.receive()
            by_id[message["id"]] = message["payload"]["data"]["taskChanged"]["event"]["changes"]
        # the former assignee hears that the task left them
        assert by_id["2"] == [{"field": "assigneeId", "before": int(by_id["2"][0]["before"]), "after": None}]

        # nothing more came of those changes: the next message of each subscription is of a later one
        await create_task(http, token, web, "Web marker", assigneeId=me)  # both taskChanged
        await create_task(http, token, ops, "Ops marker")  # projectUpdated(OPS)
        following = {}
        for _ in range(3):
            message = await sock.receive()
            data = message["payload"]["data"]
            following[message["id"]] = data["taskChanged"]["task"]["title"] if "taskChanged" in data else data["projectUpdated"]["event"]["type"]
        assert following == {"1": "Web marker", "2": "Web marker", "3": "task.created"}


async def test_portfolio_changed_shows_health_changes(live, acme):
    token = acme[Role.MANAGER]
    async with Http(live.url) as http, open_socket(live.url, acme[Role.VIEWER]) as sock:
        await sock.subscribe(PORTFOLIO)
        await live.listening(1)
        project = await create_project(http, token, "WEB", startDate="2026-02-01", targetEndDate="2026-06-30")
        created = await sock.data()
        assert created["portfolioChanged"]["event"]["type"] == "project.created"
        assert created["portfolioChanged"]["project"]["key"] == "WEB"

        await create_task(http, token, project, "Overdue", dueDate="2026-02-20")  # the clock says 2026-03-02

        change = (await sock.data())["portfolioChanged"]
        assert change["event"]["type"] == "project.health_changed"
        assert change["event"]["changes"] == [{"field": "health", "before": "on_track", "after": "at_risk"}]
        assert change["project"] == {"key": "WEB", "health": {"health": "AT_RISK"}}
        # task events are not portfolio changes: the next one is the project created after them
        await create_project(http, token, "OPS")
        following = (await sock.data())["portfolioChanged"]
        assert (following["event"]["type"], following["project"]["key"]) == ("project.created", "OPS")


async def test_events_resume_from_a_cursor_without_gap_or_duplicate(live, acme):
    token = acme[Role.MANAGER]
    async with Http(live.url) as http:
        project = await create_project(http, token, "WEB")
        async with open_socket(live.url, token) as sock:
            await sock.subscribe(EVENTS, {"after": "0", "types": ["task.*"]})
            await create_tasks(http, token, project, 3, "Before")
            seen = [r["events"] for r in await sock.results(3)]
        assert [e["type"] for e in seen] == ["task.created"] * 3
        cursor = seen[-1]["cursor"]

        # while disconnected: 120 changes, more than one replay page of some
        await create_tasks(http, token, project, 120, "Missed")

        async with open_socket(live.url, token) as sock:
            await sock.subscribe(EVENTS, {"after": cursor, "types": ["task.created"]})
            # changes made during the replay come live, after it
            writer = asyncio.create_task(create_tasks(http, token, project, 30, "Live"))
            replayed = [r["events"] for r in await sock.results(150)]
            await writer
            # nothing more, nothing twice: the next event is the one written after them all
            await create_tasks(http, token, project, 1, "Marker")
            following = (await sock.data())["events"]
            assert following["type"] == "task.created"
            assert int(following["cursor"]) > max(int(e["cursor"]) for e in replayed)

        cursors = [int(e["cursor"]) for e in replayed]
        assert cursors == sorted(set(cursors)), "every event once, in order"
        assert cursors[0] > int(cursor)
        logged, after = [], cursor
        async with Http(live.url) as check:
            while True:
                page = (await check.data(
                    '{ events(after: "%s", types: ["task.created"], first: 100) { nodes { cursor } } }' % after, token=token
                ))["events"]["nodes"]
                if not page:
                    break
                logged += [int(n["cursor"]) for n in page]
                after = page[-1]["cursor"]
        assert logged == [*cursors, int(following["cursor"])]  # the marker ends the log


async def test_an_event_committed_as_a_replay_begins_is_sent_once(live, acme, monkeypatch):
    """A commit between the check of the cursor and the listener's start is replayed.

    On SQLite a read transaction keeps the snapshot of its first statement: the replay
    must not read in the one that checked the cursor, which began before the listener
    took its starting point (the event fell between the two, sent by neither)."""
    token = acme[Role.MANAGER]
    async with Http(live.url) as http:
        project = await create_project(http, token, "WEB")
        async with open_socket(live.url, token) as sock:
            await sock.subscribe(EVENTS, {"after": None, "types": ["task.created"]})
            await live.listening(1)
            await create_task(http, token, project, "Before")
            cursor = (await sock.data())["events"]["cursor"]

        listen = live.runtime.hub.listen

        @contextlib.asynccontextmanager
        async def listen_after_a_commit(*args: Any, **kwargs: Any) -> Any:
            monkeypatch.setattr(live.runtime.hub, "listen", listen)  # once
            async with Http(live.url) as between:  # served by the same loop meanwhile
                await create_task(between, token, project, "Between")
            async with listen(*args, **kwargs) as listener:
                yield listener

        monkeypatch.setattr(live.runtime.hub, "listen", listen_after_a_commit)
        async with open_socket(live.url, token) as sock:
            await sock.subscribe(EVENTS, {"after": cursor, "types": ["task.created"]})
            first = (await sock.data())["events"]
            await create_task(http, token, project, "After")
            second = (await sock.data())["events"]
    assert [int(first["cursor"]), int(second["cursor"])] == [int(cursor) + 1, int(cursor) + 2]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return without_rate_limits(settings)  # 1,000 writes with one token, faster than a token may


@pytest.mark.timeout(300)  # 1,020 writes through HTTP: about 100 s on a busy two-core machine
async def test_no_event_of_another_organisation_reaches_a_subscriber(live, acme, globex):
    async with Http(live.url) as http:
        web = await create_project(http, acme[Role.MANAGER], "WEB")
        rival = await create_project(http, globex[Role.MANAGER], "WEB")
        async with open_socket(live.url, acme[Role.VIEWER]) as mine, open_socket(live.url, globex[Role.VIEWER]) as theirs:
            await mine.subscribe(EVENTS, {"after": None})
            await theirs.subscribe(EVENTS, {"after": None})
            await mine.subscribe(TASK_CHANGED, {})
            await live.listening(3)
            # the two organisations write at the same time: 1,000 events for globex, 20 for acme;
            # both sockets are read meanwhile, as a dashboard would
            reading = asyncio.gather(collect(theirs, 1000), collect(mine, 40))
            await asyncio.gather(
                create_tasks(http, globex[Role.MANAGER], rival, 1000, "G"),
                create_tasks(http, acme[Role.MANAGER], web, 20, "A"),
            )
            their_messages, my_messages = await reading
            # nothing of globex comes after: the next messages are of acme's change made after all
            await create_task(http, acme[Role.MANAGER], web, "A-last")
            following = {m["id"]: m["payload"]["data"] for m in await collect(mine, 2)}
            assert following["1"]["events"]["cursor"] == "22"
            assert following["2"]["taskChanged"]["task"]["title"] == "A-last"

    their_events = [m["payload"]["data"]["events"] for m in their_messages]
    assert {e["type"] for e in their_events} == {"task.created"}
    # each organisation numbers its own events: after its project (1), its tasks 2, 3, ...
    assert {e["cursor"] for e in their_events} == {str(n) for n in range(2, 1002)}
    titles = sorted(m["payload"]["data"]["taskChanged"]["task"]["title"] for m in my_messages if m["id"] == "2")
    assert titles == sorted(f"A{n}" for n in range(20))
    my_cursors = {m["payload"]["data"]["events"]["cursor"] for m in my_messages if m["id"] == "1"}
    assert my_cursors == {str(n) for n in range(2, 22)}


async def test_one_serialisation_per_subscription_arguments_and_role(live, acme):
    feeds = live.feeds
    token = acme[Role.MANAGER]
    url = live.url
    async with Http(url) as http:
        project = await create_project(http, token, "WEB")
        sockets = [open_socket(url, acme[role]) for role in [Role.VIEWER] * 10 + [Role.MEMBER] * 5]
        opened = [await s.__aenter__() for s in sockets]
        try:
            for sock in opened:
                await sock.subscribe(PROJECT_UPDATED, {"id": project})
            # 15 subscriptions in 2 feeds (one per role), each listening once
            await until(lambda: feeds.member_count() == 15, "15 subscriptions in feeds")
            await live.listening(2)
            before = feeds.results_serialized
            await create_task(http, token, project, "One change")
            results = [await sock.data() for sock in opened]
        finally:
            for s in sockets:
                await s.__aexit__(None, None, None)
    assert {r["projectUpdated"]["event"]["type"] for r in results} == {"task.created"}
    assert feeds.results_serialized - before == 2


async def test_a_subscription_to_an_unknown_project_is_refused(live, acme, globex):
    async with Http(live.url) as http, open_socket(live.url, acme[Role.VIEWER]) as sock:
        theirs = await create_project(http, globex[Role.MANAGER], "WEB")
        await sock.subscribe(PROJECT_UPDATED, {"id": theirs})
        message = await sock.receive()
        assert message["type"] == "next"
        assert [e["extensions"]["code"] for e in message["payload"]["errors"]] == ["NOT_FOUND"]
        assert (await sock.receive())["type"] == "complete"
