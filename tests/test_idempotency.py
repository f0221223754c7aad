"""Idempotency keys on mutations: one effect per key, the first answer replayed."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from mcgraph.api.idempotency import Idempotency, request_hash
from mcgraph.db import Database
from mcgraph.db import models as m
from mcgraph.db.models import Role
from mcgraph.domain import projects

CREATE = "mutation Create($input: CreateProjectInput!) { createProject(input: $input) { userErrors { field code } project { id key name } } }"
VIEWER = "query Me { viewer { user { email } } }"


async def post(http: httpx.AsyncClient, body: dict[str, Any], token: str | None, key: str | None) -> httpx.Response:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if key is not None:
        headers["Idempotency-Key"] = key
    return await http.post("/graphql", json=body, headers=headers)


def create(key: str, name: str = "Website") -> dict[str, Any]:
    return {"query": CREATE, "variables": {"input": {"key": key, "name": name}}}


async def count(database: Database, model: type) -> int:
    async with database.session() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def claim(database: Database, email: str, key: str, body: dict[str, Any], clock: Any) -> int:
    """A claim on ``key`` by the user ``email`` of acme, as a request still running holds it."""
    async with database.transaction() as session:
        user = await session.scalar(select(m.User).where(m.User.email == email))
        organization = await session.scalar(select(m.Organization).where(m.Organization.slug == "acme"))
        row = m.IdempotencyKey(
            organization_id=organization.id,
            user_id=user.id,
            key=key,
            request_hash=request_hash(json.dumps(body).encode()),
            created_at=clock.now(),
        )
        session.add(row)
        await session.flush()
        return row.id


async def test_the_same_key_twice_replays_the_first_answer(http, acme, database):
    first = await post(http, create("WEB"), acme[Role.MANAGER], "order-1")
    again = await post(http, create("WEB"), acme[Role.MANAGER], "order-1")

    assert first.status_code == again.status_code == 200
    assert first.json()["data"]["createProject"]["project"]["key"] == "WEB"
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count(database, m.Project) == 1
    async with database.session() as session:
        row = await session.scalar(select(m.IdempotencyKey))
    assert (row.key, row.status_code, row.completed_at is not None) == ("order-1", 200, True)


async def test_key_order_and_spacing_of_the_body_do_not_make_another_request(http, acme, database):
    token = acme[Role.MANAGER]
    await post(http, create("WEB"), token, "order-1")
    reordered = {"variables": {"input": {"name": "Website", "key": "WEB"}}, "query": CREATE}
    again = await post(http, reordered, token, "order-1")

    assert again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert await count(database, m.Project) == 1


async def test_ten_identical_requests_at_once_have_one_effect_and_one_answer(http, acme, database):
    responses = await asyncio.gather(*(post(http, create("WEB"), acme[Role.MANAGER], "burst") for _ in range(10)))

    assert {response.status_code for response in responses} == {200}
    assert len({response.content for response in responses}) == 1
    assert responses[0].json()["data"]["createProject"]["userErrors"] == []
    assert sum(response.headers.get("idempotent-replayed") == "true" for response in responses) == 9
    assert await count(database, m.Project) == 1
    assert await count(database, m.IdempotencyKey) == 1


async def test_the_same_key_with_another_body_is_refused_and_writes_nothing(http, acme, database):
    token = acme[Role.MANAGER]
    await post(http, create("WEB", "Website"), token, "order-1")
    projects_before, events_before = await count(database, m.Project), await count(database, m.Event)

    refused = await post(http, create("APP", "Mobile app"), token, "order-1")

    assert refused.status_code == 422
    body = refused.json()
    assert "data" not in body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert "idempotent-replayed" not in refused.headers
    assert (await count(database, m.Project), await count(database, m.Event)) == (projects_before, events_before)


async def test_users_with_the_same_key_are_independent(http, acme, database):
    mine = await post(http, create("WEB"), acme[Role.MANAGER], "shared-key")
    theirs = await post(http, create("APP", "Mobile app"), acme[Role.OWNER], "shared-key")

    assert theirs.status_code == 200
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["data"]["createProject"]["project"]["key"] == "APP"
    assert mine.json()["data"]["createProject"]["project"]["key"] == "WEB"
    assert await count(database, m.Project) == 2


async def test_organisations_with_the_same_key_are_independent(http, acme, globex, database):
    await post(http, create("WEB"), acme[Role.MANAGER], "shared-key")
    theirs = await post(http, create("WEB"), globex[Role.MANAGER], "shared-key")

    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["data"]["createProject"]["userErrors"] == []
    assert await count(database, m.Project) == 2


async def test_a_query_ignores_the_header(http, acme, database):
    answers = [await post(http, {"query": VIEWER}, acme[Role.VIEWER], "look-1") for _ in range(2)]

    assert [answer.json()["data"]["viewer"]["user"]["email"] for answer in answers] == ["viewer@acme.test"] * 2
    assert all("idempotent-replayed" not in answer.headers for answer in answers)
    assert await count(database, m.IdempotencyKey) == 0


async def test_a_request_without_a_token_ignores_the_header(http, database):
    answer = await post(http, create("WEB"), None, "order-1")

    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await count(database, m.IdempotencyKey) == 0


@pytest.mark.parametrize("key", ["", " ", "k" * 256, "tab\there", "bell\x07"], ids=["empty", "blank", "too-long", "tab", "control"])
async def test_a_bad_key_is_refused_before_anything_runs(http, acme, database, key):
    refused = await post(http, create("WEB"), acme[Role.MANAGER], key)

    assert refused.status_code == 400
    assert [error["extensions"]["code"] for error in refused.json()["errors"]] == ["BAD_USER_INPUT"]
    assert (await count(database, m.Project), await count(database, m.IdempotencyKey)) == (0, 0)


async def test_the_longest_key_is_accepted(http, acme, database):
    answer = await post(http, create("WEB"), acme[Role.MANAGER], "k" * 255)

    assert answer.json()["data"]["createProject"]["userErrors"] == []
    assert await count(database, m.IdempotencyKey) == 1


@pytest.mark.parametrize("key", ["order 1", " ~", "~ "], ids=["inner-space", "space-first", "space-last"])
async def test_a_key_with_a_space_is_accepted(http, acme, database, key):
    # space (0x20) is the lowest printable character; only a key of nothing but spaces is blank
    answer = await post(http, create("WEB"), acme[Role.MANAGER], key)
    again = await post(http, create("WEB"), acme[Role.MANAGER], key)

    assert answer.json()["data"]["createProject"]["userErrors"] == []
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert (await count(database, m.Project), await count(database, m.IdempotencyKey)) == (1, 1)


async def test_an_internal_failure_releases_the_key_for_a_retry(http, acme, database, monkeypatch):
    real = projects.create_project
    calls = 0

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the disk is on fire")
        return await real(*args, **kwargs)

    monkeypatch.setattr(projects, "create_project", failing_once)
    failed = await post(http, create("WEB"), acme[Role.MANAGER], "order-1")
    assert [error["extensions"]["code"] for error in failed.json()["errors"]] == ["INTERNAL"]
    assert await count(database, m.IdempotencyKey) == 0

    retried = await post(http, create("WEB"), acme[Role.MANAGER], "order-1")
    assert "idempotent-replayed" not in retried.headers
    assert retried.json()["data"]["createProject"]["project"]["key"] == "WEB"
    assert (calls, await count(database, m.Project)) == (2, 1)


async def test_an_expired_key_may_be_used_again(http, acme, database, clock):
    await post(http, create("WEB"), acme[Role.MANAGER], "order-1")
    clock.advance(timedelta(seconds=86_400))

    later = await post(http, create("APP", "Mobile app"), acme[Role.MANAGER], "order-1")

    assert later.status_code == 200
    assert "idempotent-replayed" not in later.headers
    assert later.json()["data"]["createProject"]["project"]["key"] == "APP"
    assert await count(database, m.Project) == 2
    assert await count(database, m.IdempotencyKey) == 1  # the expired row went when the new one came


async def test_a_request_waits_for_the_answer_of_the_one_still_running(http, acme, database, clock, monkeypatch):
    claimed = await claim(database, "manager@acme.test", "order-1", create("WEB"), clock)
    looks = 0
    find = Idempotency._find

    async def counted_find(self: Idempotency, slot: Any) -> Any:
        nonlocal looks
        looks += 1
        return await find(self, slot)

    monkeypatch.setattr(Idempotency, "_find", counted_find)
    waiting = asyncio.create_task(post(http, create("WEB"), acme[Role.MANAGER], "order-1"))
    deadline = time.monotonic() + 10
    while looks < 2 and not waiting.done():  # it found the claim unanswered and looks again
        assert time.monotonic() < deadline, "the request never waited"
        await asyncio.sleep(0.01)
    assert not waiting.done()

    stored = '{"data":{"createProject":{"userErrors":[],"project":null}}}'
    async with database.transaction() as session:
        row = await session.get(m.IdempotencyKey, claimed)
        row.status_code, row.content_type, row.response_body, row.completed_at = 200, "application/json", stored, clock.now()
    answer = await asyncio.wait_for(waiting, timeout=10)

    assert (answer.status_code, answer.text) == (200, stored)
    assert answer.headers.get("idempotent-replayed") == "true"
    assert await count(database, m.Project) == 0


async def test_a_request_that_waits_too_long_gets_a_conflict(http, acme, database, clock, monkeypatch):
    await claim(database, "manager@acme.test", "order-1", create("WEB"), clock)
    monkeypatch.setattr(Idempotency, "wait_seconds", 0.2)

    answer = await post(http, create("WEB"), acme[Role.MANAGER], "order-1")

    assert answer.status_code == 409
    assert [error["extensions"]["code"] for error in answer.json()["errors"]] == ["CONFLICT"]
    assert await count(database, m.Project) == 0


async def test_a_claim_abandoned_long_ago_is_taken_over(http, acme, database, clock):
    await claim(database, "manager@acme.test", "order-1", create("WEB"), clock)
    clock.advance(seconds=Idempotency.stale_seconds + 1)

    answer = await post(http, create("WEB"), acme[Role.MANAGER], "order-1")

    assert "idempotent-replayed" not in answer.headers
    assert answer.json()["data"]["createProject"]["project"]["key"] == "WEB"
    assert await count(database, m.Project) == 1
    async with database.session() as session:
        assert (await session.scalar(select(m.IdempotencyKey))).status_code == 200
