"""GraphQL documents and helpers shared by the tests of projects and tasks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mcgraph.api.ids import decode_id
from mcgraph.db import Database
from mcgraph.db import models as m
from tests.helpers import data_columns

PROJECT_FIELDS = "id key name version status stage { key } progress health { health computed reasons { code message } }"
TASK_FIELDS = "id key title version rank state { key category } parent { key } assignee { email }"

PAYLOADS = {
    "createProject": f"project {{ {PROJECT_FIELDS} }}",
    "updateProject": f"project {{ {PROJECT_FIELDS} }}",
    "moveProjectStage": "project { id version stage { key } }",
    "setProjectStatus": "project { id version status }",
    "overrideProjectHealth": "project { id version health { health computed override { health note by { email } } } }",
    "archiveProject": "project { id archivedAt }",
    "setProjectMember": "member { id role user { email } }",
    "removeProjectMember": "project { id }",
    "createTask": f"task {{ {TASK_FIELDS} }}",
    "updateTask": f"task {{ {TASK_FIELDS} }}",
    "setTaskState": f"task {{ {TASK_FIELDS} }}",
    "moveTask": f"task {{ {TASK_FIELDS} }}",
    "deleteTask": "deletedTaskId",
    "addDependency": "dependency { id type lagDays predecessor { key } successor { key } }",
    "removeDependency": "removedDependencyId",
}

# Tables a project mutation may write; compared before and after a refused request.
PROJECT_TABLES = [m.Project, m.ProjectMember, m.ProjectLabel, m.Milestone, m.Task, m.TaskLabel, m.Dependency, m.Event]


def mutation_document(name: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"mutation M($input: {input_type}!) {{ {name}(input: $input) {{ userErrors {{ field message code }} {PAYLOADS[name]} }} }}"


async def mutate(gql: Any, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    """The payload of mutation ``name``; the request itself must have no errors."""
    return (await gql.data(mutation_document(name), {"input": input}, token=token))[name]


async def succeed(gql: Any, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    """The payload of mutation ``name``, which must have no user errors either."""
    payload = await mutate(gql, name, input, token)
    assert payload["userErrors"] == [], payload
    return payload


def pk(global_id: str) -> int:
    """The primary key behind a global id."""
    decoded = decode_id(global_id)
    assert decoded is not None, global_id
    return decoded[1]


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def create_project(gql: Any, token: str, key: str, **fields: Any) -> dict[str, Any]:
    payload = await succeed(gql, "createProject", {"key": key, "name": fields.pop("name", f"Project {key}"), **fields}, token)
    return payload["project"]


async def create_task(gql: Any, token: str, project_id: str, title: str, **fields: Any) -> dict[str, Any]:
    payload = await succeed(gql, "createTask", {"projectId": project_id, "title": title, **fields}, token)
    return payload["task"]


async def viewer_id(gql: Any, token: str) -> str:
    """The global id of the token's user."""
    return (await gql.data("{ viewer { user { id } } }", token=token))["viewer"]["user"]["id"]


async def project_by_key(gql: Any, token: str, key: str, selection: str) -> dict[str, Any] | None:
    data = await gql.data(f"query($key: String!) {{ project(key: $key) {{ {selection} }} }}", {"key": key}, token=token)
    return data["project"]


async def rows_of(database: Database, *models: type) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the given tables (all by default of the project area), to show nothing changed."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with database.session() as session:
        for model in models or PROJECT_TABLES:
            table = model.__table__  # type: ignore[attr-defined]
            result = await session.execute(select(*data_columns(table)).order_by(table.c.id))
            rows[table.name] = [tuple(row) for row in result]
    return rows


async def events_of(database: Database, event_type: str) -> list[m.Event]:
    async with database.session() as session:
        return list(await session.scalars(select(m.Event).where(m.Event.type == event_type).order_by(m.Event.id)))
