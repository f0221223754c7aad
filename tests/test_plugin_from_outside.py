"""A plugin from outside mcgraph's tree works end to end: the sample in docs/plugin-template,
found through an entry point only, migrated by ``upgrade``, and driven through GraphQL."""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mcgraph.db import Base
from mcgraph.db.migrate import upgrade
from mcgraph.domain.clock import FrozenClock
from mcgraph.settings import Settings
from mcgraph.testing import Client, eventually, running_app

TEMPLATE_SRC = Path(__file__).resolve().parent.parent / "docs" / "plugin-template" / "src"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

RULE = "mutation($i: CreateAutomationRuleInput!) { createAutomationRule(input: $i) { rule { id } userErrors { message } } }"
RUNS = "{ automationRuns(first: 20) { nodes { state results { type status output error } } } }"
APPROVALS = "query($id: ID!) { project(id: $id) { reviewApprovals stage { key } } }"


@pytest.fixture
def review_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The template registered as an installed distribution would be: by its entry point alone.

    monkeypatch takes the folders off sys.path again; the modules and the plugin's table
    are forgotten here, so that later tests see neither.
    """
    dist_info = tmp_path / "mcgraph_review-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: mcgraph-review\nVersion: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text("[mcgraph]\nreview = mcgraph_review.plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(TEMPLATE_SRC))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n == "mcgraph_review" or n.startswith("mcgraph_review.")]:
            del sys.modules[name]
        table = Base.metadata.tables.get("review_approval")
        if table is not None:
            Base.metadata.remove(table)
        importlib.invalidate_caches()


@pytest.fixture
async def client(review_installed: None, tmp_path: Path) -> AsyncIterator[Client]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'outside.db'}"
    upgrade(url)
    async with running_app(Settings(database_url=url), FrozenClock(START)) as app:
        async with Client.signed_in(app, "acme", "owner@acme.test", "owner") as signed_in:
            yield signed_in


def test_the_entry_point_is_found(review_installed: None) -> None:
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="mcgraph")}
    assert found["review"] == "mcgraph_review.plugin"


async def move(client: Client, project: str, stage: str) -> list[dict[str, Any]]:
    return (await client.mutate("moveProjectStage", {"projectId": project, "stage": stage}, ok=False))["userErrors"]


async def approvals(client: Client, project: str) -> int | None:
    return (await client.data(APPROVALS, {"id": project}))["project"]["reviewApprovals"]


async def test_the_review_plugin_works_through_graphql(client: Client) -> None:
    methodologies = (await client.data("{ methodologies { key plugin stages { key gated } } }"))["methodologies"]
    review = next(m for m in methodologies if m["key"] == "review")
    assert review["plugin"] == "review"
    assert [s for s in review["stages"] if s["gated"]] == [{"key": "published", "gated": True}]

    project = (await client.mutate("createProject", {"key": "REV", "name": "Handbook", "methodology": "review"}, "project { id }"))["project"]["id"]
    other = (await client.mutate("createProject", {"key": "SIM", "name": "Other"}, "project { id }"))["project"]["id"]
    assert await approvals(client, project) == 0
    assert await approvals(client, other) is None

    assert await move(client, project, "review") == []
    assert await move(client, project, "published") == [
        {"field": ["stage"], "message": "review: nobody has approved the review yet", "code": "GATE_REFUSED"}
    ]

    approved = await client.mutate("approveProjectReview", {"projectId": project}, "reviewApprovals")
    assert approved["reviewApprovals"] == 1
    assert await approvals(client, project) == 1
    assert await move(client, project, "published") == []

    rule = {
        "name": "New work approves the review",
        "trigger": {"kind": "EVENT", "eventType": "task.created"},
        "actions": [{"type": "review.approve", "params": {}}],
    }
    assert (await client.data(RULE, {"i": rule}))["createAutomationRule"]["userErrors"] == []
    await client.mutate("createTask", {"projectId": project, "title": "Proofread"}, "task { id }")

    async def approved_by_mcgraph() -> list[dict[str, Any]]:
        runs = (await client.data(RUNS))["automationRuns"]["nodes"]
        assert [run["state"] for run in runs] == ["SUCCEEDED"], runs
        assert await approvals(client, project) == 2
        return runs

    [run] = await eventually(approved_by_mcgraph)
    assert run["results"][0]["type"] == "review.approve"
    assert run["results"][0]["output"]["approved"] is True
