"""The cost of evaluating automation expressions: one step budget for a whole evaluation,
matches() charged by its pattern and input, rules refused when saved when their worst case
is over the budget, and a dry run that stops within the limit while /healthz answers."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings as hypothesis_settings
from sqlalchemy import select

from mcgraph.db import models as m
from mcgraph.db.models import Role
from mcgraph.domain import expressions
from mcgraph.domain.expressions import MAX_MATCH_INPUT, MAX_PLACEHOLDERS, Budget, ExpressionError, TooCostly, metered, parse, parse_template
from tests.test_automations import CREATE_RULE, agql, auto_app, settled  # noqa: F401 - fixtures
from tests.test_expressions import contexts, expression_soup
from tests.project_helpers import create_project, pk

# Accepted by the pattern check (its estimate is just under the limit of ways), yet a
# backtracking match of a 1,000-character text of letters takes tens of milliseconds.
SLOW_PATTERN = r"\w*[a-z]*[a-z]{0,8}\d"
SLOW_CALL = 'matches(payload.s, "' + SLOW_PATTERN.replace("\\", "\\\\") + '")'
LONG_TEXT = "a" * MAX_MATCH_INPUT
DRY_RUN = "query($r: ID!, $e: ID!) { dryRunAutomationRule(ruleId: $r, eventId: $e) { matches reasons actions } }"
RAISE = "mutation($i: RaiseEventInput!) { raiseEvent(input: $i) { eventId } }"
UPDATE_RULE = """mutation($input: UpdateAutomationRuleInput!) {
  updateAutomationRule(input: $input) { rule { id } userErrors { field message code } } }"""


def the_issues_rule() -> dict[str, Any]:
    """A disabled rule whose condition and templates call the slow pattern a few hundred times."""
    condition = " or ".join([SLOW_CALL] * 38)  # just under the 2,000 characters of an expression
    body = ("{{ " + condition + " }}") * 5  # just under the 10,000 characters of a template
    return {
        "name": "Slow",
        "enabled": False,
        "trigger": {"kind": "EVENT", "eventType": "event.raised"},
        "condition": condition,
        "actions": [{"type": "ADD_COMMENT", "params": {"body": body}}] * 2,
    }


# --- the budget ---


def test_the_pattern_is_accepted_but_charged_by_its_work_on_the_input() -> None:
    assert expressions._pattern_problem(SLOW_PATTERN) is None
    call = parse(SLOW_CALL)

    long_budget, short_budget, simple_budget = Budget(10**9), Budget(10**9), Budget(10**9)
    call.evaluate({"payload": {"s": LONG_TEXT}}, long_budget)
    call.evaluate({"payload": {"s": "a" * 10}}, short_budget)
    parse('matches(payload.s, "[a-z]+")').evaluate({"payload": {"s": LONG_TEXT}}, simple_budget)

    assert long_budget.used > 50_000  # ~9 million ways to split 1,000 characters, 100 a step
    assert short_budget.used < 100
    assert simple_budget.used < 100
    assert call.worst_steps() >= long_budget.used


def test_one_budget_is_shared_by_every_evaluation_made_inside_it() -> None:
    expression = parse(" and ".join(["1 + 1 == 2"] * 10))
    alone = Budget()
    expression.evaluate({}, alone)
    steps = alone.used

    calls = 0
    with metered(Budget(steps * 5)), pytest.raises(TooCostly) as caught:
        while True:
            expression.evaluate({})
            parse_template("{{ 1 }}").render({})
            calls += 1
    assert calls == 4  # the fifth evaluation would pass the budget: it is not renewed per call
    assert caught.value.code == "EXPRESSION_TOO_COSTLY"
    assert "MCGRAPH_EXPRESSION_MAX_STEPS" in caught.value.message


def test_the_issues_rule_stops_within_the_budget_whatever_the_number_of_calls() -> None:
    context = {"payload": {"s": LONG_TEXT}}
    condition = parse(" or ".join([SLOW_CALL] * 38))
    budget = Budget()

    with metered(budget), pytest.raises(TooCostly):
        for _ in range(11):  # the condition, then the ten placeholders of the templates
            condition.test(context)
    assert budget.used <= budget.limit + condition.worst_steps() // 38  # stopped before the call that would pass it


def test_data_is_charged_by_its_size() -> None:
    expression = parse("lower(payload.s) == upper(payload.s) or payload.s + payload.s == ''")
    small, large = Budget(10**9), Budget(10**9)
    expression.evaluate({"payload": {"s": "x"}}, small)
    expression.evaluate({"payload": {"s": "x" * 10_000}}, large)

    assert large.used >= small.used + 4 * 10_000 // expressions.SIZE_PER_STEP


def test_a_budget_stops_at_its_time_limit() -> None:
    expression = parse(" and ".join(["true"] * 50))
    budget = Budget(10**12, seconds=0.05)

    with pytest.raises(TooCostly) as caught:
        while True:
            expression.evaluate({}, budget)
    assert "time limit" in caught.value.message


def test_a_template_has_a_bounded_number_of_placeholders_and_pays_for_its_text() -> None:
    parse_template("{{ 1 }}" * MAX_PLACEHOLDERS)
    with pytest.raises(ExpressionError, match=f"at most {MAX_PLACEHOLDERS} placeholders"):
        parse_template("{{ 1 }}" * (MAX_PLACEHOLDERS + 1))

    budget = Budget(10**9)
    parse_template("{{ payload.s }}" * 10).render({"payload": {"s": "y" * 1_000}}, budget)
    assert budget.used >= 10 * 1_000 // expressions.SIZE_PER_STEP


@hypothesis_settings(max_examples=200, deadline=None)
@given(expression_soup, contexts)
def test_no_evaluation_of_small_data_takes_more_than_its_worst_case(source: str, context: dict[str, Any]) -> None:
    try:
        expression = parse(source)
    except ExpressionError:
        return
    template = parse_template("<{{ " + source + " }}>")
    budget, rendering = Budget(10**9), Budget(10**9)

    expression.evaluate(context, budget)
    template.render(context, rendering)

    assert budget.used <= expression.worst_steps()
    assert rendering.used <= template.worst_steps()


# --- rules: saved, dry run, run ---


async def test_the_issues_rule_is_refused_when_saved(agql, acme) -> None:  # noqa: F811
    manager = acme[Role.MANAGER]
    payload = (await agql.data(CREATE_RULE, {"input": the_issues_rule()}, token=manager))["createAutomationRule"]

    assert payload["rule"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("EXPRESSION_TOO_COSTLY", ["actions", "0", "params"])]
    assert "MCGRAPH_EXPRESSION_MAX_STEPS" in payload["userErrors"][0]["message"]

    # one costly call too many is refused when a saved rule is changed, too
    cheap = {**the_issues_rule(), "condition": SLOW_CALL, "actions": [{"type": "ADD_COMMENT", "params": {"body": "hi"}}]}
    rule = (await agql.data(CREATE_RULE, {"input": cheap}, token=manager))["createAutomationRule"]
    assert rule["userErrors"] == []
    costly = {**cheap, "condition": " or ".join([SLOW_CALL] * 3)}
    changed = (await agql.data(UPDATE_RULE, {"input": {"ruleId": rule["rule"]["id"], **costly}}, token=manager))["updateAutomationRule"]
    assert [(e["code"], e["field"]) for e in changed["userErrors"]] == [("EXPRESSION_TOO_COSTLY", ["condition"])]


async def store_as_before(database: Any, rule_id: str, spec: dict[str, Any]) -> None:
    """Give a saved rule the condition and actions of ``spec`` unchecked, as a rule saved
    before the cost check was would have them."""
    async with database.transaction() as session:
        row = await session.get(m.AutomationRule, pk(rule_id))
        row.condition = spec["condition"]
        row.actions = [{"type": a["type"].lower(), "params": a["params"]} for a in spec["actions"]]


class HealthPoller:
    """Polls ``/healthz`` from a thread of its own; ``longest`` is the longest wait for an
    answer, ``answers`` the polls answered 200, ``failures`` the others."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.longest = 0.0
        self.answers = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="healthz-poller", daemon=True)

    def _poll(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    status = client.get("/healthz").status_code
                except httpx.HTTPError as error:
                    status = repr(error)
                self.longest = max(self.longest, time.monotonic() - started)
                if status == 200:
                    self.answers += 1
                else:
                    self.failures.append(str(status))
                self._stop.wait(0.02)

    async def polled(self, count: int) -> None:
        """Wait until ``count`` polls were answered (however quick the request being watched)."""
        deadline = time.monotonic() + 10
        while self.answers < count and not self.failures:
            assert time.monotonic() < deadline, "/healthz was not polled"
            await asyncio.sleep(0.02)

    def __enter__(self) -> HealthPoller:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(60)


async def test_the_issues_dry_run_answers_within_the_limit_while_healthz_answers(live_server, acme, database, settings) -> None:
    manager = acme[Role.MANAGER]
    async with httpx.AsyncClient(base_url=live_server, timeout=120, headers={"Authorization": f"Bearer {manager}"}) as client:

        async def data(query: str, variables: dict[str, Any]) -> dict[str, Any]:
            body = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
            assert "errors" not in body, body
            return body["data"]

        saved = await data(CREATE_RULE, {"input": {**the_issues_rule(), "condition": "", "actions": [{"type": "ADD_COMMENT", "params": {"body": "hi"}}]}})
        rule_id = saved["createAutomationRule"]["rule"]["id"]
        await store_as_before(database, rule_id, the_issues_rule())
        event_id = (await data(RAISE, {"i": {"name": "probe", "payload": {"s": LONG_TEXT}}}))["raiseEvent"]["eventId"]

        with HealthPoller(live_server) as poller:
            started = time.monotonic()
            answer = (await client.post("/graphql", json={"query": DRY_RUN, "variables": {"r": rule_id, "e": event_id}})).json()
            elapsed = time.monotonic() - started
            await poller.polled(3)

    assert poller.failures == []
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["EXPRESSION_TOO_COSTLY"]
    assert elapsed < settings.max_execution_seconds
    assert poller.longest < 1.0, f"/healthz waited {poller.longest:.2f} s during the dry run"


async def test_a_dry_run_within_the_budget_still_describes_the_rule(agql, acme, database) -> None:  # noqa: F811
    manager = acme[Role.MANAGER]
    rule = {**the_issues_rule(), "condition": SLOW_CALL, "actions": [{"type": "ADD_COMMENT", "params": {"body": "{{ " + SLOW_CALL + " }}"}}]}
    saved = (await agql.data(CREATE_RULE, {"input": rule}, token=manager))["createAutomationRule"]
    assert saved["userErrors"] == []
    event_id = (await agql.data(RAISE, {"i": {"name": "probe", "payload": {"s": LONG_TEXT}}}, token=manager))["raiseEvent"]["eventId"]

    result = (await agql.data(DRY_RUN, {"r": saved["rule"]["id"], "e": event_id}, token=acme[Role.VIEWER]))["dryRunAutomationRule"]

    assert result["matches"] is False
    assert result["reasons"][0] == "The rule is disabled."
    assert result["reasons"][1].startswith("The condition does not hold")
    assert result["actions"] == ["comment 'false'"]


@pytest.fixture
async def tight_app(settings, clock) -> Any:
    """The app with a small expression budget, so that data can pass it."""
    from mcgraph.app import create_app

    tight = settings.model_copy(update={"expression_max_steps": 1_000, "automation_sweep_seconds": 0})
    application = create_app(tight, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def tight(tight_app) -> Any:
    from tests.conftest import GraphQLClient

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=tight_app), base_url="http://testserver") as client:
        yield GraphQLClient(client)


async def test_a_run_past_the_budget_ends_dead_with_the_code_and_the_worker_goes_on(tight, acme, database) -> None:
    manager = acme[Role.MANAGER]
    project = await create_project(tight, manager, "WEB")
    event = {"kind": "EVENT", "eventType": "event.raised"}
    # accepted when saved (a few steps each, before any data), too costly on 2,000-character text
    for name, condition, body in [
        ("Costly condition", " or ".join(["contains(payload.s, 'z')"] * 60), "never"),
        ("Costly template", "", "{{ lower(payload.s) == upper(payload.s) }}" * 30),
        ("Cheap", "", "seen {{ payload.n }}"),
    ]:
        params = {"on": "project", "projectId": project["id"], "body": body}
        rule = {"name": name, "trigger": event, "condition": condition, "actions": [{"type": "ADD_COMMENT", "params": params}]}
        saved = (await tight.data(CREATE_RULE, {"input": rule}, token=manager))["createAutomationRule"]
        assert saved["userErrors"] == [], saved
    await tight.data(RAISE, {"i": {"name": "big", "payload": {"s": "y" * 2_000, "n": 1}}}, token=manager)

    found = {run["rule"]["name"]: run for run in await settled(tight, manager, 3)}

    assert found["Costly condition"]["state"] == "DEAD"
    assert found["Costly condition"]["error"].startswith("EXPRESSION_TOO_COSTLY: ")
    assert found["Costly condition"]["error"].endswith("(in the condition)")
    assert found["Costly template"]["state"] == "DEAD" and found["Costly template"]["attempts"] == 1
    assert found["Costly template"]["error"].startswith("Action 1 (add_comment): EXPRESSION_TOO_COSTLY: ")
    assert found["Cheap"]["state"] == "SUCCEEDED"
    # the failures were the rules', not the worker's: it goes on with the next event
    await tight.data(RAISE, {"i": {"name": "small", "payload": {"s": "y", "n": 2}}}, token=manager)
    runs = await settled(tight, manager, 6)
    assert sorted(run["state"] for run in runs if run["rule"]["name"] == "Cheap") == ["SUCCEEDED", "SUCCEEDED"]
    async with database.session() as session:
        bodies = set(await session.scalars(select(m.Comment.body)))
    assert {"seen 1", "seen 2"} <= bodies
