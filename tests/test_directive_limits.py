"""The directive-overloading probe (``{ __typename @aa@aa@aa... }``) gets one error back,
not one per directive; a few directives in one place run as before. SQLite is enough."""

from __future__ import annotations

import pytest

from mcgraph.db.models import Role
from tests.test_limits import refused

pytestmark = pytest.mark.parametrize("mcgraph_database_url", ["sqlite"], indirect=True)

LIMIT = 5


async def test_hundreds_of_unknown_directives_get_one_error(gql, acme):
    error = refused(await gql("{ __typename " + "@aa" * 300 + " }", token=acme[Role.MEMBER]), "TOO_MANY_DIRECTIVES")
    assert "300 directives" in error["message"] and "MCGRAPH_MAX_DIRECTIVES" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 3}]


@pytest.mark.parametrize(
    "document",
    [
        "query Q " + "@aa" * (LIMIT + 1) + " { __typename }",
        "query Q($v: Int " + "@aa" * (LIMIT + 1) + ") { __typename }",
        "{ ... on Query " + "@skip(if: false)" * (LIMIT + 1) + " { __typename } }",
        "{ ...F " + "@include(if: true)" * (LIMIT + 1) + " } fragment F on Query { __typename }",
        "{ ...F } fragment F on Query " + "@aa" * (LIMIT + 1) + " { __typename }",
        "{ viewer { role " + "@skip(if: false)" * (LIMIT + 1) + " } }",
    ],
    ids=["operation", "variable", "inline fragment", "spread", "fragment", "field"],
)
async def test_one_directive_too_many_in_any_place_is_one_error(gql, acme, document):
    refused(await gql(document, token=acme[Role.MEMBER]), "TOO_MANY_DIRECTIVES")


async def test_directives_up_to_the_limit_are_checked_as_before(gql, acme):
    ok = await gql("{ viewer { role @include(if: true) @skip(if: false) } }", token=acme[Role.MEMBER])
    assert ok == {"data": {"viewer": {"role": "MEMBER"}}}
    unknown = await gql("{ __typename " + "@aa" * LIMIT + " }", token=acme[Role.MEMBER])
    assert [e["extensions"]["code"] for e in unknown["errors"]] == ["GRAPHQL_VALIDATION_FAILED"] * LIMIT
