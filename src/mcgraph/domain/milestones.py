"""Milestones: checkpoints of a project with a due date, marked done by the team and
signed off by a manager.

A sign-off records who signed and when; a signed-off milestone is done. Only roles
that may force project decisions (``Action.PROJECT_FORCE``) sign off or revoke.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from mcgraph.db.models import Milestone
from mcgraph.domain.errors import Problems, UserError, UserErrorCode
from mcgraph.domain.permissions import Action, can
from mcgraph.domain.projects import check_version, get_project
from mcgraph.domain.unit import Unit, changed

EDITABLE = {"name", "due_date", "done"}


async def get_milestone(unit: Unit, milestone_id: int, field: str = "milestoneId") -> Milestone:
    milestone = await unit.session.get(Milestone, milestone_id)
    if milestone is None or milestone.organization_id != unit.actor.organization_id:
        raise UserError.one(field, "No such milestone.", UserErrorCode.NOT_FOUND)
    return milestone


async def create_milestone(unit: Unit, *, project_id: int, name: str, due_date: date | None = None) -> Milestone:
    project = await get_project(unit, project_id)
    problems = Problems()
    _check_name(problems, name)
    problems.raise_any()
    milestone = Milestone(
        organization_id=project.organization_id,
        project_id=project.id,
        name=name.strip(),
        due_date=due_date,
        created_at=unit.now,
        updated_at=unit.now,
    )
    unit.session.add(milestone)
    await unit.session.flush()
    unit.record("milestone.created", milestone, project_id=project.id, name=milestone.name, due_date=due_date)
    await unit.session.flush()
    return milestone


async def update_milestone(unit: Unit, milestone_id: int, expected_version: int | None, fields: dict[str, Any]) -> Milestone:
    """Change the given fields (``name``, ``due_date``, ``done``) of a milestone.

    A signed-off milestone stays done: revoke the sign-off before reopening it.
    """
    milestone = await get_milestone(unit, milestone_id)
    check_version(milestone, expected_version)
    values = {k: v for k, v in fields.items() if k in EDITABLE}
    problems = Problems()
    if "name" in values:
        _check_name(problems, values["name"])
        values["name"] = (values["name"] or "").strip()
    if "done" in values:
        if values["done"] is None:
            problems.add("done", "`done` is true or false.", UserErrorCode.INVALID)
        elif not values["done"] and milestone.signed_off_at is not None:
            problems.add("done", "This milestone is signed off; revoke the sign-off before reopening it.", UserErrorCode.INVALID)
    problems.raise_any()
    changes = changed(milestone, **values)
    if changes:
        milestone.updated_at = unit.now
        unit.record("milestone.updated", milestone, project_id=milestone.project_id, changes=changes)
        await unit.session.flush()
    return milestone


async def delete_milestone(unit: Unit, milestone_id: int) -> Milestone:
    """Delete a milestone; its tasks stay, no longer tied to it."""
    milestone = await get_milestone(unit, milestone_id)
    unit.record("milestone.deleted", milestone, project_id=milestone.project_id, name=milestone.name)
    await unit.session.delete(milestone)
    await unit.session.flush()
    return milestone


async def sign_off(unit: Unit, milestone_id: int, expected_version: int | None = None) -> Milestone:
    """Sign a milestone off as the actor, now; it becomes done. Signing twice changes nothing."""
    milestone = await get_milestone(unit, milestone_id)
    _check_may_sign(unit)
    check_version(milestone, expected_version)
    if milestone.signed_off_at is not None:
        return milestone
    changes = changed(milestone, done=True, signed_off_by_id=unit.actor.person_id, signed_off_at=unit.now)
    milestone.updated_at = unit.now
    unit.record("milestone.signed_off", milestone, project_id=milestone.project_id, changes=changes)
    await unit.session.flush()
    return milestone


async def revoke_sign_off(unit: Unit, milestone_id: int, expected_version: int | None = None) -> Milestone:
    """Withdraw a milestone's sign-off; it stays done until someone reopens it."""
    milestone = await get_milestone(unit, milestone_id)
    _check_may_sign(unit)
    check_version(milestone, expected_version)
    if milestone.signed_off_at is None:
        return milestone
    changes = changed(milestone, signed_off_by_id=None, signed_off_at=None)
    milestone.updated_at = unit.now
    unit.record("milestone.sign_off_revoked", milestone, project_id=milestone.project_id, changes=changes)
    await unit.session.flush()
    return milestone


def _check_may_sign(unit: Unit) -> None:
    if not can(unit.actor, Action.PROJECT_FORCE):
        raise UserError.one(
            "milestoneId", "Only owners, admins and managers may sign off a milestone or revoke a sign-off.", UserErrorCode.FORBIDDEN
        )


def _check_name(problems: Problems, name: str | None) -> None:
    if not name or not name.strip():
        problems.add("name", "A milestone needs a name.", UserErrorCode.REQUIRED)
    elif len(name.strip()) > 200:
        problems.add("name", "A name has at most 200 characters.", UserErrorCode.TOO_LONG)
