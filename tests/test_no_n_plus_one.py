"""No N+1: the SQL statements of a projects query do not grow with the rows returned.

Organisation acme gets 5 projects and globex 100, each with a manager, 3 members and
12 assigned tasks, inserted directly. The same query, asked by each organisation's
manager, must run the same number of statements.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from mcgraph.db import Database
from mcgraph.db import models as m
from mcgraph.db.models import Role
from tests.helpers import statements

LIST = """{ projects(first: 100) { edges { node {
  key manager { email } members { user { email } } progress health { health }
  tasks(first: 10) { totalCount edges { node { title assignee { email } } } }
} } } }"""

# Every other relation of a project and a task, to catch one that is not batched.
EVERYTHING = """{ projects(first: 100) { totalCount nodes {
  key stage { key name } methodology { key } labels actualCost milestones { name }
  manager { email } members { role user { email } }
  progress health { health computed reasons { code } override { health } }
  schedule { durationDays criticalPath { key } tasks { slackDays task { key } } }
  tasks(first: 10, where: {topLevelOnly: true}) { totalCount nodes {
    key title isOverdue category state { key name } labels
    assignee { email } project { key } parent { key } milestone { name }
    subtasks { key } predecessors { type predecessor { key } } successors { successor { key } }
  } }
} } }"""


async def seed(database: Database, slug: str, projects: int) -> None:
    """``projects`` projects in organisation ``slug``, each with its own manager and 3
    members, 12 tasks assigned round the members, labels and a chain of dependencies."""
    async with database.transaction() as session:
        org = await session.scalar(select(m.Organization).where(m.Organization.slug == slug))
        assert org is not None
        for p in range(projects):
            people = [m.User(email=f"p{p}.{i}@{slug}.test", name=f"Person {p}.{i}") for i in range(4)]
            session.add_all(people)
            await session.flush()
            session.add_all(
                m.Membership(organization_id=org.id, user_id=u.id, role=Role.MANAGER if i == 0 else Role.MEMBER)
                for i, u in enumerate(people)
            )
            project = m.Project(
                organization_id=org.id, key=f"P{p}", name=f"Project {p}", methodology="simple", stage="plan",
                status=m.ProjectStatus.ACTIVE, start_date=date(2026, 3, 2), target_end_date=date(2026, 4, 30),
                manager_id=people[0].id,
            )
            session.add(project)
            await session.flush()
            session.add_all(
                m.ProjectMember(organization_id=org.id, project_id=project.id, user_id=u.id, role="manager" if i == 0 else "member")
                for i, u in enumerate(people)
            )
            session.add(m.ProjectLabel(organization_id=org.id, project_id=project.id, name="client"))
            tasks = [
                m.Task(
                    organization_id=org.id, project_id=project.id, key_number=n + 1, title=f"Task {p}.{n}", state="todo",
                    state_category=m.StateCategory.TODO, rank=f"r{n:03d}", assignee_id=people[1 + n % 3].id,
                    estimate_hours=8.0, due_date=date(2026, 3, 1 + n),
                )
                for n in range(12)
            ]
            session.add_all(tasks)
            await session.flush()
            session.add_all(m.TaskLabel(organization_id=org.id, task_id=t.id, name="web") for t in tasks[:3])
            session.add_all(
                m.Dependency(organization_id=org.id, predecessor_id=a.id, successor_id=b.id, type=m.DependencyType.FS)
                for a, b in zip(tasks, tasks[1:4], strict=False)
            )


async def statements_for(gql: Any, app: Any, query: str, token: str) -> tuple[int, dict[str, Any]]:
    await gql.data("{ viewer { role } }", token=token)  # the token's first use is recorded; not counted
    with statements(app) as seen:
        data = await gql.data(query, token=token)
    return len(seen), data


def items(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]] if "edges" in connection else connection["nodes"]


@pytest.mark.parametrize("query", [LIST, EVERYTHING], ids=["list", "everything"])
async def test_statement_count_does_not_grow_with_projects(gql, app, database, acme, globex, query):
    await seed(database, "acme", 5)
    await seed(database, "globex", 100)

    few, few_data = await statements_for(gql, app, query, acme[Role.MANAGER])
    many, many_data = await statements_for(gql, app, query, globex[Role.MANAGER])
    print(f"SQL statements: {few} for 5 projects, {many} for 100 projects")

    assert len(items(few_data["projects"])) == 5
    projects = items(many_data["projects"])
    assert len(projects) == 100
    assert all(len(p["members"]) == 4 and p["manager"]["email"].endswith(".0@globex.test") for p in projects)
    assert all(p["tasks"]["totalCount"] == 12 and len(items(p["tasks"])) == 10 for p in projects)
    assert 0 < few == many
