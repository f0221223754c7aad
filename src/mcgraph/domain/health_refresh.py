"""Project health: measured, assessed by the default rules or the methodology's plugin,
and kept on the project row for filters, with an event whenever it changes.

``assess_projects`` computes afresh (the API shows this); ``refresh_health`` stores the
result and writes ``project.health_changed``. Changes to a project or its tasks refresh
it in their own transaction; the passing of time is caught by the periodic sweep.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key
from sqlalchemy.orm.attributes import set_committed_value

from mcgraph.db.models import Health, Project, ProjectStatus
from mcgraph.domain.health import HealthReport, HealthThresholds, ProjectFacts, assess
from mcgraph.domain.measure import TaskCounts, project_facts
from mcgraph.domain.snapshots import project_info, project_milestones, project_tasks
from mcgraph.domain.unit import Unit
from mcgraph.plugins.manager import Plugins
from mcgraph.plugins.types import HealthContext
from mcgraph.settings import Settings

CLOSED = frozenset({ProjectStatus.COMPLETED, ProjectStatus.CANCELLED})
_COLUMNS = frozenset(attribute.key for attribute in inspect(Project).column_attrs)


@dataclass(frozen=True, slots=True)
class ProjectAssessment:
    project_id: int
    report: HealthReport
    facts: ProjectFacts
    counts: TaskCounts

    @property
    def progress(self) -> float:
        return self.facts.progress

    def reasons_json(self) -> list[dict[str, Any]]:
        return reasons_json(self.report.reasons)


def reasons_json(reasons: Iterable[Any]) -> list[dict[str, Any]]:
    """Health reasons as stored on a row and in its change event (projects' and processes' alike)."""
    return [
        {"code": r.code, "health": r.health.value, "message": r.message, "value": r.value, "threshold": r.threshold}
        for r in reasons
    ]


def thresholds(settings: Settings) -> HealthThresholds:
    return HealthThresholds(
        schedule_gap_at_risk=settings.health_schedule_gap_at_risk,
        schedule_gap_off_track=settings.health_schedule_gap_off_track,
        overdue_at_risk=settings.health_overdue_at_risk,
        overdue_off_track=settings.health_overdue_off_track,
        slip_days_at_risk=settings.health_slip_days_at_risk,
        slip_days_off_track=settings.health_slip_days_off_track,
        cost_over_at_risk=settings.health_cost_over_at_risk,
        cost_over_off_track=settings.health_cost_over_off_track,
    )


async def assess_projects(
    session: AsyncSession, plugins: Plugins, settings: Settings, projects: Sequence[Project], today: date
) -> dict[int, ProjectAssessment]:
    measured = await project_facts(session, projects, today, settings.hours_per_day)
    limits = thresholds(settings)
    results: dict[int, ProjectAssessment] = {}
    for project in projects:
        facts, counts = measured[project.id]
        report = HealthReport(Health.ON_TRACK, []) if project.status in CLOSED else assess(facts, limits)
        methodology = plugins.methodology(project.methodology)
        if methodology is not None and project.status not in CLOSED:
            context = HealthContext(
                today=today,
                session=session,
                tasks=lambda pid=project.id: project_tasks(session, pid),
                milestones=lambda pid=project.id: project_milestones(session, pid),
                settings=plugins.settings_of,
            )
            replaced = await plugins.project_health(
                methodology, project=project_info(project), facts=facts, default=report, context=context
            )
            report = replaced or report
        results[project.id] = ProjectAssessment(project.id, report, facts, counts)
    return results


async def refresh_health(unit: Unit, project_ids: Sequence[int]) -> list[ProjectAssessment]:
    """Store the current health and progress of projects; record each health change.

    Health is derived data: it is written without bumping the project's version, so a
    client's ``expectedVersion`` is not made stale by work on the project's tasks.
    """
    projects = await _projects(unit.session, project_ids)
    assessed = await assess_projects(unit.session, unit.plugins, unit.settings, projects, unit.today)
    for project in projects:
        result = assessed[project.id]
        reasons = result.reasons_json()
        new = result.report.health
        if new == project.health and abs(project.progress - result.progress) < 1e-9 and reasons == project.health_reasons:
            continue
        table = Project.__table__
        written = await unit.session.execute(
            update(table)
            .where(table.c.id == project.id, table.c.health == project.health)
            .values(health=new, health_reasons=reasons, progress=result.progress)
        )
        old = project.health
        for name, value in (("health", new), ("health_reasons", reasons), ("progress", result.progress)):
            set_committed_value(project, name, value)
        # Another process that saw the same change first has recorded it already.
        if new != old and written.rowcount == 1:
            unit.record(
                "project.health_changed",
                project,
                project_id=project.id,
                changes={"health": (old, new)},
                reasons=reasons,
            )
    return list(assessed.values())


async def _projects(session: AsyncSession, project_ids: Sequence[int]) -> list[Project]:
    """The projects, without a statement for those the session holds already.

    A SELECT would hand back those very objects with their attributes as they are (the
    session does not overwrite a loaded row without ``populate_existing``); only the
    others, and any with a column not loaded, are read.
    """
    held: list[Project] = []
    missing: list[int] = []
    for project_id in dict.fromkeys(project_ids):
        project = _held(session, project_id)
        if project is None:
            missing.append(project_id)
        else:
            held.append(project)
    if missing:
        held.extend(await session.scalars(select(Project).where(Project.id.in_(missing))))
    return held


def _held(session: AsyncSession, project_id: int) -> Project | None:
    """The project as the session holds it, every column loaded and not deleted; None otherwise."""
    project = session.identity_map.get(identity_key(Project, project_id))
    if project is None:
        return None
    state = inspect(project)
    if state.deleted or state.was_deleted or not state.unloaded.isdisjoint(_COLUMNS):
        return None
    return project


async def refresh_organization(unit: Unit) -> int:
    """Refresh every open project of the unit's organisation; returns how many changed health."""
    ids = list(
        await unit.session.scalars(
            select(Project.id).where(
                Project.organization_id == unit.actor.organization_id,
                Project.archived_at.is_(None),
                Project.status.not_in(CLOSED),
            )
        )
    )
    before = len(unit.events)
    await refresh_health(unit, ids)
    return len(unit.events) - before
