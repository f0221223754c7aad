"""Bad input never reaches INTERNAL or a 5xx, generated from the schema.

Every argument and input field of every query and mutation (plugins' included) whose
type is a string, an id, a number, a date, a moment or JSON gets each value of its
type that a database, a JSON encoder or date arithmetic cannot take: lone surrogates,
JSON nested deeper than the limit, numbers such as 1e308, years 0 and 10000, an offset
that moves 9999-12-31 past the end of the calendar. The rest of the input is valid and
names real objects of the demo organisation, so the bad value reaches the rules and the
writes. Each answer must be GraphQL's JSON with no 5xx, no INTERNAL and a code on every
error, and a refused mutation must have written nothing.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLScalarType, get_named_type
from sqlalchemy import func, select, text
from websockets.exceptions import ConnectionClosed

from mcgraph.api.http import decode_json, nesting_exceeds
from mcgraph.api.schema import build_schema
from mcgraph.db import Base
from mcgraph.db.models import Event, Organization, Role
from mcgraph.demo import DEMO_ORG, seed
from mcgraph.testing import issue_token
from tests.conftest import without_rate_limits
from tests.helpers import document, node_ids, warm_up
from tests.live import open_socket

pytestmark = pytest.mark.timeout(300)


def nested(depth: int) -> Any:
    """A JSON value of ``depth`` arrays and objects, one in the other."""
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


SURROGATE = "\ud800"
DEEP = "<JSON nested 1000 levels>"  # written into the body as text: json.dumps would not nest it
DEEP_TEXT = '{"a":[' * 500 + "1" + "]}" * 500
# Each type's values that once broke something, or sit at the edge of what is stored.
BAD: dict[str, list[Any]] = {
    "String": [SURROGATE, f"ok{SURROGATE}"],
    "ID": [SURROGATE],
    "Int": [2**31, -(2**31) - 1, 10**30],
    "Float": [1e308, -1e308, 10**30, 5e-324],
    "Decimal": ["1e308", "-1e308", "NaN", "Infinity", "1e-400", "9" * 40, 1e308],
    "Date": ["10000-01-01", "0000-01-01", "9999-12-31", "0001-01-01", "+10000-01-01"],
    "DateTime": [
        "10000-01-01T00:00:00Z",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ],
    "JSON": [DEEP, nested(65), {"k": SURROGATE}, {SURROGATE: 1}, 1e308, -1e308, 10**30, [1e308, 10**30]],
}
GOOD = {"String": "x", "Int": 1, "Float": 1.0, "Boolean": False, "Date": "2026-03-10", "DateTime": "2026-03-10T00:00:00Z", "Decimal": "1", "JSON": {}}


def slot_types(slot: str, known: set[str]) -> list[str]:
    """The node types an id argument or input field may name, going by its name (as the isolation test)."""
    base = re.sub(r"Ids?$", "", slot)
    matching = sorted(t for t in known if base and t.lower().endswith(base.lower()))
    return matching or sorted(known)


def good(kind: Any, slot: str, ids: dict[str, str]) -> Any:
    """A valid value for ``kind``: required input fields only, ids of real objects by their name."""
    if isinstance(kind, GraphQLNonNull):
        return good(kind.of_type, slot, ids)
    if isinstance(kind, GraphQLList):
        return [good(kind.of_type, slot, ids)]
    if isinstance(kind, GraphQLInputObjectType):
        return {name: good(f.type, name, ids) for name, f in kind.fields.items() if isinstance(f.type, GraphQLNonNull)}
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    assert isinstance(kind, GraphQLScalarType)
    if kind.name == "ID":
        return ids[slot_types(slot, set(ids))[0]]
    return GOOD.get(kind.name, "x")


def slots(kind: Any, path: tuple[str | int, ...], seen: frozenset[str] = frozenset()) -> list[tuple[tuple[str | int, ...], str, Any]]:
    """``(path, scalar name, type)`` of every scalar leaf reachable in an argument of ``kind``."""
    if isinstance(kind, GraphQLNonNull):
        return slots(kind.of_type, path, seen)
    if isinstance(kind, GraphQLList):
        return slots(kind.of_type, (*path, 0), seen)
    if isinstance(kind, GraphQLInputObjectType):
        if kind.name in seen:
            return []
        return [s for name, f in kind.fields.items() for s in slots(f.type, (*path, name), seen | {kind.name})]
    if isinstance(kind, GraphQLScalarType) and kind.name in BAD:
        return [(path, kind.name, kind)]
    return []


def placed(kind: Any, rest: tuple[str | int, ...], bad: Any, slot: str, ids: dict[str, str]) -> Any:
    """A valid value of ``kind`` but for ``bad`` at the path ``rest`` inside it."""
    if isinstance(kind, GraphQLNonNull):
        return placed(kind.of_type, rest, bad, slot, ids)
    if not rest:
        return bad
    if isinstance(kind, GraphQLList):
        return [placed(kind.of_type, rest[1:], bad, slot, ids)]
    step = str(rest[0])
    return {**good(kind, slot, ids), step: placed(kind.fields[step].type, rest[1:], bad, step, ids)}




@functools.cache
def footprint_statement() -> Any:
    counts = [select(func.count()).select_from(table).scalar_subquery() for table in Base.metadata.sorted_tables]
    return text(str(select(*counts, select(func.max(Event.id)).scalar_subquery()).compile(compile_kwargs={"literal_binds": True})))


async def footprint(database: Any) -> tuple[int, ...]:
    """The row count of every table and the newest event id: what a write would move."""
    async with database.session() as session:
        return tuple((await session.execute(footprint_statement())).one())


async def post(http: Any, query: str, variables: dict[str, Any], token: str) -> Any:
    """POSTs with every character escaped (a lone surrogate included) and deep JSON written out."""
    body = json.dumps({"query": query, "variables": variables}).replace(json.dumps(DEEP), DEEP_TEXT)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return await http.post("/graphql", content=body.encode(), headers=headers)


def refused(body: dict[str, Any], name: str) -> bool:
    payload = (body.get("data") or {}).get(name)
    return bool(body.get("errors")) or payload is None or bool(isinstance(payload, dict) and payload.get("userErrors"))


@pytest.fixture
def settings(settings: Any) -> Any:
    # no rate limits (hundreds of requests with one token), no sweeps writing meanwhile
    return without_rate_limits(settings).model_copy(update={"health_sweep_seconds": 0, "schedule_seconds": 0, "log_format": "json"})


@pytest.fixture
async def demo(app: Any, database: Any, clock: Any, settings: Any) -> tuple[str, dict[str, str]]:
    """An owner's token in the demo organisation, and one id per node type there (not the token's own)."""
    async with database.transaction() as session:
        await seed(session, clock.now(), app.state.runtime.plugins, settings)
    token = await issue_token(database, DEMO_ORG, "prober@demo.test", Role.OWNER)
    async with database.session() as session:
        organization = await session.scalar(select(Organization.id).where(Organization.slug == DEMO_ORG))
    return token, {type_name: found[0] for type_name, found in (await node_ids(database, organization)).items()}


async def test_every_field_refuses_bad_values_with_a_code_and_writes_nothing(app, http, gql, database, demo):
    token, ids = demo
    schema = build_schema(app.state.runtime.plugins)._schema
    await warm_up(gql, token)
    problems: list[tuple[str, str, str, Any]] = []
    sent: dict[str, int] = {}
    before = await footprint(database)
    for root in ("Query", "Mutation"):
        for name, field in schema.get_type(root).fields.items():
            base = {a: good(arg.type, a, ids) for a, arg in field.args.items() if isinstance(arg.type, GraphQLNonNull)}
            for path, scalar, _ in (s for a, arg in field.args.items() for s in slots(arg.type, (a,))):
                for bad in BAD[scalar]:
                    variables = {**base, path[0]: placed(field.args[path[0]].type, path[1:], bad, str(path[0]), ids)}
                    response = await post(http, document(root, name, field), variables, token)
                    body = response.json()
                    sent[scalar] = sent.get(scalar, 0) + 1
                    where = f"{root}.{name}({'.'.join(map(str, path))})"
                    shown = repr(bad)[:40]
                    if response.status_code >= 500 or "x-request-id" not in response.headers:
                        problems.append((where, shown, f"HTTP {response.status_code}", body))
                    codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
                    if "INTERNAL" in codes or None in codes:
                        problems.append((where, shown, "codes", codes))
                    if root == "Mutation":
                        after = await footprint(database)
                        if refused(body, name) and after != before:
                            problems.append((where, shown, "refused but wrote", body))
                        before = after
    assert [problem[:3] for problem in problems] == [], problems
    # the walk reached every kind of value, plugins' fields included
    assert set(sent) == set(BAD) and sum(sent.values()) > 500, sent


# -- each finding on its own ------------------------------------------------------------------

RAISE = "mutation($input: RaiseEventInput!) { raiseEvent(input: $input) { userErrors { code } } }"


async def test_json_nested_1000_deep_is_a_400_with_a_request_id_not_a_reset(http, acme):
    body = '{"query": "' + RAISE.replace('"', '\\"') + '", "variables": {"input": {"name": "x", "payload": ' + DEEP_TEXT + "}}}"
    response = await http.post("/graphql", content=body.encode(), headers={"Content-Type": "application/json", "Authorization": f"Bearer {acme[Role.OWNER]}"})
    assert response.status_code == 400
    assert response.headers["x-request-id"]
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "MCGRAPH_MAX_JSON_DEPTH" in response.json()["errors"][0]["message"]


async def test_json_past_the_depth_limit_is_refused_in_a_body_a_get_parameter_and_a_document(http, gql, acme):
    token = acme[Role.OWNER]
    deep, allowed = json.dumps({"v": nested(65)}), json.dumps({"v": nested(60)})
    posted = await http.post("/graphql", json={"query": "{ __typename }", "variables": {"v": nested(65)}}, headers={"Authorization": f"Bearer {token}"})
    assert posted.status_code == 400 and posted.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    got = await http.get("/graphql", params={"query": "{ __typename }", "variables": "[" * 1000 + "]" * 1000})
    assert got.status_code == 400 and got.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    got = await http.get("/graphql", params={"query": "{ __typename }", "extensions": deep})
    assert got.status_code == 400
    assert (await http.get("/graphql", params={"query": "{ __typename }", "variables": allowed})).status_code == 200
    literal = "[" * 65 + "1" + "]" * 65
    answer = await gql(f'mutation {{ raiseEvent(input: {{name: "x", payload: {literal}}}) {{ userErrors {{ code }} }} }}', token=token)
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["BAD_USER_INPUT"]
    assert "data" not in answer or answer["data"] is None


async def test_a_lone_surrogate_is_refused_before_anything_runs(http, acme):
    body = json.dumps({"query": "mutation($n: String!) { createProject(input: {key: \"SUR\", name: $n}) { userErrors { code } } }", "variables": {"n": "a\ud800"}})
    response = await http.post("/graphql", content=body.encode(), headers={"Content-Type": "application/json", "Authorization": f"Bearer {acme[Role.OWNER]}"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-23:59", "10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"])
async def test_a_moment_outside_the_calendar_in_utc_is_bad_user_input(gql, acme, moment):
    answer = await gql(
        "mutation($at: DateTime) { createApiToken(input: {name: \"t\", expiresAt: $at}) { userErrors { code } } }", {"at": moment}, token=acme[Role.OWNER]
    )
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["BAD_USER_INPUT"], answer


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "1e308", 1e308, "1e-400"])
async def test_a_decimal_that_no_column_keeps_is_bad_user_input(gql, acme, amount):
    answer = await gql(
        "mutation($b: Decimal) { createProject(input: {key: \"DEC\", name: \"D\", plannedBudget: $b}) { userErrors { code } } }",
        {"b": amount},
        token=acme[Role.OWNER],
    )
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["BAD_USER_INPUT"], answer


async def test_estimates_and_lags_too_large_to_plan_with_are_user_errors(gql, acme):
    token = acme[Role.OWNER]
    created = await gql.data('mutation { createProject(input: {key: "EST", name: "E"}) { project { id } } }', token=token)
    project = created["createProject"]["project"]["id"]
    for estimate in (1e30, 1e308):
        answer = await gql.data(
            "mutation($p: ID!, $e: Float) { createTask(input: {projectId: $p, title: \"t\", estimateHours: $e}) { userErrors { field code } } }",
            {"p": project, "e": estimate},
            token=token,
        )
        assert answer["createTask"]["userErrors"] == [{"field": ["estimateHours"], "code": "INVALID"}]
    answer = await gql.data(
        "mutation($p: ID!) { a: createTask(input: {projectId: $p, title: \"a\"}) { task { id } } b: createTask(input: {projectId: $p, title: \"b\"}) { task { id } } }",
        {"p": project},
        token=token,
    )
    linked = await gql.data(
        "mutation($a: ID!, $b: ID!) { addDependency(input: {predecessorId: $a, successorId: $b, lagDays: 1e308}) { userErrors { field code } } }",
        {"a": answer["a"]["task"]["id"], "b": answer["b"]["task"]["id"]},
        token=token,
    )
    assert linked["addDependency"]["userErrors"] == [{"field": ["lagDays"], "code": "INVALID"}]


async def test_a_workload_at_the_end_of_the_calendar_answers(gql, acme):
    data = await gql.data('{ workload(start: "9999-12-31") { start end } }', token=acme[Role.OWNER])
    assert data["workload"] == {"start": "9999-12-31", "end": "9999-12-31"}


async def test_a_websocket_message_nested_too_deep_closes_the_socket_as_a_bad_message(live_server, acme):
    async with open_socket(live_server, acme[Role.OWNER]) as sock:
        await sock.ws.send('{"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }", "variables": {"v": ' + DEEP_TEXT + "}}}")
        with pytest.raises(ConnectionClosed) as closed:
            await sock.receive()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


def test_the_depth_limit_counts_arrays_and_objects_one_in_the_other():
    assert not nesting_exceeds(nested(64), 64)
    assert nesting_exceeds(nested(65), 64)
    assert not nesting_exceeds([[1], {"a": [2]}, "x"], 3)  # siblings do not add up
    assert nesting_exceeds([[1], {"a": [2]}, "x"], 2)
    assert decode_json('{"a": [1, {"b": null}]}', 3) == {"a": [1, {"b": None}]}
    for refused in ('"\\ud800"', "NaN", "1e400", "[" * 65 + "]" * 65):
        with pytest.raises(json.JSONDecodeError):
            decode_json(refused, 64)
