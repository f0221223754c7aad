"""Secrets of automation actions: never in events, answers, dry runs or run errors;
stored encrypted under MCGRAPH_SECRET_KEY; rotated; scrubbed from what was stored before."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import create_async_engine

from mcgraph.app import create_app
from mcgraph.db import models as m
from mcgraph.db.migrate import upgrade
from mcgraph.db.models import Role
from mcgraph.domain.secrets import MASK, Keyring, SecretUnreadable
from mcgraph.plugins import ActionFailed, AutomationAction, hookimpl
from tests.conftest import GraphQLClient
from tests.project_helpers import create_project, create_task, succeed
from tests.test_automations import CREATE_RULE, agql, auto_app, create_rule, receiver, settled  # noqa: F401 - fixtures
from tests.test_cli import invoke

UPDATE_RULE = """mutation($input: UpdateAutomationRuleInput!) {
  updateAutomationRule(input: $input) { rule { id version actions { type params } } userErrors { field message code } } }"""
EVENTS = """{ events(first: 50, types: ["automation_rule.created", "automation_rule.updated"]) {
  nodes { type data changes { field before after } } } }"""
LIVE_EVENTS = "subscription { events(types: [\"automation_rule.updated\"]) { type data changes { field before after } } }"
# Webhook secrets in the Standard Webhooks form (whsec_ and the base64 of 24 to 64 bytes).
OLD, NEW = "whsec_" + "b2xkLXNlY3JldC1rZXktMDEyMzQ1Njc4OWFiY2RlZg==", "whsec_" + "bmV3LXNlY3JldC1rZXktMDEyMzQ1Njc4OWFiY2RlZg=="
LEGACY = "s3cret-saved-before-whsec"  # a secret saved before the whsec_ form was required


def _webhook(url: str, secret: str) -> list[dict[str, Any]]:
    return [{"type": "SEND_WEBHOOK", "params": {"url": url, "secret": secret}}]


async def _update(gql: Any, token: str, rule_id: str, name: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    variables = {"input": {"ruleId": rule_id, "name": name, "trigger": {"kind": "EVENT", "eventType": "task.state_changed"}, "actions": actions}}
    payload = (await gql.data(UPDATE_RULE, variables, token=token))["updateAutomationRule"]
    assert payload["userErrors"] == [], payload
    return payload["rule"]


async def _stored_actions(database: Any, rule_gid: str) -> list[dict[str, Any]]:
    from mcgraph.api.ids import pk_of

    async with database.session() as session:
        return (await session.get(m.AutomationRule, pk_of(rule_gid, "AutomationRule"))).actions


async def test_rule_events_never_show_a_secret_to_the_events_query_or_a_live_subscriber(live, acme):
    from tests.live import Http, open_socket

    manager, viewer = acme[Role.MANAGER], acme[Role.VIEWER]
    url = "https://hooks.example.com/ci"
    async with Http(live.url) as http, open_socket(live.url, viewer) as socket:
        await socket.subscribe(LIVE_EVENTS)
        await live.listening(1)
        created = (await http.data(CREATE_RULE, {"input": {"name": "CI", "trigger": {"kind": "EVENT", "eventType": "task.state_changed"}, "actions": _webhook(url, OLD)}}, token=manager))
        rule = created["createAutomationRule"]["rule"]
        assert rule["actions"][0]["params"] == {"url": url, "secret": MASK}
        await _update(http, manager, rule["id"], "CI", _webhook(url, NEW))
        pushed = (await socket.data())["events"]

        logged = (await http.data(EVENTS, token=viewer))["events"]["nodes"]
    for shown in (pushed, *logged):
        text = json.dumps(shown)
        assert OLD not in text and NEW not in text, shown
    assert [e["type"] for e in logged] == ["automation_rule.created", "automation_rule.updated"]
    (change,) = [c for c in pushed["changes"] if c["field"] == "actions"]
    assert change["before"][0]["params"] == change["after"][0]["params"] == {"url": url, "secret": MASK}
    assert pushed["data"]["secrets_changed"] == ["actions.0.params.secret"]


async def test_a_secret_is_stored_encrypted_and_the_webhook_signs_with_it_after_a_masked_round_trip(agql, auto_app, acme, receiver, clock, database):  # noqa: F811
    from standardwebhooks import Webhook

    clock.set(datetime.now(UTC))  # the receiver checks the delivery's timestamp against its own clock
    url, received = receiver
    runtime = auto_app.state.runtime
    object.__setattr__(runtime, "settings", runtime.settings.model_copy(update={"webhook_allow": ["127.0.0.1"]}))
    manager = acme[Role.MANAGER]
    web = await create_project(agql, manager, "WEB")
    rule = await create_rule(agql, manager, name="Tell CI", actions=_webhook(url, OLD))

    (stored,) = await _stored_actions(database, rule["id"])
    assert stored["params"]["secret"] != OLD and OLD not in json.dumps(stored)
    assert Keyring.of(runtime.settings).decrypt(stored["params"]["secret"]) == OLD

    # what the API showed, sent back unchanged: the saved secret is kept, and nothing changed
    same = await _update(agql, manager, rule["id"], "Tell CI", rule["actions"])
    assert same["version"] == rule["version"]
    assert await _stored_actions(database, rule["id"]) == [stored]

    task = await create_task(agql, manager, web["id"], "T")
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)
    (run,) = await settled(agql, manager, 1)
    assert run["state"] == "SUCCEEDED"
    headers, body = received[-1]
    assert Webhook(OLD).verify(body, headers, json_parse=False) is None  # raises unless it verifies


async def test_a_secret_saved_before_the_whsec_form_keeps_signing_and_a_new_one_must_have_it(agql, auto_app, acme, receiver, clock, database):  # noqa: F811
    from standardwebhooks import Webhook, WebhookVerificationError

    from mcgraph.api.ids import pk_of

    clock.set(datetime.now(UTC))  # the receiver checks the delivery's timestamp against its own clock
    url, received = receiver
    runtime = auto_app.state.runtime
    object.__setattr__(runtime, "settings", runtime.settings.model_copy(update={"webhook_allow": ["127.0.0.1"]}))
    manager = acme[Role.MANAGER]
    variables = {"input": {"name": "CI", "trigger": {"kind": "EVENT", "eventType": "task.state_changed"}, "actions": _webhook(url, LEGACY)}}
    refused = (await agql.data(CREATE_RULE, variables, token=manager))["createAutomationRule"]
    assert refused["rule"] is None
    [error] = refused["userErrors"]
    assert (error["field"], error["code"]) == (["actions", "0", "params", "secret"], "INVALID")
    assert "whsec_" in error["message"] and LEGACY not in error["message"]

    # A rule stored before, its secret not in the whsec_ form: kept by ********, and used as it was.
    rule = await create_rule(agql, manager, name="CI", actions=_webhook(url, OLD))
    async with database.transaction() as session:
        row = await session.get(m.AutomationRule, pk_of(rule["id"], "AutomationRule"))
        row.actions = [{"type": "send_webhook", "params": {"url": url, "secret": Keyring.of(runtime.settings).encrypt(LEGACY)}}]
    kept = await _update(agql, manager, rule["id"], "CI renamed", [{"type": "SEND_WEBHOOK", "params": {"url": url, "secret": MASK}}])
    assert kept["actions"][0]["params"]["secret"] == MASK
    (stored,) = await _stored_actions(database, rule["id"])
    assert Keyring.of(runtime.settings).decrypt(stored["params"]["secret"]) == LEGACY

    web = await create_project(agql, manager, "WEB")
    task = await create_task(agql, manager, web["id"], "T")
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)
    (run,) = await settled(agql, manager, 1)
    assert run["state"] == "SUCCEEDED", run
    headers, body = received[-1]
    # its receiver verifies with the secret's bytes, or with whsec_ + their base64
    Webhook(LEGACY.encode()).verify(body, headers)
    Webhook("whsec_" + base64.b64encode(LEGACY.encode()).decode()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(body, headers)


async def test_a_mask_with_no_saved_secret_is_refused(agql, acme):  # noqa: F811
    manager = acme[Role.MANAGER]
    variables = {"input": {"name": "CI", "trigger": {"kind": "EVENT", "eventType": "task.state_changed"}, "actions": _webhook("https://h.example.com", MASK)}}
    payload = (await agql.data(CREATE_RULE, variables, token=manager))["createAutomationRule"]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["actions", "0", "params", "secret"], "INVALID")]


# --- a plugin's action declaring a secret -------------------------------------------------

SEEN: list[str] = []
TOKEN_VALUE = "vault-token-0123456789"


class VaultPlugin:
    @hookimpl
    def mcgraph_automation_actions(self) -> list[AutomationAction]:
        def run(call: Any) -> dict[str, Any]:
            SEEN.append(call.params["token"])
            raise ActionFailed(f"the vault refused token {call.params['token']}")

        return [
            AutomationAction(
                type="vault.unlock",
                description="Unlock the vault",
                run=run,
                required=("token",),
                optional=("door",),
                secret_params=("token",),
                describe=lambda params, names: f"unlock {params.get('door')} with {params['token']}",
            )
        ]


@pytest.fixture
async def vault_gql(settings, clock) -> AsyncIterator[GraphQLClient]:
    quick = settings.model_copy(update={"automation_retry_seconds": 0.05, "automation_max_attempts": 1, "automation_sweep_seconds": 0})
    application = create_app(quick, clock=clock, plugins={"vault": VaultPlugin()})
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client:
            yield GraphQLClient(client)


async def test_a_plugin_action_declaring_a_secret_param_gets_it_masked_encrypted_and_scrubbed(vault_gql, acme, database):
    SEEN.clear()
    manager = acme[Role.MANAGER]
    actions = [{"type": "vault.unlock", "params": {"token": TOKEN_VALUE, "door": "front"}}]
    rule = await create_rule(vault_gql, manager, name="Vault", actions=actions)
    assert rule["actions"][0]["params"] == {"token": MASK, "door": "front"}
    (stored,) = await _stored_actions(database, rule["id"])
    assert TOKEN_VALUE not in json.dumps(stored)
    await _update(vault_gql, manager, rule["id"], "Vault", [{"type": "vault.unlock", "params": {"token": TOKEN_VALUE + "-2", "door": "back"}}])

    web = await create_project(vault_gql, manager, "WEB")
    task = await create_task(vault_gql, manager, web["id"], "T")
    await succeed(vault_gql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)
    (run,) = await settled(vault_gql, manager, 1)
    assert SEEN == [TOKEN_VALUE + "-2"]  # the action got the secret itself
    assert run["state"] == "DEAD" and "[redacted]" in run["error"], run
    dry = "query($r: ID!, $e: ID!) { dryRunAutomationRule(ruleId: $r, eventId: $e) { actions } }"
    event_id = (await vault_gql.data('{ events(first: 1, types: ["task.state_changed"]) { nodes { id } } }', token=manager))["events"]["nodes"][0]["id"]
    described = (await vault_gql.data(dry, {"r": rule["id"], "e": event_id}, token=manager))["dryRunAutomationRule"]["actions"]
    assert described == [f"unlock back with {MASK}"]
    logged = (await vault_gql.data(EVENTS, token=acme[Role.VIEWER]))["events"]["nodes"]
    everything = json.dumps([run, logged])
    assert TOKEN_VALUE not in everything


def test_a_plugin_cannot_declare_a_secret_that_is_a_template_or_no_param():
    from mcgraph.plugins.manager import PluginError, Plugins, create_plugin_manager

    class Bad:
        @hookimpl
        def mcgraph_automation_actions(self) -> list[AutomationAction]:
            return [AutomationAction(type="bad.x", description="", run=lambda call: {}, optional=("a",), templates=("a",), secret_params=("a",))]

    with pytest.raises(PluginError, match="both secret and a template"):
        Plugins(create_plugin_manager(extra={"bad": Bad()}))


# --- rotation -------------------------------------------------------------------------------


def test_a_previous_key_still_decrypts_and_rotation_moves_to_the_current_key():
    stored = Keyring("old-key-" + "x" * 32).encrypt("hush")
    rotated_ring = Keyring("new-key-" + "y" * 32, ("old-key-" + "x" * 32,))
    assert rotated_ring.decrypt(stored) == "hush"
    with pytest.raises(SecretUnreadable):
        Keyring("new-key-" + "y" * 32).decrypt(stored)
    again = rotated_ring.rotate(stored)
    assert Keyring("new-key-" + "y" * 32).decrypt(again) == "hush"


async def test_secrets_rotate_re_encrypts_what_the_old_key_encrypted(settings, clock, acme, database, database_url):
    old_key, new_key = "the-old-key-" + "o" * 32, "the-new-key-" + "n" * 32
    old_settings = settings.model_copy(update={"secret_key": SecretStr(old_key)})
    application = create_app(old_settings, clock=clock)
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client:
            rule = await create_rule(GraphQLClient(client), acme[Role.MANAGER], name="CI", actions=_webhook("https://h.example.com", OLD))
    (before,) = await _stored_actions(database, rule["id"])
    assert Keyring(old_key).decrypt(before["params"]["secret"]) == OLD

    env = {"MCGRAPH_DATABASE_URL": database_url, "MCGRAPH_SECRET_KEY": new_key, "MCGRAPH_SECRET_KEY_PREVIOUS": old_key}
    result = await invoke(["secrets", "rotate"], env)
    assert result.exit_code == 0, result.output
    (after,) = await _stored_actions(database, rule["id"])
    assert Keyring(new_key).decrypt(after["params"]["secret"]) == OLD
    with pytest.raises(SecretUnreadable):
        Keyring(old_key).decrypt(after["params"]["secret"])

    # without the old key, nothing it encrypted can be read: the command says so and changes nothing
    refused = await invoke(["secrets", "rotate"], {**env, "MCGRAPH_SECRET_KEY": "another-key-" + "a" * 32, "MCGRAPH_SECRET_KEY_PREVIOUS": ""})
    assert refused.exit_code != 0 and "MCGRAPH_SECRET_KEY" in refused.output
    assert await _stored_actions(database, rule["id"]) == [after]


# --- the migration ----------------------------------------------------------------------------


async def test_the_migration_masks_secrets_in_old_events_and_encrypts_those_kept_in_clear(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "8b41f0c2d9e3")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    webhook = [{"type": "send_webhook", "params": {"url": "https://h.example.com", "secret": OLD}}]
    changed = [{"type": "send_webhook", "params": {"url": "https://h.example.com", "secret": NEW}}]
    other = {"changes": {"title": ["a", "b"]}}
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO organization (id, slug, name, created_at) VALUES (1, 'acme', 'Acme', :now)"), {"now": now})
            rule = sa.table(
                "automation_rule", *(sa.column(c) for c in ("id", "organization_id", "name", "description", "enabled", "trigger_kind", "event_type", "condition", "version", "created_at", "updated_at")),
                sa.column("trigger_filter", sa.JSON), sa.column("actions", sa.JSON),
            )
            await conn.execute(sa.insert(rule).values(
                id=1, organization_id=1, name="CI", description="", enabled=True, trigger_kind="event", event_type="task.state_changed",
                condition="", version=2, created_at=now, updated_at=now, trigger_filter=[], actions=changed,
            ))
            event = sa.table("event", *(sa.column(c) for c in ("id", "organization_id", "type", "subject_type", "subject_id", "occurred_at")), sa.column("data", sa.JSON))
            await conn.execute(sa.insert(event), [
                {"id": 1, "organization_id": 1, "type": "automation_rule.updated", "subject_type": "automation_rule", "subject_id": 1, "occurred_at": now,
                 "data": {"changes": {"actions": [webhook, changed]}}},
                {"id": 2, "organization_id": 1, "type": "task.updated", "subject_type": "task", "subject_id": 5, "occurred_at": now, "data": other},
            ])
        upgrade(url)
        async with engine.connect() as conn:
            data = dict((await conn.execute(sa.select(event.c.id, event.c.data))).all())
            (actions,) = (await conn.execute(sa.select(rule.c.actions))).scalars().all()
    finally:
        await engine.dispose()
    assert OLD not in json.dumps(data) and NEW not in json.dumps(data)
    before, after = data[1]["changes"]["actions"]
    assert before[0]["params"] == after[0]["params"] == {"url": "https://h.example.com", "secret": MASK}
    assert data[2] == other
    from mcgraph.settings import load_settings

    assert NEW not in json.dumps(actions)
    assert Keyring.of(load_settings()).decrypt(actions[0]["params"]["secret"]) == NEW


async def test_a_secret_encrypted_with_an_unknown_key_fails_the_run_with_a_clear_error(agql, auto_app, acme, database):  # noqa: F811
    manager = acme[Role.MANAGER]
    rule = await create_rule(agql, manager, name="CI", actions=_webhook("https://h.example.com", OLD))
    from mcgraph.api.ids import pk_of

    async with database.transaction() as session:
        row = await session.get(m.AutomationRule, pk_of(rule["id"], "AutomationRule"))
        row.actions = [{"type": "send_webhook", "params": {"url": "https://h.example.com", "secret": Keyring("elsewhere-" + "z" * 32).encrypt(OLD)}}]
    web = await create_project(agql, manager, "WEB")
    task = await create_task(agql, manager, web["id"], "T")
    await succeed(agql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, manager)
    (run,) = await settled(agql, manager, 1)
    assert run["state"] == "DEAD" and "MCGRAPH_SECRET_KEY_PREVIOUS" in run["error"], run
