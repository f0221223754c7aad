"""Abuse limits on GraphQL documents (depth, aliases, tokens, cost, errors) and production mode.

The limits are checked before anything executes and do not depend on the database:
SQLite is enough.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import Lexer, Source, TokenKind, get_introspection_query

from mcgraph.api import limits
from mcgraph.app import create_app
from mcgraph.db.models import Role
from mcgraph.settings import Settings

pytestmark = pytest.mark.parametrize("mcgraph_database_url", ["sqlite"], indirect=True)


def refused(body: dict[str, Any], code: str) -> dict[str, Any]:
    """The one error of a response refused before execution, with ``code``."""
    assert "data" not in body or body["data"] is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == code, error
    return error


def nested_parents(levels: int) -> str:
    """``tasks(first: 1) { edges { node { parent { ... { id } } } } }``: ``levels`` deep."""
    inner = "id"
    for _ in range(levels - 4):  # tasks, edges, node ... id
        inner = f"parent {{ {inner} }}"
    return f"{{ tasks(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"


# --- depth -------------------------------------------------------------------------


async def test_depth_at_the_limit_runs_and_one_more_is_refused(gql, acme):
    token = acme[Role.MEMBER]
    assert await gql.data(nested_parents(12), token=token) == {"tasks": {"edges": []}}
    error = refused(await gql(nested_parents(13), token=token), "QUERY_TOO_DEEP")
    assert "13" in error["message"] and "12" in error["message"] and "MCGRAPH_MAX_QUERY_DEPTH" in error["message"]


async def test_depth_is_measured_through_fragments(gql, acme):
    # tasks, edges, node; parent x2 in Up, parent x7 and id in Up2: 13
    document = """
    { tasks(first: 1) { edges { node { ...Up } } } }
    fragment Up on Task { parent { ... on Task { parent { ...Up2 } } } }
    fragment Up2 on Task { parent { parent { parent { parent { parent { parent { parent { id } } } } } } } }
    """
    refused(await gql(document, token=acme[Role.MEMBER]), "QUERY_TOO_DEEP")
    at_limit = document.replace("parent { id }", "id")
    assert await gql.data(at_limit, token=acme[Role.MEMBER]) == {"tasks": {"edges": []}}


async def test_introspection_is_exempt_from_the_depth_limit(gql):
    # graphql-core's full introspection query nests 15 fields deep
    body = await gql(get_introspection_query(descriptions=True, input_value_deprecation=True))
    assert "errors" not in body, body["errors"]
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


# --- aliases -----------------------------------------------------------------------


def aliased(count: int) -> str:
    return "{ viewer { " + " ".join(f"r{n}: role" for n in range(count)) + " } }"


async def test_fifteen_aliases_run_and_sixteen_are_refused(gql, acme):
    token = acme[Role.MEMBER]
    data = await gql.data(aliased(15), token=token)
    assert len(data["viewer"]) == 15
    error = refused(await gql(aliased(16), token=token), "TOO_MANY_ALIASES")
    assert "16" in error["message"] and "15" in error["message"]


async def test_aliases_are_counted_through_fragments_each_time_they_are_spread(gql, acme):
    fragment = "fragment Roles on Viewer { " + " ".join(f"r{n}: role" for n in range(8)) + " }"
    twice = "{ viewer { ...Roles } again: viewer { ...Roles } } " + fragment  # 8 + 1 + 8 = 17
    refused(await gql(twice, token=acme[Role.MEMBER]), "TOO_MANY_ALIASES")
    once_more = "{ viewer { ...Roles } other: viewer { role } } " + fragment  # 9
    assert (await gql.data(once_more, token=acme[Role.MEMBER]))["other"] == {"role": "MEMBER"}


# --- tokens ------------------------------------------------------------------------


def tokens(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def of_tokens(count: int) -> str:
    """A valid document of ``count`` lexical tokens (18 besides the list's strings)."""
    types = " ".join(f'"t{n}"' for n in range(count - 18))
    return f"{{ events(types: [{types}], first: 1) {{ edges {{ cursor }} }} }}"


async def test_a_document_of_2000_tokens_runs_and_one_of_2001_is_refused(gql, acme):
    assert tokens(of_tokens(2000)) == 2000
    assert await gql.data(of_tokens(2000), token=acme[Role.MEMBER]) == {"events": {"edges": []}}
    error = refused(await gql(of_tokens(2001), token=acme[Role.MEMBER]), "DOCUMENT_TOO_LARGE")
    assert "2000" in error["message"]


async def test_comments_do_not_escape_the_token_limit(gql):
    document = "{ __typename }\n" + "#\n" * 2001
    refused(await gql(document), "DOCUMENT_TOO_LARGE")


# --- cost --------------------------------------------------------------------------

# 100 * (1 + edges(1 + node(1 + id 1 + tasks(124 * (1 + edges(1 + node(1 + id 1))))))) = 50000
AT_COST_LIMIT = "{ projects(first: 100) { edges { node { id tasks(first: 124) { edges { node { id } } } } } } }"


async def test_cost_at_the_limit_runs_and_one_more_is_refused(gql, acme):
    token = acme[Role.MEMBER]
    assert await gql.data(AT_COST_LIMIT, token=token) == {"projects": {"edges": []}}
    over = AT_COST_LIMIT[:-1] + " __typename }"
    error = refused(await gql(over, token=token), "QUERY_TOO_COMPLEX")
    assert "50001" in error["message"] and "50000" in error["message"] and "MCGRAPH_MAX_QUERY_COST" in error["message"]


async def test_nested_pages_of_100_are_too_costly(gql, acme):
    document = "{ projects(first: 100) { edges { node { tasks(first: 100) { edges { node { id title key state { key } } } } } } } }"
    refused(await gql(document, token=acme[Role.MEMBER]), "QUERY_TOO_COMPLEX")


async def test_cost_reads_first_from_variables_and_their_defaults(gql, acme):
    token = acme[Role.MEMBER]
    document = (
        "query Q($outer: Int, $inner: Int = 100) "
        "{ projects(first: $outer) { edges { node { tasks(first: $inner) { edges { node { id title key state { key } } } } } } } }"
    )
    refused(await gql(document, {"outer": 100, "inner": 100}, token=token), "QUERY_TOO_COMPLEX")
    refused(await gql(document, {"outer": 100}, token=token), "QUERY_TOO_COMPLEX")  # $inner's default
    assert await gql.data(document, {"outer": 5, "inner": 5}, token=token) == {"projects": {"edges": []}}


async def test_a_document_that_passed_is_checked_again_for_the_page_sizes_of_its_variables(gql, acme, monkeypatch):
    token = acme[Role.MEMBER]
    document = (
        "query Q($outer: Int, $inner: Int = 100) "
        "{ projects(first: $outer) { edges { node { tasks(first: $inner) { edges { node { id title key state { key } } } } } } } }"
    )
    walks = []
    validate = limits.validate
    monkeypatch.setattr(limits, "validate", lambda *args, **kwargs: walks.append(1) or validate(*args, **kwargs))
    for _ in range(3):
        assert await gql.data(document, {"outer": 5, "inner": 5}, token=token) == {"projects": {"edges": []}}
    assert len(walks) == 1  # once passed, the same document and page sizes are not walked again
    refused(await gql(document, {"outer": 100, "inner": 100}, token=token), "QUERY_TOO_COMPLEX")
    # null takes the default page size, and a variable left out the document's default
    assert await gql.data(document, {"outer": 100, "inner": None}, token=token) == {"projects": {"edges": []}}
    refused(await gql(document, {"outer": 100}, token=token), "QUERY_TOO_COMPLEX")
    refused(await gql(document, {"outer": 100}, token=token), "QUERY_TOO_COMPLEX")


async def test_a_document_is_walked_once_whatever_its_other_variables(gql, acme, monkeypatch):
    token = acme[Role.MEMBER]
    document = "query Q($search: String, $first: Int) { projects(first: $first, where: {search: $search}) { edges { node { id } } } }"
    walks = []
    validate = limits.validate
    monkeypatch.setattr(limits, "validate", lambda *args, **kwargs: walks.append(1) or validate(*args, **kwargs))
    for search in ("a", "b", "c"):
        assert await gql.data(document, {"search": search, "first": 5}, token=token) == {"projects": {"edges": []}}
    assert len(walks) == 1  # a new search is not a new document
    assert await gql.data(document, {"search": "d", "first": 6}, token=token) == {"projects": {"edges": []}}
    assert len(walks) == 2  # a new page size is walked for its cost
    assert await gql.data(document, {"search": "e"}, token=token) == {"projects": {"edges": []}}
    assert len(walks) == 3  # and so is a page size left out


async def test_cost_counts_fragments_and_the_default_page_size(gql, acme):
    # no first: 20 each; over 50000 only because the default page size multiplies
    document = (
        "{ projects { edges { node { ...Tasks } } } } "
        "fragment Tasks on Project { tasks { edges { node { id comments { edges { node { id body createdAt author { email } } } } } } } }"
    )
    refused(await gql(document, token=acme[Role.MEMBER]), "QUERY_TOO_COMPLEX")


# --- errors ------------------------------------------------------------------------


def unknown_fields(count: int) -> str:
    return "{ " + " ".join(f"nope{n}" for n in range(count)) + " }"


async def test_twenty_errors_are_returned_and_more_are_cut(gql):
    body = await gql(unknown_fields(20))
    assert len(body["errors"]) == 20
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}

    body = await gql(unknown_fields(30))
    assert len(body["errors"]) == 20
    *kept, last = body["errors"]
    assert {e["extensions"]["code"] for e in kept} == {"GRAPHQL_VALIDATION_FAILED"}
    assert last["extensions"]["code"] == "TOO_MANY_ERRORS"
    assert "more errors were left out" in last["message"] and "MCGRAPH_MAX_ERRORS" in last["message"]


# --- production --------------------------------------------------------------------


@pytest.fixture
async def production(database_url) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with MCGRAPH_ENV=production."""
    app = create_app(Settings(database_url=database_url, env="production", secret_key="x" * 40))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield client


async def post(client: httpx.AsyncClient, query: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return (await client.post("/graphql", json={"query": query}, headers=headers)).json()


async def test_production_refuses_introspection_but_not_typename(production, acme):
    for document in ("{ __schema { queryType { name } } }", '{ __type(name: "Query") { name } }', get_introspection_query()):
        error = (await post(production, document))["errors"][0]
        assert error["extensions"]["code"] == "INTROSPECTION_DISABLED", error
    assert await post(production, "{ __typename viewer { role } }", acme[Role.MEMBER]) == {
        "data": {"__typename": "Query", "viewer": {"role": "MEMBER"}}
    }


async def test_development_allows_introspection(gql):
    assert await gql.data("{ __schema { queryType { name } } }") == {"__schema": {"queryType": {"name": "Query"}}}


async def test_production_gives_no_suggestions(production, gql, acme):
    document = "{ viewr { role } }"
    (dev,) = (await gql(document))["errors"]
    assert "Did you mean 'viewer'?" in dev["message"]

    (prod,) = (await post(production, document))["errors"]
    assert prod["message"] == "Cannot query field 'viewr' on type 'Query'."
    assert prod["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    enum = '{ tasks(where: { priority: HIHG }) { totalCount } }'
    (prod,) = (await post(production, enum, acme[Role.MEMBER]))["errors"]
    assert "Did you mean" not in prod["message"]


async def test_production_still_applies_the_limits(production, acme):
    body = await post(production, aliased(16), acme[Role.MEMBER])
    refused(body, "TOO_MANY_ALIASES")
