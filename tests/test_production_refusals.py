"""A production server, served for real by uvicorn, refuses the whole list of hostile or
malformed requests, each with its status and code, and never answers with a trace."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mcgraph.app import create_app
from mcgraph.db.models import Role
from mcgraph.settings import Settings
from tests.live import serving

pytestmark = pytest.mark.parametrize("mcgraph_database_url", ["sqlite"], indirect=True)

SIXTEEN_ALIASES = "{ viewer { " + " ".join(f"r{n}: role" for n in range(16)) + " } }"
SIXTEEN_THROUGH_A_FRAGMENT = (
    "query { viewer { ...Roles ...Roles } } fragment Roles on Viewer { " + " ".join(f"r{n}: role" for n in range(8)) + " }"
)
TOO_DEEP = "{ tasks(first: 1) { edges { node { " + "parent { " * 12 + "id" + " }" * 12 + " } } } }"


def code(response: httpx.Response) -> str | None:
    body = response.json()
    errors = body.get("errors") or []
    return errors[0]["extensions"].get("code") if errors else None


@pytest.fixture
def production(database_url: str) -> Any:
    settings = Settings(database_url=database_url, env="production", secret_key="s" * 40, max_request_bytes=20_000)
    with serving(create_app(settings)) as url:
        yield url


async def test_a_production_server_refuses_each_hostile_request(production, acme):
    token = {"Authorization": f"Bearer {acme[Role.MEMBER]}"}
    answers: list[httpx.Response] = []
    async with httpx.AsyncClient(base_url=production, headers=token) as client:

        async def ask(method: str, **options: Any) -> httpx.Response:
            answers.append(await client.request(method, "/graphql", **options))
            return answers[-1]

        introspection = await ask("POST", json={"query": "{ __schema { types { name } } }"})
        assert code(introspection) == "INTROSPECTION_DISABLED"
        graphiql = await ask("GET", headers={"Accept": "text/html"})
        assert "graphiql" not in graphiql.text.lower()
        over_get = await ask("GET", params={"query": 'mutation { createTeam(input: {name: "x"}) { team { id } } }'})
        assert over_get.status_code == 405 and over_get.headers["allow"] == "POST"
        for content_type, body in (("application/x-www-form-urlencoded", "query=%7B+viewer+%7B+role+%7D+%7D"), ("text/plain", '{"query": "{ viewer { role } }"}')):
            refused = await ask("POST", content=body, headers={"Content-Type": content_type})
            assert refused.status_code == 415, content_type
        for document, expected in ((SIXTEEN_ALIASES, "TOO_MANY_ALIASES"), (SIXTEEN_THROUGH_A_FRAGMENT, "TOO_MANY_ALIASES"), (TOO_DEEP, "QUERY_TOO_DEEP")):
            refused = await ask("POST", json={"query": document})
            assert code(refused) == expected, refused.text
            assert refused.json().get("data") is None
        batch = await ask("POST", json=[{"query": "{ viewer { role } }"}] * 2)
        assert batch.status_code == 400
        too_big = await ask("POST", json={"query": "{ viewer { role } }", "variables": {"pad": "x" * 30_000}})
        assert too_big.status_code == 413
        fine = await ask("POST", json={"query": "{ viewer { role } }"})
        assert fine.json() == {"data": {"viewer": {"role": "MEMBER"}}}

    for answer in answers:
        assert "Traceback" not in answer.text and 'File "' not in answer.text, answer.text
