"""Projects: creation and edits, lifecycle status, stages through the methodology's
gates, members with rates, labels, costs and the manager's health override.

Each change writes its event and refreshes the project's health in the same
transaction (see :mod:`mcgraph.domain.health_refresh`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from mcgraph.db.models import CostEntry, Health, Membership, Project, ProjectLabel, ProjectMember, ProjectStatus
from mcgraph.domain import identifiers, snapshots
from mcgraph.domain.errors import Problem, Problems, UserError, UserErrorCode
from mcgraph.domain.health_refresh import refresh_health
from mcgraph.domain.unit import Unit, changed
from mcgraph.plugins.types import Methodology, StageMove

KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
LABEL_PATTERN = re.compile(r"^[\w.:/ -]{1,64}$")

STATUS_MOVES: dict[ProjectStatus, frozenset[ProjectStatus]] = {
    ProjectStatus.PROPOSED: frozenset({ProjectStatus.ACTIVE, ProjectStatus.CANCELLED}),
    ProjectStatus.ACTIVE: frozenset({ProjectStatus.ON_HOLD, ProjectStatus.COMPLETED, ProjectStatus.CANCELLED}),
    ProjectStatus.ON_HOLD: frozenset({ProjectStatus.ACTIVE, ProjectStatus.CANCELLED}),
    ProjectStatus.COMPLETED: frozenset({ProjectStatus.ACTIVE}),
    ProjectStatus.CANCELLED: frozenset({ProjectStatus.PROPOSED}),
}


@dataclass(frozen=True, slots=True)
class MemberSpec:
    user_id: int
    role: str = "member"
    hourly_rate: Decimal | None = None


async def get_project(unit: Unit, project_id: int, field: str = "projectId", *, lock: bool = False) -> Project:
    """The project, or NOT_FOUND; ``lock`` holds its row until commit (PostgreSQL: FOR UPDATE)."""
    project = await unit.session.get(Project, project_id, with_for_update=lock or None, populate_existing=lock)
    if project is None or project.organization_id != unit.actor.organization_id:
        raise UserError.one(field, "No such project.", UserErrorCode.NOT_FOUND)
    return project


def methodology_of(unit: Unit, project: Project) -> Methodology:
    methodology = unit.plugins.methodology(project.methodology)
    if methodology is None:
        raise UserError.one(
            "methodology",
            f"The methodology {project.methodology!r} is not installed; enable its plugin.",
            UserErrorCode.UNKNOWN_METHODOLOGY,
        )
    return methodology


def check_version(row: Any, expected: int | None) -> None:
    if expected is not None and row.version != expected:
        raise UserError.one(
            "expectedVersion",
            f"It changed since you read it (version {expected}, now {row.version}); reload and retry.",
            UserErrorCode.VERSION_CONFLICT,
        )


async def create_project(
    unit: Unit,
    *,
    key: str,
    name: str,
    objective: str = "",
    scope: str = "",
    methodology: str | None = None,
    status: ProjectStatus = ProjectStatus.ACTIVE,
    start_date: date | None = None,
    target_end_date: date | None = None,
    manager_id: int | None = None,
    planned_budget: Decimal | None = None,
    labels: Sequence[str] = (),
    members: Sequence[MemberSpec] = (),
) -> Project:
    problems = Problems()
    key = identifiers.key(key)
    if not KEY_PATTERN.match(key):
        problems.add("key", "A key is 2 to 10 capital letters and digits, starting with a letter.", UserErrorCode.INVALID)
    elif await unit.session.scalar(
        select(Project.id).where(Project.organization_id == unit.actor.organization_id, Project.key == key)
    ):
        problems.add("key", f"The key {key} is taken.", UserErrorCode.TAKEN)
    chosen = unit.plugins.methodology(methodology or unit.settings.default_methodology)
    if chosen is None:
        known = ", ".join(sorted(unit.plugins.methodologies))
        problems.add("methodology", f"Unknown methodology {methodology!r}; installed: {known}.", UserErrorCode.UNKNOWN_METHODOLOGY)
    _check_fields(problems, name=name, start_date=start_date, target_end_date=target_end_date, planned_budget=planned_budget)
    clean_labels = check_labels(problems, labels)
    await _check_members(unit, problems, [manager_id] if manager_id else [], "managerId")
    await _check_members(unit, problems, [m.user_id for m in members], "members")
    problems.raise_any()
    assert chosen is not None
    project = Project(
        organization_id=unit.actor.organization_id,
        key=key,
        name=name.strip(),
        objective=objective,
        scope=scope,
        methodology=chosen.key,
        stage=chosen.first_stage.key,
        status=status,
        start_date=start_date,
        target_end_date=target_end_date,
        manager_id=manager_id,
        planned_budget=planned_budget,
        created_at=unit.now,
        updated_at=unit.now,
    )
    unit.session.add(project)
    await unit.session.flush()
    unit.session.add_all(ProjectLabel(organization_id=project.organization_id, project_id=project.id, name=n) for n in clean_labels)
    specs = {m.user_id: m for m in members}
    if manager_id and manager_id not in specs:
        specs[manager_id] = MemberSpec(manager_id, "manager")
    for spec in specs.values():
        unit.session.add(_member_row(project, spec, unit))
    unit.record("project.created", project, project_id=project.id, key=key, name=project.name, labels=clean_labels)
    await unit.session.flush()
    await refresh_health(unit, [project.id])
    return project


async def update_project(unit: Unit, project_id: int, expected_version: int | None, fields: dict[str, Any]) -> Project:
    """Change the given fields (only those present in ``fields``) of a project."""
    project = await get_project(unit, project_id)
    check_version(project, expected_version)
    problems = Problems()
    merged = {
        "name": fields.get("name", project.name),
        "start_date": fields.get("start_date", project.start_date),
        "target_end_date": fields.get("target_end_date", project.target_end_date),
        "planned_budget": fields.get("planned_budget", project.planned_budget),
    }
    _check_fields(problems, **merged)
    labels = check_labels(problems, fields["labels"]) if "labels" in fields else None
    if fields.get("manager_id"):
        await _check_members(unit, problems, [fields["manager_id"]], "managerId")
    problems.raise_any()
    simple = {k: v for k, v in fields.items() if k in {"name", "objective", "scope", "start_date", "target_end_date", "manager_id", "planned_budget", "actual_end_date"}}
    for text in ("objective", "scope"):
        if text in simple and simple[text] is None:
            simple[text] = ""
    if "name" in simple:
        simple["name"] = simple["name"].strip()
    changes = changed(project, **simple)
    if labels is not None:
        before = await label_names(unit, project.id)
        if sorted(before) != sorted(labels):
            await unit.session.execute(delete(ProjectLabel).where(ProjectLabel.project_id == project.id))
            unit.session.add_all(ProjectLabel(organization_id=project.organization_id, project_id=project.id, name=n) for n in labels)
            changes["labels"] = (sorted(before), sorted(labels))
    if changes.get("manager_id") and project.manager_id:
        await _ensure_member(unit, project, project.manager_id, "manager")
    if changes:
        project.updated_at = unit.now
        unit.record("project.updated", project, project_id=project.id, changes=changes)
        await unit.session.flush()
        await refresh_health(unit, [project.id])
    return project


async def set_status(unit: Unit, project_id: int, status: ProjectStatus, expected_version: int | None = None) -> Project:
    project = await get_project(unit, project_id)
    check_version(project, expected_version)
    if status == project.status:
        return project
    if status not in STATUS_MOVES[project.status]:
        allowed = ", ".join(sorted(s.name for s in STATUS_MOVES[project.status])) or "none"
        raise UserError.one(
            "status",
            f"A {project.status.name} project cannot become {status.name}; it can become: {allowed}.",
            UserErrorCode.STATUS_TRANSITION,
        )
    values: dict[str, Any] = {"status": status}
    if status == ProjectStatus.COMPLETED:
        values["actual_end_date"] = unit.today
    elif project.status == ProjectStatus.COMPLETED:
        values["actual_end_date"] = None
    changes = changed(project, **values)
    project.updated_at = unit.now
    unit.record("project.status_changed", project, project_id=project.id, changes=changes)
    await unit.session.flush()
    await refresh_health(unit, [project.id])
    return project


async def move_stage(unit: Unit, project_id: int, to_stage: str, expected_version: int | None = None) -> Project:
    """Move a project to another stage of its methodology, through every plugin's gate."""
    project = await get_project(unit, project_id)
    check_version(project, expected_version)
    methodology = methodology_of(unit, project)
    if methodology.stage(to_stage) is None:
        known = ", ".join(s.key for s in methodology.stages)
        raise UserError.one("stage", f"{methodology.name} has no stage {to_stage!r}; its stages: {known}.", UserErrorCode.UNKNOWN_STAGE)
    if to_stage == project.stage:
        return project
    move = StageMove(
        project=snapshots.project_info(project),
        methodology=methodology,
        from_stage=project.stage,
        to_stage=to_stage,
        actor_id=unit.actor.user_id,
        now=unit.now,
        forced=False,
        session=unit.session,
        tasks=lambda: snapshots.project_tasks(unit.session, project.id),
        milestones=lambda: snapshots.project_milestones(unit.session, project.id),
        settings=unit.plugins.settings_of,
    )
    refusals = await unit.plugins.check_stage_move(move)
    if refusals:
        raise UserError(*(Problem(["stage"], f"{r.plugin}: {r.reason}", UserErrorCode.GATE_REFUSED) for r in refusals))
    changes = changed(project, stage=to_stage)
    project.updated_at = unit.now
    unit.record("project.stage_changed", project, project_id=project.id, changes=changes)
    await unit.session.flush()
    await refresh_health(unit, [project.id])  # a methodology's health may depend on the stage
    return project


async def override_health(unit: Unit, project_id: int, health: Health | None, note: str | None) -> Project:
    """Set (or with ``health=None`` clear) the manager's health override, with a note."""
    project = await get_project(unit, project_id)
    if health is not None and not (note or "").strip():
        raise UserError.one("note", "Say why you override the health: a note is required.", UserErrorCode.REQUIRED)
    changes = changed(
        project,
        health_override=health,
        health_override_note=(note or "").strip() or None if health else None,
        health_override_by_id=unit.actor.person_id if health else None,
        health_override_at=unit.now if health else None,
    )
    if changes:
        project.updated_at = unit.now
        unit.record("project.health_overridden", project, project_id=project.id, changes=changes)
        await unit.session.flush()
    return project


async def archive(unit: Unit, project_id: int, archived: bool) -> Project:
    project = await get_project(unit, project_id)
    changes = changed(project, archived_at=unit.now if archived else None)
    if changes:
        unit.record("project.archived" if archived else "project.unarchived", project, project_id=project.id, changes=changes)
        await unit.session.flush()
    return project


async def set_member(unit: Unit, project_id: int, spec: MemberSpec) -> ProjectMember:
    """Add a member to a project, or change their project role and hourly rate."""
    project = await get_project(unit, project_id)
    problems = Problems()
    await _check_members(unit, problems, [spec.user_id], "userId")
    check_money(problems, "hourlyRate", spec.hourly_rate)
    problems.raise_any()
    member = await unit.session.scalar(
        select(ProjectMember).where(ProjectMember.project_id == project.id, ProjectMember.user_id == spec.user_id)
    )
    if member is None:
        member = _member_row(project, spec, unit)
        unit.session.add(member)
        await unit.session.flush()
        unit.record("project.member_added", project, project_id=project.id, user_id=spec.user_id, role=spec.role)
    else:
        changes = changed(member, role=spec.role, hourly_rate=spec.hourly_rate)
        if changes:
            unit.record("project.member_changed", project, project_id=project.id, user_id=spec.user_id, changes=changes)
    await unit.session.flush()
    await refresh_health(unit, [project.id])
    return member


async def remove_member(unit: Unit, project_id: int, user_id: int) -> Project:
    project = await get_project(unit, project_id)
    result = await unit.session.execute(
        delete(ProjectMember).where(ProjectMember.project_id == project.id, ProjectMember.user_id == user_id)
    )
    if not result.rowcount:
        raise UserError.one("userId", "This user is not a member of the project.", UserErrorCode.NOT_A_MEMBER)
    unit.record("project.member_removed", project, project_id=project.id, user_id=user_id)
    await unit.session.flush()
    await refresh_health(unit, [project.id])
    return project


async def add_cost(unit: Unit, project_id: int, amount: Decimal, description: str, incurred_on: date) -> CostEntry:
    project = await get_project(unit, project_id)
    problems = Problems()
    check_money(problems, "amount", amount, positive=True)
    if incurred_on > unit.today:
        problems.add("incurredOn", "A cost cannot be incurred in the future.", UserErrorCode.INVALID)
    if len(description) > 2000:
        problems.add("description", "A description has at most 2000 characters.", UserErrorCode.TOO_LONG)
    problems.raise_any()
    entry = CostEntry(
        organization_id=project.organization_id,
        project_id=project.id,
        amount=amount,
        description=description.strip(),
        incurred_on=incurred_on,
        created_by_id=unit.actor.person_id,
        created_at=unit.now,
    )
    unit.session.add(entry)
    await unit.session.flush()
    unit.record("cost.added", entry, project_id=project.id, amount=amount, description=entry.description)
    await refresh_health(unit, [project.id])
    return entry


async def label_names(unit: Unit, project_id: int) -> list[str]:
    return list(await unit.session.scalars(select(ProjectLabel.name).where(ProjectLabel.project_id == project_id)))


def _member_row(project: Project, spec: MemberSpec, unit: Unit) -> ProjectMember:
    return ProjectMember(
        organization_id=project.organization_id,
        project_id=project.id,
        user_id=spec.user_id,
        role=spec.role,
        hourly_rate=spec.hourly_rate,
        created_at=unit.now,
    )


async def _ensure_member(unit: Unit, project: Project, user_id: int, role: str) -> None:
    exists = await unit.session.scalar(
        select(ProjectMember.id).where(ProjectMember.project_id == project.id, ProjectMember.user_id == user_id)
    )
    if exists is None:
        unit.session.add(_member_row(project, MemberSpec(user_id, role), unit))


def _check_fields(
    problems: Problems, *, name: str, start_date: date | None, target_end_date: date | None, planned_budget: Decimal | None
) -> None:
    if not name or not name.strip():
        problems.add("name", "A project needs a name.", UserErrorCode.REQUIRED)
    elif len(name.strip()) > 200:
        problems.add("name", "A name has at most 200 characters.", UserErrorCode.TOO_LONG)
    if start_date and target_end_date and target_end_date < start_date:
        problems.add(
            "targetEndDate",
            f"The target end ({target_end_date}) is before the start ({start_date}).",
            UserErrorCode.DATE_RANGE,
        )
    check_money(problems, "plannedBudget", planned_budget)


MAX_MONEY = Decimal(10) ** 12


def check_money(problems: Problems, field: str, amount: Decimal | None, *, positive: bool = False) -> None:
    """An amount of money fits the columns (12 digits and cents) and has the right sign."""
    if amount is None:
        return
    if amount < 0 or (positive and amount == 0):
        problems.add(field, f"`{field}` must be {'positive' if positive else 'zero or more'}.", UserErrorCode.INVALID)
    elif amount >= MAX_MONEY:
        problems.add(field, f"`{field}` must be below {MAX_MONEY:,}.", UserErrorCode.INVALID)


def check_labels(problems: Problems, labels: Sequence[str] | None) -> list[str]:
    """The labels, trimmed, without repeats or blanks, sorted; ``None`` (a client's null) is none."""
    clean = sorted({label.strip() for label in labels or () if label.strip()})
    for label in clean:
        if not LABEL_PATTERN.match(label):
            problems.add("labels", f"{label!r} is not a label: up to 64 letters, digits, spaces and - _ . : /", UserErrorCode.INVALID)
    return clean


async def _check_members(unit: Unit, problems: Problems, user_ids: Sequence[int], field: str) -> None:
    wanted = set(user_ids)
    if not wanted:
        return
    found = set(
        await unit.session.scalars(
            select(Membership.user_id).where(
                Membership.organization_id == unit.actor.organization_id, Membership.user_id.in_(wanted)
            )
        )
    )
    if wanted - found:
        problems.add(field, f"{len(wanted - found)} of these users are not members of the organisation.", UserErrorCode.NOT_A_MEMBER)
