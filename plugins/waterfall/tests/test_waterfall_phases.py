"""``setPhaseMilestone``: which milestone closes which phase, and what it refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mcgraph.testing import Client

from mcgraph_waterfall.health import WaterfallSettings
from test_waterfall_scenario import PHASES, create_project

SET = "phase { phase milestone { id } signedOff tasksTotal }"


async def new_milestone(client: Client, project: str, name: str) -> str:
    return (await client.mutate("createMilestone", {"projectId": project, "name": name}, "milestone { id }"))["milestone"]["id"]


async def set_phase(client: Client, project: str, phase: str, milestone: str | None) -> dict:
    values = {"projectId": project, "phase": phase, "milestoneId": milestone}
    return await client.mutate("setPhaseMilestone", values, SET, ok=False)


def errors(payload: dict) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def test_a_phase_is_linked_relinked_and_unlinked(mcgraph_client: Client):
    client = mcgraph_client
    project = await create_project(client)
    first = await new_milestone(client, project, "Design v1")
    second = await new_milestone(client, project, "Design v2")
    await client.mutate("createTask", {"projectId": project, "title": "Draw", "milestoneId": second}, "task { id }")

    linked = await set_phase(client, project, "design", first)
    assert linked == {"userErrors": [], "phase": {"phase": "design", "milestone": {"id": first}, "signedOff": False, "tasksTotal": 0}}
    relinked = await set_phase(client, project, "design", second)
    assert relinked["phase"]["milestone"] == {"id": second}
    assert relinked["phase"]["tasksTotal"] == 1

    unlinked = await set_phase(client, project, "design", None)
    assert unlinked == {"userErrors": [], "phase": {"phase": "design", "milestone": None, "signedOff": False, "tasksTotal": 0}}
    phases = (await client.data(PHASES, {"id": project}))["project"]["phases"]
    assert all(p["milestone"] is None for p in phases)


async def test_what_setting_a_phase_milestone_refuses(mcgraph_client: Client):
    client = mcgraph_client
    project = await create_project(client)
    other = await create_project(client, "WO")
    mine = await new_milestone(client, project, "Requirements agreed")
    theirs = await new_milestone(client, other, "Not yours")
    await client.mutate("setPhaseMilestone", {"projectId": project, "phase": "requirements", "milestoneId": mine}, SET)

    assert errors(await set_phase(client, project, "coding", mine)) == [(["phase"], "INVALID")]
    assert errors(await set_phase(client, project, "closed", mine)) == [(["phase"], "INVALID")]
    assert errors(await set_phase(client, project, "design", theirs)) == [(["milestoneId"], "NOT_FOUND")]
    taken = await set_phase(client, project, "design", mine)
    assert errors(taken) == [(["milestoneId"], "INVALID")]
    assert taken["userErrors"][0]["message"] == "Milestone 'Requirements agreed' already closes the requirements phase."
    assert errors(await set_phase(client, project, "design", project)) == [(["milestoneId"], "NOT_FOUND")]


async def test_only_managers_link_phases(mcgraph_client: Client):
    project = await create_project(mcgraph_client)
    milestone = await new_milestone(mcgraph_client, project, "Requirements agreed")
    member = await mcgraph_client.as_member("dev@acme.test", "member")
    body = await member(
        "mutation($i: SetPhaseMilestoneInput!) { setPhaseMilestone(input: $i) { userErrors { code } } }",
        {"i": {"projectId": project, "phase": "requirements", "milestoneId": milestone}},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    phases = (await member(PHASES, {"id": project}))["data"]["project"]["phases"]
    assert phases[0]["milestone"] is None


def test_settings_keep_off_track_at_or_below_at_risk():
    assert WaterfallSettings(spi_at_risk=0.95, spi_off_track=0.7).spi_off_track == 0.7
    with pytest.raises(ValidationError, match="cpi_off_track must not be above cpi_at_risk"):
        WaterfallSettings(cpi_at_risk=0.8, cpi_off_track=0.9)
