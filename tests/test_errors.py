"""Error policy: codes for user mistakes, a masked answer and a log line for internal failures."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from mcgraph.api.tenancy import mutations
from mcgraph.db.models import Role
from mcgraph.db.pagination import encode_cursor
from mcgraph.logs import configure_logging
from mcgraph.settings import Settings
from tests.helpers import VIEWER_ROLE, error_codes, mutate, mutation_document, user_error_codes

CANARY = "canary-secret-123"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Log lines formatted as in production (JSON), written here; logging is restored afterwards."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    quiet = {name: (logging.getLogger(name).disabled, logging.getLogger(name).level) for name in ("strawberry.execution", "alembic")}
    configure_logging(Settings(log_format="json", log_level="info"))
    (handler,) = root.handlers
    root.handlers[:] = handlers  # keep pytest's own handlers, and add ours beside them
    root.addHandler(handler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        structlog.configure(**config)
        for name, (disabled, old_level) in quiet.items():
            logging.getLogger(name).disabled = disabled
            logging.getLogger(name).setLevel(old_level)


async def test_an_internal_error_is_masked_and_logged(gql, acme, monkeypatch, json_logs):
    def explode(*args, **kwargs):
        raise RuntimeError(f"database password is {CANARY}")

    monkeypatch.setattr(mutations.tenancy, "create_team", explode)
    body = await gql(mutation_document("createTeam"), {"input": {"name": "Ops"}}, token=acme[Role.OWNER])
    response = gql.last_response

    assert response.status_code == 200
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INTERNAL"
    request_id = response.headers["x-request-id"]
    assert error["extensions"]["requestId"] == request_id
    assert "request id" in error["message"]
    for leak in ("canary", "Traceback", "RuntimeError", "explode", ".py"):
        assert leak not in response.text

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    (logged,) = [line for line in lines if line["event"] == "internal error"]
    assert logged["request_id"] == request_id
    assert logged["level"] == "error"
    assert logged["path"] == "createTeam"
    assert "RuntimeError" in logged["exception"] and CANARY in logged["exception"]


# The request id does not depend on the database: SQLite is enough.
sqlite_only = pytest.mark.parametrize("mcgraph_database_url", ["sqlite"], indirect=True)


@sqlite_only
async def test_a_clients_request_id_is_used_and_echoed(http, acme, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError(CANARY)

    monkeypatch.setattr(mutations.tenancy, "create_team", explode)
    response = await http.post(
        "/graphql",
        json={"query": mutation_document("createTeam"), "variables": {"input": {"name": "Ops"}}},
        headers={"Authorization": f"Bearer {acme[Role.OWNER]}", "X-Request-ID": "abc12345-test"},
    )
    assert response.headers["x-request-id"] == "abc12345-test"
    assert response.json()["errors"][0]["extensions"]["requestId"] == "abc12345-test"


@sqlite_only
async def test_an_unfit_request_id_is_replaced_by_a_fresh_one(http):
    seen = set()
    for given in ["short", "has spaces in it", "x" * 200, "abc12345;DROP", ""]:
        response = await http.get("/healthz", headers={"X-Request-ID": given})
        fresh = response.headers["x-request-id"]
        assert fresh != given and len(fresh) >= 8, given
        seen.add(fresh)
    assert len(seen) == 5


MEMBERS = """
query($first: Int, $last: Int, $after: String) {
  viewer { organization { members(first: $first, last: $last, after: $after) { totalCount edges { cursor } } } }
}
"""

# name -> (document, variables, expected code, a word the message must contain)
MISTAKES = {
    "syntax": ("{ viewer { role }", {}, "GRAPHQL_PARSE_FAILED", "Syntax Error"),
    "unknown field": ("{ viewer { nope } }", {}, "GRAPHQL_VALIDATION_FAILED", "nope"),
    "unknown argument": ("{ viewer { organization { members(sideways: 1) { totalCount } } } }", {}, "GRAPHQL_VALIDATION_FAILED", "sideways"),
    "bad variable": (MEMBERS, {"first": "many"}, "BAD_USER_INPUT", "$first"),
    "page too big": (MEMBERS, {"first": 101}, "BAD_USER_INPUT", "100"),
    "negative last": (MEMBERS, {"last": -1}, "BAD_USER_INPUT", "last"),
    "first and last": (MEMBERS, {"first": 5, "last": 5}, "BAD_USER_INPUT", "first"),
    "garbage cursor": (MEMBERS, {"first": 5, "after": "garbage!"}, "BAD_USER_INPUT", "cursor"),
    "cursor not json": (MEMBERS, {"first": 5, "after": "bm90IGpzb24"}, "BAD_USER_INPUT", "cursor"),
    "cursor of wrong length": (MEMBERS, {"first": 5, "after": encode_cursor(["a"])}, "BAD_USER_INPUT", "cursor"),
    # PostgreSQL keeps no NUL in text, SQLite does: both refuse it, in a literal, a variable or a JSON key
    "NUL in a literal": ('{ project(key: "A\\u0000") { id } }', {}, "BAD_USER_INPUT", "NUL"),
    "NUL in a variable": (MEMBERS, {"first": 5, "after": "a\x00"}, "BAD_USER_INPUT", "$after"),
    "NUL in a JSON key": ("mutation($i: RaiseEventInput!) { raiseEvent(input: $i) { eventId } }", {"i": {"name": "e", "payload": {"k\x00": 1}}}, "BAD_USER_INPUT", "NUL"),
}


async def test_user_mistakes_get_a_code(gql, acme):
    observed = {}
    for name, (document, variables, _, mentions) in MISTAKES.items():
        body = await gql(document, variables, token=acme[Role.VIEWER])
        assert body["data"] is None, name
        assert mentions in body["errors"][0]["message"], name
        observed[name] = error_codes(body)
    assert observed == {name: [code] for name, (_, _, code, _) in MISTAKES.items()}


async def test_a_forged_cursor_is_bad_input_whatever_the_type_of_its_id(gql, acme):
    data = await gql.data(MEMBERS, {"first": 1}, token=acme[Role.VIEWER])
    cursor = data["viewer"]["organization"]["members"]["edges"][0]["cursor"]
    values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    observed = {}
    for forged in ("not-a-date", 12345, None):
        body = await gql(MEMBERS, {"first": 5, "after": encode_cursor([forged, *values[1:]])}, token=acme[Role.VIEWER])
        observed[repr(forged)] = error_codes(body)
    # the row id that breaks ties: past what the column holds, or of any other JSON type
    for forged_id in (2**64, -(2**64), True, False, None, 1.5, 1.0, "1", [1], {"id": 1}, {"n": "1"}, {"n": "x"}):
        body = await gql(MEMBERS, {"first": 5, "after": encode_cursor([*values[:-1], forged_id])}, token=acme[Role.VIEWER])
        observed[repr(forged_id)] = error_codes(body)
    assert observed == dict.fromkeys(observed, ["BAD_USER_INPUT"])


async def test_no_token_and_no_permission_have_their_codes(gql, acme):
    assert error_codes(await gql(VIEWER_ROLE)) == ["UNAUTHENTICATED"]
    body = await gql(mutation_document("updateOrganization"), {"input": {"name": "x"}}, token=acme[Role.VIEWER])
    assert error_codes(body) == ["FORBIDDEN"]
    assert "viewer" in body["errors"][0]["message"]


async def test_an_id_no_row_can_have_names_nothing(gql, acme):
    """Past the largest id the databases keep (2**63 - 1), or spelt in other digits: a missing id, not INTERNAL."""
    token = acme[Role.ADMIN]
    for pk in ("9223372036854775807", "9223372036854775808", "1" * 5000, "²"):
        forged = base64.urlsafe_b64encode(f"Team:{pk}".encode()).decode().rstrip("=")
        assert await gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": forged}, token=token) == {"node": None}, pk
        payload = await mutate(gql, "addTeamMembers", {"teamId": forged, "userIds": []}, token)
        assert user_error_codes(payload) == ["NOT_FOUND"], pk


async def test_a_wrong_id_in_a_query_filter_is_the_clients_mistake_not_an_internal_error(gql, acme):
    """``automationRuns(where: {ruleIds})`` refuses an id of another type as NOT_FOUND."""
    body = await gql('query($w: AutomationRunFilter) { automationRuns(where: $w) { totalCount } }',
                     {"w": {"ruleIds": ["VXNlcjox"]}}, token=acme[Role.MEMBER])
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND" and "is not the id of a AutomationRule" in error["message"]
