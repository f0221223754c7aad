"""Demo data for ``mcgraph serve --demo``: an organisation to explore at once.

Five projects in different states of health, with tasks, dependencies, milestones, time
and costs, all made through the domain services (so their events and health are real),
dated around the day the demo is seeded. Seeding again reuses what is there and only
issues a new token.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.db.models import Milestone, Project, ProjectStatus, Role, TimeEntry
from mcgraph.domain import projects, tasks, tenancy, tokens
from mcgraph.domain.health_refresh import refresh_health
from mcgraph.domain.permissions import Actor
from mcgraph.domain.unit import Unit
from mcgraph.plugins.manager import Plugins
from mcgraph.settings import Settings

DEMO_ORG = "demo"
DEMO_PEOPLE = [
    ("olivia@demo.test", "Olivia Owner", Role.OWNER),
    ("adam@demo.test", "Adam Admin", Role.ADMIN),
    ("maya@demo.test", "Maya Manager", Role.MANAGER),
    ("mo@demo.test", "Mo Member", Role.MEMBER),
    ("noor@demo.test", "Noor Member", Role.MEMBER),
    ("vic@demo.test", "Vic Viewer", Role.VIEWER),
]
DEMO_TEAMS = {"Platform": ["maya@demo.test", "mo@demo.test", "noor@demo.test"], "Operations": ["adam@demo.test", "vic@demo.test"]}

# (key, name, days from today to start, length in days, budget, status, tasks)
# each task: (title, hours, due in days from today, state, assignee e-mail local part, predecessors)
PROJECTS = [
    ("WEB", "Website relaunch", -15, 60, "40000", ProjectStatus.ACTIVE, [
        ("Content audit", 16, -12, "done", "mo", []),
        ("Information architecture", 24, -4, "done", "noor", [0]),
        ("Visual design", 40, 8, "in_progress", "noor", [1]),
        ("Build templates", 60, 25, "todo", "mo", [2]),
        ("Migrate content", 30, 32, "todo", "mo", [1]),
        ("Launch", 8, 38, "todo", "maya", [3, 4]),
    ]),
    ("APP", "Mobile app v2", -20, 60, "60000", ProjectStatus.ACTIVE, [
        ("User research", 24, -15, "done", "noor", []),
        ("Wireframes", 32, -6, "done", "noor", [0]),
        ("API endpoints", 80, -2, "in_progress", "mo", []),
        ("Offline sync", 60, 22, "todo", "mo", [2]),
        ("Beta release", 16, 32, "todo", "maya", [1, 3]),
    ]),
    ("ERP", "ERP migration", -60, 70, "20000", ProjectStatus.ACTIVE, [
        ("Data mapping", 40, -45, "done", "mo", []),
        ("Vendor setup", 24, -30, "blocked", "adam", []),
        ("Data cleansing", 60, -15, "in_progress", "noor", [0]),
        ("Test migration", 40, -6, "todo", "mo", [2]),
        ("Training", 24, -3, "todo", "maya", []),
        ("Cut-over", 16, 9, "todo", "adam", [3, 4]),
    ]),
    ("OPS", "Office move", -90, 60, "15000", ProjectStatus.COMPLETED, [
        ("Find premises", 16, -70, "done", "adam", []),
        ("Move furniture", 24, -35, "done", "adam", [0]),
    ]),
    ("DATA", "Data platform", 20, 90, "80000", ProjectStatus.PROPOSED, [
        ("Requirements", 24, 30, "todo", "maya", []),
        ("Architecture", 32, 40, "todo", None, [0]),
    ]),
]


async def seed(session: AsyncSession, now: datetime, plugins: Plugins, settings: Settings) -> str:
    """Seed the demo organisation; returns a new owner token's secret."""
    org = await tenancy.ensure_organization(session, DEMO_ORG, "Demo Company")
    users = {}
    for email, name, role in DEMO_PEOPLE:
        user = await tenancy.ensure_user(session, email, name)
        await tenancy.ensure_membership(session, org, user, role)
        users[email.split("@")[0]] = user
    await tenancy.ensure_teams(
        session, org, {name: [users[e.split("@")[0]].id for e in emails] for name, emails in DEMO_TEAMS.items()}
    )
    owner = users["olivia"]
    if await session.scalar(select(Project.id).where(Project.organization_id == org.id)) is None:
        unit = Unit(session, Actor(owner.id, org.id, Role.OWNER), now, plugins, settings)
        await _seed_projects(unit, users)
    _, secret = await tokens.issue(session, organization_id=org.id, user_id=owner.id, name="demo", now=now)
    return secret


async def _seed_projects(unit: Unit, users: dict[str, object]) -> None:
    today = unit.today
    rates = {"mo": Decimal("90"), "noor": Decimal("95"), "maya": Decimal("120"), "adam": Decimal("110")}
    for key, name, start_in, length, budget, status, plan in PROJECTS:
        start = today + timedelta(days=start_in)
        project = await projects.create_project(
            unit,
            key=key,
            name=name,
            objective=f"Deliver the {name.lower()} on time and on budget.",
            status=ProjectStatus.ACTIVE if status is ProjectStatus.COMPLETED else status,
            start_date=start,
            target_end_date=start + timedelta(days=length),
            manager_id=users["maya"].id,  # type: ignore[attr-defined]
            planned_budget=Decimal(budget),
            labels=["demo", "2026"],
            members=[projects.MemberSpec(users[p].id, "contributor", rates[p]) for p in rates],  # type: ignore[attr-defined]
        )
        created = []
        for title, hours, due_in, state, who, after in plan:
            task = await tasks.create_task(
                unit,
                project_id=project.id,
                title=title,
                estimate_hours=hours,
                due_date=today + timedelta(days=due_in),
                assignee_id=users[who].id if who else None,  # type: ignore[attr-defined]
            )
            created.append(task)
            for index in after:
                await tasks.add_dependency(unit, created[index].id, task.id)
        for task, (_, hours, due_in, state, who, _after) in zip(created, plan, strict=True):
            if state != "todo":
                await tasks.set_state(unit, task.id, state, force=True)
            if who and state != "todo":
                spent = int(hours * 60 * (1.25 if key == "ERP" else 0.8))
                unit.session.add(
                    TimeEntry(
                        organization_id=project.organization_id,
                        task_id=task.id,
                        project_id=project.id,
                        user_id=users[who].id,  # type: ignore[attr-defined]
                        minutes=spent,
                        spent_on=today + timedelta(days=min(due_in, 0) - 1),
                        note="demo",
                    )
                )
        unit.session.add(
            Milestone(
                organization_id=project.organization_id,
                project_id=project.id,
                name="Go-live",
                due_date=start + timedelta(days=length),
            )
        )
        if key == "ERP":
            await projects.add_cost(unit, project.id, Decimal("9000"), "Vendor licences", today - timedelta(days=20))
        if status is ProjectStatus.COMPLETED:
            await projects.set_status(unit, project.id, ProjectStatus.COMPLETED)
        await unit.session.flush()
        await refresh_health(unit, [project.id])
