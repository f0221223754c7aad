"""The plugin's events and automation: ``waterfall.phase_entered`` follows a stage move,
and a rule on it can run ``waterfall.request_sign_off``."""

from __future__ import annotations

from typing import Any

from mcgraph.testing import Client, eventually

from test_waterfall_scenario import create_project, milestone, move

EVENTS = """query($types: [String!]) { events(first: 20, types: $types) { nodes { type data } } }"""
RULE = """mutation($input: CreateAutomationRuleInput!) { createAutomationRule(input: $input) {
  rule { id } userErrors { field message code } } }"""
CATALOG = "{ automationCatalog { triggers { eventType } actions { type optionalParams } } }"


async def events(client: Client, *types: str) -> list[dict[str, Any]]:
    return (await client.data(EVENTS, {"types": list(types)}))["events"]["nodes"]


async def open_requirements(client: Client, key: str) -> tuple[str, str]:
    """A waterfall project whose requirements phase is finished, and its design milestone."""
    project = await create_project(client, key)
    requirements = await milestone(client, project, "Requirements agreed", "requirements")
    design = await milestone(client, project, "Design approved", "design")
    await client.mutate("signOffMilestone", {"milestoneId": requirements}, "milestone { id }")
    return project, design


async def test_entering_a_phase_records_phase_entered(mcgraph_client: Client):
    project, _ = await open_requirements(mcgraph_client, "WA")
    assert await move(mcgraph_client, project, "design") == []
    assert await move(mcgraph_client, project, "requirements") == []

    async def both_recorded() -> list[dict[str, Any]]:
        found = await events(mcgraph_client, "waterfall.phase_entered")
        assert len(found) == 2, found
        return found

    found = await eventually(both_recorded)
    assert sorted((e["data"]["from"], e["data"]["phase"], e["data"]["rework"]) for e in found) == [
        ("design", "requirements", True),
        ("requirements", "design", False),
    ]


async def test_the_catalog_offers_the_plugins_triggers_and_action(mcgraph_client: Client):
    catalog = (await mcgraph_client.data(CATALOG))["automationCatalog"]
    triggers = {t["eventType"] for t in catalog["triggers"]}
    assert {"waterfall.phase_entered", "waterfall.sign_off_requested", "waterfall.phase_milestone_set"} <= triggers
    action = next(a for a in catalog["actions"] if a["type"] == "waterfall.request_sign_off")
    assert set(action["optionalParams"]) == {"projectId", "phase"}


async def test_a_rule_requests_the_sign_off_of_the_phase_entered(mcgraph_client: Client):
    project, design = await open_requirements(mcgraph_client, "WB")
    rule = {
        "name": "Ask for design sign-off",
        "trigger": {"kind": "EVENT", "eventType": "waterfall.phase_entered"},
        "actions": [{"type": "waterfall.request_sign_off", "params": {}}],
    }
    saved = (await mcgraph_client.data(RULE, {"input": rule}))["createAutomationRule"]
    assert saved["userErrors"] == []
    assert await move(mcgraph_client, project, "design") == []

    async def requested() -> dict[str, Any]:
        found = await events(mcgraph_client, "waterfall.sign_off_requested")
        assert len(found) == 1, found
        return found[0]

    found = await eventually(requested)
    assert found["data"]["phase"] == "design"
    assert found["data"]["milestone"] == "Design approved"


async def test_a_rule_with_an_unknown_phase_is_refused_when_saved(mcgraph_client: Client):
    rule = {
        "name": "Bad phase",
        "trigger": {"kind": "EVENT", "eventType": "waterfall.phase_entered"},
        "actions": [{"type": "waterfall.request_sign_off", "params": {"phase": "coding"}}],
    }
    saved = (await mcgraph_client.data(RULE, {"input": rule}))["createAutomationRule"]
    assert saved["rule"] is None
    assert any("coding" in e["message"] for e in saved["userErrors"]), saved
