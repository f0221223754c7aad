"""Fuzzing with Schemathesis: every query and mutation of the running server's schema
(read from the server by introspection, plugins' fields included) gets a bounded number
of generated documents, sent over HTTP to the app served by uvicorn as the owner of the
demo organisation. No answer may be a 5xx, carry an error coded INTERNAL (or no code at
all), or break the shape GraphQL promises.

The run is bounded and repeatable: a fixed number of examples per operation, drawn
derandomized. Ids are drawn from the demo organisation's real objects as well as forged
and random ones, so mutations reach their rules and not only the id check. Webhooks are
never sent: the fuzzer can create automation rules that point anywhere.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from typing import Any

import graphql
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis.core.transport import Response
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS
from sqlalchemy import select

from mcgraph.api.ids import MODEL_OF_TYPE, encode_id
from mcgraph.automation import webhooks
from mcgraph.db.models import Organization, Role
from mcgraph.demo import DEMO_ORG, seed
from mcgraph.testing import issue_token
from tests.helpers import node_ids
from tests.conftest import without_rate_limits
from tests.live import Http

pytestmark = pytest.mark.timeout(600)

# Examples per operation and generation mode; PostgreSQL's run is the smaller one.
EXAMPLES = {"sqlite": {"positive": 20, "negative": 5}, "postgresql": {"positive": 8, "negative": 2}}
CONTENT_TYPES = ("application/json", "application/graphql-response+json")
NON_NULL_BROKEN = "Cannot return null for non-nullable field"
MY_TOKENS = "{ viewer { apiTokens(first: 100) { nodes { id } } } }"
CREATE_RULE = "mutation($input: CreateAutomationRuleInput!) { createAutomationRule(input: $input) { userErrors { message } } }"
RULE = {
    "name": "Comment when done",
    "trigger": {"kind": "EVENT", "eventType": "task.state_changed"},
    "actions": [{"type": "ADD_COMMENT", "params": {"body": "Done."}}],
}


async def not_sent(request: webhooks.WebhookRequest, **_: Any) -> webhooks.WebhookAttempt:
    return webhooks.WebhookAttempt(False, None, "refused: webhooks are not sent while fuzzing", 0.0, "", False)


def json_values() -> st.SearchStrategy[graphql.ValueNode]:
    """Literals of any JSON value: null, booleans, numbers, strings, lists and objects."""
    names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
    leaves = st.one_of(
        st.just(nodes.Null),
        st.booleans().map(nodes.Boolean),
        st.integers().map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.text(max_size=20).map(nodes.String),
    )

    def field(pair: tuple[str, graphql.ValueNode]) -> graphql.ObjectFieldNode:
        return graphql.ObjectFieldNode(name=graphql.NameNode(value=pair[0]), value=pair[1])

    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4).map(nodes.List)
        | st.dictionaries(names, inner, max_size=4).map(lambda d: nodes.Object([field(p) for p in d.items()])),
        max_leaves=12,
    )


def scalars(ids: list[str]) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Strategies for the scalars the generator would otherwise draw blindly, or not at all."""
    forged = st.builds(encode_id, st.sampled_from(sorted(MODEL_OF_TYPE)), st.integers(min_value=0, max_value=2**70))
    junk = st.text(max_size=30)
    dates = st.dates().map(str)
    moments = st.builds(lambda d, t: f"{d}T{t}", dates, st.times().map(str)) | st.datetimes(timezones=st.timezones()).map(
        lambda moment: moment.isoformat()
    )
    return {
        "ID": st.one_of(st.sampled_from(ids), forged, junk).map(nodes.String),
        # mostly counts a page may have (first, last, limits), so that lists are read, not only refused
        "Int": st.one_of(st.integers(min_value=-1, max_value=120), st.integers(min_value=-(2**31), max_value=2**31 - 1)).map(nodes.Int),
        "Date": (dates | junk).map(nodes.String),
        "DateTime": (moments | junk).map(nodes.String),
        "Decimal": st.one_of(
            st.decimals(places=2, allow_nan=False, allow_infinity=False).map(str),
            st.decimals().map(str),
            junk,
        ).map(nodes.String)
        | st.integers().map(nodes.Int)
        | st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        "JSON": json_values(),
    }


def problems(response: Response) -> list[str]:
    """What is wrong with an answer: a server error, an INTERNAL or uncoded error, a bad shape."""
    if response.status_code >= 500:
        return [f"status {response.status_code}"]
    content_type = ", ".join(response.headers.get("content-type", []))
    if not content_type.startswith(CONTENT_TYPES):
        return [f"content type {content_type!r}"]
    try:
        body = json.loads(response.content)
    except ValueError:
        return ["a body that is not JSON"]
    if not isinstance(body, dict) or not body.keys() & {"data", "errors"} or body.keys() - {"data", "errors", "extensions"}:
        return [f"not a GraphQL response: keys {sorted(body) if isinstance(body, dict) else type(body).__name__}"]
    found = []
    if not (body.get("data") is None or isinstance(body["data"], dict)):
        found.append("data is neither an object nor null")
    errors = body.get("errors", [])
    if not isinstance(errors, list) or "errors" in body and not errors:
        return [*found, "errors is not a non-empty list"]
    for error in errors:
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            found.append(f"an error without a message: {error!r}")
            continue
        code = (error.get("extensions") or {}).get("code")
        if not isinstance(code, str):
            found.append(f"an error without a code: {error['message']}")
        elif code == "INTERNAL":
            found.append(f"INTERNAL at {error.get('path')}")
        if NON_NULL_BROKEN in error["message"]:
            found.append(f"a broken non-null field: {error['message']}")
        if not all(isinstance(step, (str, int)) for step in error.get("path") or []):
            found.append(f"a path that is not of names and indexes: {error['path']!r}")
    return found


@pytest.fixture
def settings(settings: Any) -> Any:
    return without_rate_limits(settings)  # thousands of requests a minute with one token


@pytest.fixture
async def fuzz_target(live: Any, database: Any, clock: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The served app with the demo organisation seeded: its URL, an owner's token and ids to draw."""
    monkeypatch.setattr(webhooks, "send", not_sent)
    async with database.transaction() as session:
        token = await seed(session, clock.now(), live.runtime.plugins, settings)
    await issue_token(database, DEMO_ORG, "mo@demo.test", Role.MEMBER)  # a token the fuzzer may revoke
    async with Http(live.url) as client:
        created = await client.data(CREATE_RULE, {"input": RULE}, token=token)
        assert created["createAutomationRule"]["userErrors"] == []
        mine = {node["id"] for node in (await client.data(MY_TOKENS, token=token))["viewer"]["apiTokens"]["nodes"]}
    async with database.session() as session:
        demo = await session.scalar(select(Organization.id).where(Organization.slug == DEMO_ORG))
    # every kind of object, but not the token the fuzzer is signed in with
    ids = sorted({i for found in (await node_ids(database, demo, per_type=3)).values() for i in found} - mine)
    for name, strategy in scalars(ids).items():
        monkeypatch.setitem(CUSTOM_SCALARS, name, strategy)
    return {"url": live.url, "token": token, "ids": ids}


def test_no_generated_query_or_mutation_gets_a_server_error(fuzz_target, database_url):
    examples = EXAMPLES["sqlite" if database_url.startswith("sqlite") else "postgresql"]
    headers = {"Authorization": f"Bearer {fuzz_target['token']}"}
    schema = schemathesis.graphql.from_url(fuzz_target["url"] + "/graphql", headers=headers, timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures: dict[tuple[str, str], str] = {}
    answers: Counter[str] = Counter()
    with requests.Session() as session:
        for operation, mode in itertools.product(operations, examples):

            @hypothesis.settings(
                max_examples=examples[mode],
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(schemathesis.GenerationMode(mode)))
            def fuzz(case: Any) -> None:
                response = case.call(session=session, headers=headers, timeout=30)
                found = problems(response)
                for problem in found:
                    failures.setdefault((operation.label, problem), case.body)
                answers["wrong" if found else "executed" if json.loads(response.content).get("data") else "refused"] += 1

            fuzz()
    if failures:
        pytest.fail("\n\n".join(f"{label}: {problem}\n{body}" for (label, problem), body in failures.items()), pytrace=False)
    # the run reached the whole schema (plugins' mutations included) and its documents mostly ran, not only refused
    assert len(operations) > 80 and sum(1 for operation in operations if operation.label.startswith("Mutation.")) > 50
    assert answers["executed"] > answers.total() / 2 and answers.total() > len(operations) * sum(examples.values()) / 2
    assert len(fuzz_target["ids"]) > 20
