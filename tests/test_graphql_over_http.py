"""GraphQL over HTTP conformance: media types and status codes, methods, CSRF-safe
content types, request size limits and one operation per request.

See :mod:`mcgraph.api.http` and https://graphql.github.io/graphql-over-http/draft/.
"""

from __future__ import annotations

import json

import pytest

from mcgraph.api.http import GRAPHQL_RESPONSE_JSON, negotiate
from mcgraph.db.models import Role
from tests.helpers import TEAMS, VIEWER_ROLE, error_codes, mutation_document

GR_JSON = {"Accept": GRAPHQL_RESPONSE_JSON}
MiB = 1024 * 1024
CREATE_TEAM = 'mutation { createTeam(input: {name: "Sneaky"}) { team { id } } }'


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def assert_refusal(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert len(response.headers["x-request-id"]) >= 8
    body = response.json()
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == code
    assert error["message"]
    return error


async def team_names(gql, token: str) -> list[str]:
    return [t["name"] for t in (await gql.data(TEAMS, token=token))["viewer"]["organization"]["teams"]["nodes"]]


# --- Accept negotiation (pure) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("application/json, application/graphql-response+json", "application/json"),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        ("application/json;q=0, */*", GRAPHQL_RESPONSE_JSON),
        ("text/html", None),
        ("text/html, application/xml;q=0.9", None),
        (f"{GRAPHQL_RESPONSE_JSON};q=0, application/json;q=0", None),
    ],
)
def test_accept_negotiation(accept, chosen):
    assert negotiate(accept) == chosen


# --- media types and status codes -----------------------------------------------------------


async def test_graphql_response_json_is_answered_with_it(http, acme):
    response = await http.post("/graphql", json={"query": VIEWER_ROLE}, headers=auth(acme[Role.MEMBER], **GR_JSON))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert response.json() == {"data": {"viewer": {"role": "MEMBER"}}}
    assert response.headers["x-request-id"]


async def test_graphql_response_json_syntax_error_is_400_without_data(http, acme):
    response = await http.post("/graphql", json={"query": "{ viewer { role "}, headers=auth(acme[Role.MEMBER], **GR_JSON))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    body = response.json()
    assert "data" not in body
    assert error_codes(body) == ["GRAPHQL_PARSE_FAILED"]


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        ("{ viewer { noSuchField } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query($id: ID!) { node(id: $id) { id } }", {}, "BAD_USER_INPUT"),
        ("query($first: Int) { viewer { organization { teams(first: $first) { nodes { id } } } } }", {"first": "many"}, "BAD_USER_INPUT"),
    ],
)
async def test_graphql_response_json_validation_and_variable_errors_are_400(http, acme, document, variables, code):
    response = await http.post(
        "/graphql", json={"query": document, "variables": variables}, headers=auth(acme[Role.MEMBER], **GR_JSON)
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    assert error_codes(body) == [code]


async def test_graphql_response_json_field_errors_are_200_with_data(http, acme):
    # no token: viewer raises UNAUTHENTICATED while executing
    response = await http.post("/graphql", json={"query": VIEWER_ROLE}, headers=GR_JSON)
    assert response.status_code == 200
    body = response.json()
    assert "data" in body
    assert error_codes(body) == ["UNAUTHENTICATED"]
    # a FORBIDDEN mutation field
    response = await http.post(
        "/graphql",
        json={"query": mutation_document("updateOrganization"), "variables": {"input": {"name": "x"}}},
        headers=auth(acme[Role.VIEWER], **GR_JSON),
    )
    assert response.status_code == 200
    body = response.json()
    assert "data" in body
    assert error_codes(body) == ["FORBIDDEN"]


async def test_plain_json_keeps_200_and_data_for_request_errors(http, acme):
    for accept in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):
        response = await http.post("/graphql", json={"query": "{ viewer { noSuchField } }"}, headers=auth(acme[Role.MEMBER], **accept))
        assert response.status_code == 200, accept
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["data"] is None
        assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_unacceptable_accept_is_406(http, gql, acme):
    response = await http.post("/graphql", content=json.dumps({"query": CREATE_TEAM}), headers=auth(acme[Role.OWNER], **{"Accept": "text/html", "Content-Type": "application/json"}))
    assert_refusal(response, 406, "NOT_ACCEPTABLE")
    response = await http.get("/graphql", params={"query": VIEWER_ROLE}, headers={"Accept": "text/html"})
    assert_refusal(response, 406, "NOT_ACCEPTABLE")
    assert await team_names(gql, acme[Role.OWNER]) == []


async def test_refusals_follow_the_negotiated_media_type(http):
    response = await http.post("/graphql", content=b"{", headers={"Content-Type": "application/json", **GR_JSON})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


# --- methods ------------------------------------------------------------------------------


async def test_a_mutation_over_get_is_405_allow_post(http, gql, acme):
    response = await http.get("/graphql", params={"query": CREATE_TEAM}, headers=auth(acme[Role.OWNER]))
    error = assert_refusal(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in error["message"]
    assert response.headers["allow"] == "POST"
    assert await team_names(gql, acme[Role.OWNER]) == []


async def test_a_query_over_get_with_graphql_response_json(http, acme):
    response = await http.get("/graphql", params={"query": VIEWER_ROLE}, headers=auth(acme[Role.VIEWER], **GR_JSON))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert response.json() == {"data": {"viewer": {"role": "VIEWER"}}}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
async def test_other_methods_are_405(http, method):
    response = await http.request(method, "/graphql", json={"query": VIEWER_ROLE})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["x-request-id"]
    if method != "HEAD":
        assert_refusal(response, 405, "METHOD_NOT_ALLOWED")


# --- CSRF: content types --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", f"query={CREATE_TEAM}"),
        ("text/plain", json.dumps({"query": CREATE_TEAM})),
        ("text/plain;charset=UTF-8", json.dumps({"query": CREATE_TEAM})),
        ("multipart/form-data; boundary=x", f'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{CREATE_TEAM}\r\n--x--\r\n'),
        (GRAPHQL_RESPONSE_JSON, json.dumps({"query": CREATE_TEAM})),
        ("application/json-seq", json.dumps({"query": CREATE_TEAM})),
        ("application/json; charset=latin-1", json.dumps({"query": CREATE_TEAM})),
        (None, json.dumps({"query": CREATE_TEAM})),
    ],
)
async def test_non_json_post_is_415_and_runs_nothing(http, gql, acme, content_type, body):
    headers = auth(acme[Role.OWNER])
    if content_type:
        headers["Content-Type"] = content_type
    response = await http.post("/graphql", content=body.encode(), headers=headers)
    assert_refusal(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert await team_names(gql, acme[Role.OWNER]) == []


async def test_json_post_with_charset_runs(http, gql, acme):
    response = await http.post(
        "/graphql",
        content=json.dumps({"query": CREATE_TEAM}).encode(),
        headers=auth(acme[Role.OWNER], **{"Content-Type": "application/json; charset=utf-8"}),
    )
    assert response.status_code == 200, response.text
    assert await team_names(gql, acme[Role.OWNER]) == ["Sneaky"]


@pytest.mark.parametrize(("body", "mentions"), [(b"{", "not valid JSON"), (b"\xff\xfe", "UTF-8"), (b"", "not valid JSON"), (b'"query"', "JSON object")])
async def test_a_body_that_is_not_a_json_object_is_400(http, body, mentions):
    response = await http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    error = assert_refusal(response, 400, "BAD_REQUEST")
    assert mentions in error["message"]


async def test_strawberrys_own_refusals_get_the_json_shape(http):
    response = await http.post("/graphql", json={"variables": {}})
    error = assert_refusal(response, 400, "BAD_REQUEST")
    assert "query" in error["message"].lower()
    response = await http.post("/graphql", json={"query": VIEWER_ROLE, "variables": [1]})
    assert_refusal(response, 400, "BAD_REQUEST")


# --- request size ---------------------------------------------------------------------------


def padded(size: int) -> bytes:
    """A valid JSON request of exactly ``size`` bytes."""
    head = json.dumps({"query": VIEWER_ROLE, "extensions": {"pad": ""}}).encode()
    return head[:-2] + b" " * (size - len(head)) + head[-2:]


async def test_a_body_of_the_limit_is_read(http, acme):
    body = padded(MiB)
    assert len(body) == MiB
    response = await http.post("/graphql", content=body, headers=auth(acme[Role.VIEWER], **{"Content-Type": "application/json"}))
    assert response.status_code == 200, response.text[:200]
    assert response.json() == {"data": {"viewer": {"role": "VIEWER"}}}


async def test_one_byte_over_the_limit_is_413(http, gql, acme):
    response = await http.post(
        "/graphql", content=padded(MiB + 1), headers=auth(acme[Role.OWNER], **{"Content-Type": "application/json"})
    )
    assert_refusal(response, 413, "REQUEST_TOO_LARGE")


async def test_a_declared_length_over_the_limit_is_413_before_reading(app):
    received = 0

    async def receive():
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"{}", "more_body": False}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "", "server": ("testserver", 80),
        "client": ("127.0.0.1", 1), "headers": [(b"content-type", b"application/json"), (b"content-length", str(MiB + 1).encode())],
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert received == 0
    assert json.loads(sent[1]["body"])["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


async def test_a_chunked_body_over_the_limit_is_413(http, acme):
    async def chunks():
        for _ in range(17):
            yield b" " * (64 * 1024)

    response = await http.post("/graphql", content=chunks(), headers=auth(acme[Role.VIEWER], **{"Content-Type": "application/json"}))
    assert "content-length" not in response.request.headers
    assert_refusal(response, 413, "REQUEST_TOO_LARGE")


async def test_a_bad_content_length_is_400(http):
    response = await http.post("/graphql", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "lots"})
    assert_refusal(response, 400, "BAD_REQUEST")


async def test_a_long_get_query_string_is_414(http, acme):
    query = "{ viewer { role } }" + " " * 8192
    response = await http.get("/graphql", params={"query": query}, headers=auth(acme[Role.VIEWER]))
    assert_refusal(response, 414, "URI_TOO_LONG")
    response = await http.get("/graphql", params={"query": "{ viewer { role } }" + " " * 4000}, headers=auth(acme[Role.VIEWER]))
    assert response.status_code == 200


# --- one operation per request ---------------------------------------------------------------


async def test_a_batch_is_refused_with_400(http, gql, acme):
    response = await http.post(
        "/graphql", json=[{"query": VIEWER_ROLE}, {"query": CREATE_TEAM}], headers=auth(acme[Role.OWNER])
    )
    error = assert_refusal(response, 400, "BAD_REQUEST")
    assert "not supported" in error["message"]
    assert await team_names(gql, acme[Role.OWNER]) == []
