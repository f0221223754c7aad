"""The ``mcgraph`` command line: token create, settings errors, export-schema."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner, Result

from mcgraph.cli import main

TOKEN = re.compile(r"^mcg_[A-Za-z0-9_-]+$")
COMMITTED_SCHEMA = Path(__file__).resolve().parents[1] / "schema" / "schema.graphql"
WHO = "{ viewer { user { email } organization { name } role } }"


async def invoke(args: list[str], env: dict[str, str]) -> Result:
    """Run the command in a thread: it runs its own event loop."""
    return await asyncio.to_thread(CliRunner().invoke, main, args, env=env)


async def test_token_create_prints_only_a_working_token(gql, database_url):
    env = {"MCGRAPH_DATABASE_URL": database_url}
    args = ["token", "create", "--org", "acme", "--email", "a@acme.test", "--role", "owner"]
    first = await invoke(args, env)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert len(lines) == 1 and first.stdout == lines[0] + "\n"
    assert TOKEN.match(lines[0])

    expected = {"user": {"email": "a@acme.test"}, "organization": {"name": "acme"}, "role": "OWNER"}
    assert (await gql.data(WHO, token=lines[0]))["viewer"] == expected

    second = await invoke(args, env)
    assert second.exit_code == 0, second.output
    assert TOKEN.match(second.stdout.strip()) and second.stdout != first.stdout
    assert (await gql.data(WHO, token=second.stdout.strip()))["viewer"] == expected
    assert (await gql.data(WHO, token=lines[0]))["viewer"] == expected  # the first still works
    count = await gql.data("{ viewer { apiTokens { totalCount } } }", token=lines[0])
    assert count["viewer"]["apiTokens"]["totalCount"] == 2


async def test_token_create_sets_the_role_of_an_existing_member(gql, database_url):
    env = {"MCGRAPH_DATABASE_URL": database_url}
    base = ["token", "create", "--org", "acme", "--email", "b@acme.test"]
    viewer = (await invoke([*base, "--role", "viewer"], env)).stdout.strip()
    assert (await gql.data(WHO, token=viewer))["viewer"]["role"] == "VIEWER"
    admin = (await invoke([*base, "--role", "admin"], env)).stdout.strip()
    assert (await gql.data(WHO, token=admin))["viewer"]["role"] == "ADMIN"


BAD_INPUT = {
    "bad slug": (["--org", "Not A Slug", "--email", "a@acme.test"], "slug"),
    "bad email": (["--org", "acme", "--email", "not-an-email"], "not-an-email"),
    "bad role": (["--org", "acme", "--email", "a@acme.test", "--role", "king"], "king"),
}


async def test_token_create_refuses_bad_input(database_url):
    for name, (args, mentions) in BAD_INPUT.items():
        result = await invoke(["token", "create", *args], {"MCGRAPH_DATABASE_URL": database_url})
        assert result.exit_code != 0, name
        assert "mcg_" not in result.stdout, name
        assert mentions in result.output, name


@pytest.fixture
def no_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server was started")

    monkeypatch.setattr(uvicorn, "run", refuse)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MCGRAPH_MAX_PAGE_SIZE", "abc"),
        ("MCGRAPH_ENV", "prod"),
        ("MCGRAPH_DATABASE_URL", "mysql://x"),
        ("MCGRAPH_BROKER_URL", "kafka://x"),
        ("MCGRAPH_LOG_LEVEL", "loud"),
    ],
)
def test_serve_refuses_a_bad_setting(tmp_path, no_serving, variable, value):
    env = {"MCGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'mcgraph.db'}", variable: value}
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code != 0
    assert variable in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "mcgraph.db").exists()


def test_production_needs_a_secret_key(tmp_path, no_serving):
    env = {"MCGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "MCGRAPH_ENV": "production"}
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code != 0
    assert "MCGRAPH_SECRET_KEY" in result.output


def test_export_schema_check_passes_on_the_committed_schema():
    result = CliRunner().invoke(main, ["export-schema", "--check", "--path", str(COMMITTED_SCHEMA)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_export_schema_check_fails_on_a_stale_schema(tmp_path):
    stale = tmp_path / "schema.graphql"
    stale.write_text(COMMITTED_SCHEMA.read_text().replace("  viewer: Viewer!\n", ""))
    result = CliRunner().invoke(main, ["export-schema", "--check", "--path", str(stale)])
    assert result.exit_code != 0
    assert "+  viewer: Viewer!" in result.stdout
    assert "stale" in result.output


def test_export_schema_writes_a_file_that_then_checks(tmp_path):
    target = tmp_path / "out" / "schema.graphql"
    result = CliRunner().invoke(main, ["export-schema", "--path", str(target)])
    assert result.exit_code == 0, result.output
    assert "type Query {" in target.read_text()
    check = CliRunner().invoke(main, ["export-schema", "--check", "--path", str(target)])
    assert check.exit_code == 0, check.output
