"""Demo data for ``mcgraph serve --demo``: an organisation to explore at once.

Five projects in different states of health, with tasks, dependencies, milestones, time
and costs, all made through the domain services (so their events and health are real),
dated around the day the demo is seeded. Two processes: onboarding, started by the
``employee.hired`` event, with weeks of finished runs played through the services at
their past times (so its metrics name a real bottleneck and some runs finish late) and
one run under way; and a weekly equipment maintenance on a schedule. Seeding again
reuses what is there and only issues a new token.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.db.models import Assignment, Milestone, Process, Project, ProjectStatus, Role, RunStep, Team, TimeEntry
from mcgraph.domain import processes, projects, runs, tasks, tenancy, tokens
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

ONBOARDING_SCHEMA = {
    "type": "object",
    "required": ["name", "manager_email"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "description": "The new employee's full name."},
        "manager_email": {"type": "string", "format": "email", "description": "Who the new employee reports to."},
    },
}

# Onboarding steps: (key, name, instructions, assignment, who, offset hours, expected hours, waits for)
# ``who`` is the payload path (PAYLOAD), the role (TEAM_ROLE) or the e-mail local part (USER).
ONBOARDING_STEPS = [
    ("prepare-laptop", "Prepare laptop", """\
Set up the new employee's laptop **before the first day**.

1. Take a laptop from the stock cupboard (ask Operations if it is empty).
2. Install the standard image and enable disk encryption.
3. Put it on the new employee's desk with the charger and a *welcome card*.
""", Assignment.PAYLOAD, "manager_email", 0, 8, None),
    ("create-accounts", "Create accounts", """\
Create the accounts the new employee needs:

- e-mail and calendar
- chat, the wiki and the code host
- the HR portal (holidays, payslips)

Send the first-login links to the **manager**, never to a private address.
""", Assignment.TEAM_ROLE, Role.ADMIN, 0, 4, []),
    ("background-check", "Background check", """\
Order the background check from the screening agency and follow it up.

> Chase the agency after **two working days** without an answer.

File the certificate in the HR portal; *never* attach it to an e-mail.
""", Assignment.USER, "adam", 0, 72, []),
    ("welcome-meeting", "Welcome meeting", """\
Meet the new employee on the first day:

1. Introduce the team and the buddy.
2. Walk through the first week's plan.
3. Answer questions; note what the onboarding could do better.
""", Assignment.OWNER, None, 24, 2, ["prepare-laptop", "create-accounts"]),
    ("sign-off", "Sign-off", """\
Check that every step is done and the background check is filed, then **approve**.
Reject with a comment saying what is missing.
""", Assignment.OWNER, None, 72, 4, ["background-check", "welcome-meeting"]),
]

# Finished onboarding runs: (new employee, manager, days before today it started, hours after the start at
# which each step went in progress and was done, in the order of ONBOARDING_STEPS). The background check
# takes the longest, and the two runs where it dragged on finish after the run's due time (76 hours).
ONBOARDING_RUNS = [
    ("Lena Fischer", "maya", 52, [(1, 6), (0.5, 2), (2, 50), (24, 25.5), (52, 53)]),
    ("Tom Becker", "olivia", 45, [(2, 9), (1, 3), (3, 70), (25, 26), (72, 74)]),
    ("Aisha Khan", "maya", 38, [(1, 5), (0.5, 1.5), (4, 94), (24, 25), (96, 98)]),
    ("Jonas Weber", "adam", 31, [(3, 8), (1, 2.5), (2, 60), (26, 27), (62, 63)]),
    ("Priya Nair", "maya", 24, [(1, 7), (2, 4), (3, 66), (24, 25.5), (68, 69)]),
    ("Marco Rossi", "olivia", 17, [(2, 10), (1, 2), (5, 110), (28, 29), (112, 115)]),
    ("Sofia Lindqvist", "maya", 10, [(1, 6), (0.5, 3), (2, 45), (24, 25), (47, 48)]),
]
# The run under way: started this many hours before the demo is seeded; None for a step not begun,
# a done time of None for a step in progress.
ONBOARDING_UNDER_WAY = ("Ben Carter", "maya", 40, [(1, 7), (0.5, 2), (3, None), (24, 25), None])

MAINTENANCE_STEPS = [
    ("Inspect the machines", "Walk the floor with the **checklist**: belts, filters, oil levels, guards.", Assignment.ROUND_ROBIN, 2),
    ("Replace worn parts", "Replace what the inspection flagged; order spares that ran low.", Assignment.ROUND_ROBIN, 3),
    ("Log the maintenance", "Record what was done in the maintenance log and close the run.", Assignment.OWNER, 0.5),
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
    if await session.scalar(select(Process.id).where(Process.organization_id == org.id)) is None:
        await _seed_processes(session, org.id, users, now, plugins, settings)
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


async def _seed_processes(
    session: AsyncSession, organization_id: int, users: dict[str, object], now: datetime, plugins: Plugins, settings: Settings
) -> None:
    """Onboarding with its past runs, played at the times they happened, and the weekly maintenance."""
    roles = {email.split("@")[0]: role for email, _, role in DEMO_PEOPLE}

    def at(moment: datetime, who: str = "olivia") -> Unit:
        actor = Actor(users[who].id, organization_id, roles[who])  # type: ignore[attr-defined]
        return Unit(session, actor, moment, plugins, settings)

    first_start = _morning(now, ONBOARDING_RUNS[0][2])
    unit = at(first_start - timedelta(days=7))
    onboarding = await processes.create_process(
        unit,
        key="ONB",
        name="Onboarding",
        purpose="Every new hire has a laptop, accounts, a checked background and a warm welcome in their first week.",
        run_name_template="Onboarding: {{input.name}}",
        trigger_event="employee.hired",
        payload_schema=ONBOARDING_SCHEMA,
        steps=[
            processes.StepSpec(
                key=key,
                name=name,
                instructions=instructions,
                assignment=assignment,
                payload_path=who if assignment is Assignment.PAYLOAD else None,
                assignee_role=who if assignment is Assignment.TEAM_ROLE else None,  # type: ignore[arg-type]
                assignee_id=users[who].id if assignment is Assignment.USER else None,  # type: ignore[attr-defined,index]
                offset_hours=offset,
                duration_hours=hours,
                approval=key == "sign-off",
                waits_for=waits,
            )
            for key, name, instructions, assignment, who, offset, hours, waits in ONBOARDING_STEPS
        ],
    )
    await processes.publish(at(first_start - timedelta(days=6)), onboarding.id, "First version.")
    for employee, manager, days_ago, timings in ONBOARDING_RUNS:
        await _play_onboarding(at, employee, manager, _morning(now, days_ago), timings)
    employee, manager, hours_ago, timings = ONBOARDING_UNDER_WAY
    await _play_onboarding(at, employee, manager, now - timedelta(hours=hours_ago), timings)

    platform = await session.scalar(select(Team.id).where(Team.organization_id == organization_id, Team.name == "Platform"))
    unit = at(now)
    maintenance = await processes.create_process(
        unit,
        key="MAINT",
        name="Weekly equipment maintenance",
        purpose="Keep the factory equipment running: inspect, replace worn parts, log it.",
        team_id=platform,
        schedule_cron="0 8 * * MON",
        schedule_timezone="Europe/Berlin",
        steps=[
            processes.StepSpec(name=name, instructions=instructions, assignment=assignment, duration_hours=hours)
            for name, instructions, assignment, hours in MAINTENANCE_STEPS
        ],
    )
    await processes.publish(unit, maintenance.id, "Every Monday at 08:00, Berlin time.")


async def _play_onboarding(
    at: Callable[..., Unit], employee: str, manager: str, start: datetime, timings: list[tuple[float, float | None] | None]
) -> None:
    """Raise ``employee.hired`` at ``start``, then move each step's task at its hour, as the person doing it."""
    payload = {"name": employee, "manager_email": f"{manager}@demo.test"}
    unit = at(start)
    _, (run,) = await runs.start_for_event(unit, "employee.hired", payload)
    steps = {s.step_key: s for s in await unit.session.scalars(select(RunStep).where(RunStep.run_id == run.id))}
    doers = {"prepare-laptop": manager, "create-accounts": "adam", "background-check": "adam"}
    moves = []
    for (key, *_), timing in zip(ONBOARDING_STEPS, timings, strict=True):
        if timing is None:
            continue
        begun, done = timing
        moves.append((begun, 0, key))
        if done is not None:
            moves.append((done, 1, key))
    for hours, finished, key in sorted(moves):
        unit = at(start + timedelta(hours=hours), doers.get(key, "olivia"))
        step = steps[key]
        if key == "sign-off" and finished:
            await runs.decide(unit, step.id, approve=True, comment="All done, welcome aboard.")
        else:
            await tasks.set_state(unit, step.task_id, "done" if finished else "in_progress")  # type: ignore[arg-type]


def _morning(now: datetime, days_ago: int) -> datetime:
    """09:00 UTC on the day ``days_ago`` days before ``now``."""
    return datetime.combine(now.astimezone(UTC).date() - timedelta(days=days_ago), time(9), UTC)
