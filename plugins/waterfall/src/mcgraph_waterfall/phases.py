"""Linking phases to milestones, and the phases of a project as a list.

``link_phase`` is the rule behind ``setPhaseMilestone``; ``phase_views`` lays out the
five phases of a project, linked or not, for the ``Project.phases`` field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcgraph.plugins import ProjectInfo

from mcgraph_waterfall.methodology import KEY, PHASE_KEYS, PHASES, is_phase
from mcgraph_waterfall.models import PhaseLink
from mcgraph_waterfall.store import PhaseRecord, link_of, phase_of_milestone

if TYPE_CHECKING:
    from mcgraph.plugins import PluginUnit


@dataclass(frozen=True, slots=True)
class PhaseView:
    """One phase of a project as the API shows it."""

    phase: str
    name: str
    record: PhaseRecord | None
    current: bool

    @property
    def signed_off(self) -> bool:
        return self.record is not None and self.record.signed_off_at is not None


def phase_views(stage: str, records: Mapping[str, PhaseRecord]) -> list[PhaseView]:
    """The five phases in order, each with its linked milestone's record if any."""
    return [PhaseView(p.key, p.name, records.get(p.key), p.key == stage) for p in PHASES]


async def link_phase(unit: PluginUnit, project: ProjectInfo, phase: str, milestone_id: int | None) -> None:
    """Make milestone ``milestone_id`` close ``phase`` of ``project``; None unlinks the phase.

    Refused (user errors) for a project of another methodology, an unknown phase, a
    milestone of another project, or one that already closes another phase.
    """
    if project.methodology != KEY:
        raise unit.refuse("projectId", f"Project {project.key} is not a waterfall project.", "INVALID")
    if not is_phase(phase):
        raise unit.refuse("phase", f"{phase!r} is not a phase; the phases: {', '.join(PHASE_KEYS)}.", "INVALID")
    link = await link_of(unit.session, project.id, phase)
    if milestone_id is None:
        if link is not None:
            await unit.session.delete(link)
            unit.record("waterfall.phase_milestone_set", project.id, project_id=project.id, phase=phase, milestone_id=None)
        return
    milestones = {m.id: m for m in await unit.milestones(project.id)}
    if milestone_id not in milestones:
        raise unit.refuse("milestoneId", f"That milestone is not one of project {project.key}'s.", "NOT_FOUND")
    other = await phase_of_milestone(unit.session, milestone_id)
    if other is not None and other.phase != phase:
        name = milestones[milestone_id].name
        raise unit.refuse("milestoneId", f"Milestone '{name}' already closes the {other.phase} phase.", "INVALID")
    if link is None:
        link = PhaseLink(
            organization_id=unit.organization_id,
            project_id=project.id,
            phase=phase,
            milestone_id=milestone_id,
            created_at=unit.now,
            updated_at=unit.now,
        )
        unit.session.add(link)
    elif link.milestone_id != milestone_id:
        link.milestone_id = milestone_id
        link.updated_at = unit.now
    else:
        return
    await unit.session.flush()
    unit.record("waterfall.phase_milestone_set", project.id, project_id=project.id, phase=phase, milestone_id=milestone_id)
