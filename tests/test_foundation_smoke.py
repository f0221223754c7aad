from __future__ import annotations

from mcgraph.db.models import Role

VIEWER = "{ viewer { user { email } organization { name slug } role } }"


async def test_viewer_answers_with_a_token(gql, acme):
    data = await gql.data(VIEWER, token=acme[Role.OWNER])
    assert data["viewer"] == {"user": {"email": "owner@acme.test"}, "organization": {"name": "acme", "slug": "acme"}, "role": "OWNER"}


async def test_no_token_is_unauthenticated(gql, acme):
    body = await gql(VIEWER)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
