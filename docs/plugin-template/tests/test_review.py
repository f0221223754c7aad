"""The review plugin: its gate as a plain function, then end to end through GraphQL.

The fixtures (mcgraph_client, mcgraph_clock, ...) come from mcgraph.testing, loaded
automatically; each GraphQL test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from mcgraph.testing import eventually

from mcgraph_review.rules import gate_reasons

APPROVALS = "query($id: ID!) { project(id: $id) { reviewApprovals } }"
RULE = "mutation($i: CreateAutomationRuleInput!) { createAutomationRule(input: $i) { userErrors { message } } }"
RUNS = "{ automationRuns(first: 10) { nodes { state results { output } } } }"


def test_the_gate_needs_the_approvals_the_settings_ask_for():
    assert gate_reasons(0, 1) == ["nobody has approved the review yet"]
    assert gate_reasons(1, 3) == ["1 of the 3 approvals needed so far"]
    assert gate_reasons(3, 3) == []


async def create_project(client, methodology: str = "review") -> str:
    payload = await client.mutate("createProject", {"key": "DOC", "name": "Docs", "methodology": methodology}, "project { id }")
    return payload["project"]["id"]


async def move(client, project: str, stage: str) -> list[str]:
    payload = await client.mutate("moveProjectStage", {"projectId": project, "stage": stage}, ok=False)
    return [error["message"] for error in payload["userErrors"]]


async def test_publishing_waits_for_an_approval(mcgraph_client):
    project = await create_project(mcgraph_client)
    assert await move(mcgraph_client, project, "review") == []
    assert await move(mcgraph_client, project, "published") == ["review: nobody has approved the review yet"]

    for _ in range(2):  # approving twice counts once
        approved = await mcgraph_client.mutate("approveProjectReview", {"projectId": project}, "reviewApprovals")
        assert approved["reviewApprovals"] == 1
    assert await move(mcgraph_client, project, "published") == []


async def test_other_methodologies_have_no_review(mcgraph_client):
    project = await create_project(mcgraph_client, "simple")
    assert (await mcgraph_client.data(APPROVALS, {"id": project}))["project"]["reviewApprovals"] is None
    refused = await mcgraph_client.mutate("approveProjectReview", {"projectId": project}, ok=False)
    assert refused["userErrors"][0]["field"] == ["projectId"]


async def test_viewers_may_not_approve(mcgraph_client):
    project = await create_project(mcgraph_client)
    viewer = await mcgraph_client.as_member("viewer@acme.test", "viewer")
    body = await viewer("mutation($i: ApproveProjectReviewInput!) { approveProjectReview(input: $i) { reviewApprovals } }", {"i": {"projectId": project}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.fixture
def two_approvals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCGRAPH_REVIEW_REQUIRED_APPROVALS", "2")


async def test_the_setting_raises_the_number_of_approvals(two_approvals, mcgraph_client):
    project = await create_project(mcgraph_client)
    await mcgraph_client.mutate("approveProjectReview", {"projectId": project})
    assert await move(mcgraph_client, project, "published") == ["review: 1 of the 2 approvals needed so far"]
    member = await mcgraph_client.as_member("member@acme.test", "member")
    await member.mutate("approveProjectReview", {"projectId": project})
    assert await move(mcgraph_client, project, "published") == []


async def test_a_rule_approves_on_behalf_of_mcgraph(mcgraph_client):
    project = await create_project(mcgraph_client)
    rule = {
        "name": "New work approves",
        "trigger": {"kind": "EVENT", "eventType": "task.created"},
        "actions": [{"type": "review.approve", "params": {}}],
    }
    assert (await mcgraph_client.data(RULE, {"i": rule}))["createAutomationRule"]["userErrors"] == []
    for title in ("one", "two"):
        await mcgraph_client.mutate("createTask", {"projectId": project, "title": title})

    async def both_ran() -> list[dict[str, Any]]:
        runs = (await mcgraph_client.data(RUNS))["automationRuns"]["nodes"]
        assert [run["state"] for run in runs] == ["SUCCEEDED", "SUCCEEDED"], runs
        return runs

    outputs = [run["results"][0]["output"]["approved"] for run in await eventually(both_ran)]
    assert sorted(outputs) == [False, True]  # mcgraph approves once per project
    assert (await mcgraph_client.data(APPROVALS, {"id": project}))["project"]["reviewApprovals"] == 1
