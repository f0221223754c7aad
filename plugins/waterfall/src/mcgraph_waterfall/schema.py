"""The waterfall plugin's GraphQL: ``Project.phases``, ``Project.earnedValue`` and
the ``setPhaseMilestone`` mutation. Resolvers stay thin: the rules live elsewhere."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import strawberry

from mcgraph.plugins import ProjectInfo
from mcgraph.plugins.graphql import Action, Milestone, Payload, field, mutation, request

from mcgraph_waterfall.evm import project_earned_value
from mcgraph_waterfall.methodology import KEY
from mcgraph_waterfall.phases import PhaseView, link_phase, phase_views
from mcgraph_waterfall.store import phase_records


@strawberry.type(description="A phase of a waterfall project: its milestone and how far its tasks are.")
class WaterfallPhase:
    phase: str = strawberry.field(description="The phase's stage key, e.g. `design`.")
    name: str
    tasks_done: int = strawberry.field(description="Done tasks of the phase's milestone.")
    tasks_total: int = strawberry.field(description="All tasks of the phase's milestone.")
    signed_off: bool = strawberry.field(description="Whether the phase's milestone is signed off.")
    current: bool = strawberry.field(description="Whether the project is in this phase now.")
    milestone_id: strawberry.Private[int | None]

    @field(Action.PROJECT_READ, description="The milestone that closes the phase; null until `setPhaseMilestone` links one.")
    async def milestone(self, info: strawberry.Info) -> Milestone | None:
        return await request(info).load("Milestone", self.milestone_id) if self.milestone_id else None

    @classmethod
    def of(cls, view: PhaseView) -> WaterfallPhase:
        record = view.record
        return cls(
            phase=view.phase,
            name=view.name,
            milestone_id=record.milestone_id if record else None,
            tasks_done=record.tasks_done if record else 0,
            tasks_total=record.tasks_total if record else 0,
            signed_off=view.signed_off,
            current=view.current,
        )


@strawberry.type(description="Earned value figures of a project; money in the budget's currency.")
class EarnedValue:
    bac: Decimal = strawberry.field(description="Budget at completion: the planned budget.")
    pv: Decimal = strawberry.field(description="Planned value: the budget of the work planned by `asOf`.")
    ev: Decimal = strawberry.field(description="Earned value: the budget of the work done.")
    ac: Decimal = strawberry.field(description="Actual cost: what was spent.")
    spi: float | None = strawberry.field(description="Schedule performance index EV / PV; null while PV is 0.")
    cpi: float | None = strawberry.field(description="Cost performance index EV / AC; null while AC is 0.")
    sv: Decimal = strawberry.field(description="Schedule variance EV - PV; negative when behind.")
    cv: Decimal = strawberry.field(description="Cost variance EV - AC; negative when over cost.")
    as_of: date = strawberry.field(description="The day the figures are for.")


async def _load_phases(session: Any, project_ids: Any) -> dict[int, Any]:
    return dict(await phase_records(session, list(project_ids)))


@strawberry.type
class WaterfallProjectFields:
    @field(Action.PROJECT_READ, description="The phases of a waterfall project, in order; null for other methodologies.")
    async def phases(self, info: strawberry.Info) -> list[WaterfallPhase] | None:
        project: ProjectInfo = self  # type: ignore[assignment]
        if project.methodology != KEY:
            return None
        records = await request(info).batch("waterfall.phases", _load_phases).load(project.id)
        return [WaterfallPhase.of(view) for view in phase_views(project.stage, records or {})]

    @field(
        Action.PROJECT_READ,
        description="Earned value of a waterfall project with a planned budget; null otherwise.",
    )
    async def earned_value(self, info: strawberry.Info) -> EarnedValue | None:
        project: ProjectInfo = self  # type: ignore[assignment]
        if project.methodology != KEY or not project.planned_budget:
            return None
        req = request(info)
        facts, tasks = await req.facts(project.id), await req.tasks(project.id)
        figures = project_earned_value(
            project.planned_budget, tasks, facts.progress, facts.actual_cost, facts.today,
            project.start_date, project.target_end_date,
        )
        if figures is None:
            return None
        return EarnedValue(
            bac=figures.bac, pv=figures.pv, ev=figures.ev, ac=figures.ac, spi=figures.spi, cpi=figures.cpi,
            sv=figures.sv, cv=figures.cv, as_of=figures.as_of,
        )


@strawberry.input
class SetPhaseMilestoneInput:
    project_id: strawberry.ID
    phase: str = strawberry.field(description="requirements, design, build, test or deploy.")
    milestone_id: strawberry.ID | None = strawberry.field(default=None, description="Null unlinks the phase.")


@strawberry.type
class SetPhaseMilestonePayload(Payload):
    phase: WaterfallPhase | None = None


@strawberry.type
class WaterfallMutation:
    @mutation(
        Action.PROJECT_MANAGE,
        description="Make a milestone close a phase of a waterfall project: the phase's tasks are that milestone's.",
    )
    async def set_phase_milestone(self, info: strawberry.Info, input: SetPhaseMilestoneInput) -> SetPhaseMilestonePayload:
        req = request(info)
        project_id = req.pk(input.project_id, "Project", field="projectId")
        milestone_id = req.pk(input.milestone_id, "Milestone", field="milestoneId") if input.milestone_id else None
        async with req.unit() as unit:
            project = await unit.project(project_id)
            await link_phase(unit, project, input.phase, milestone_id)
        async with req.read() as session:
            records = (await phase_records(session, [project_id])).get(project_id, {})
        view = next(v for v in phase_views(project.stage, records) if v.phase == input.phase)
        return SetPhaseMilestonePayload(phase=WaterfallPhase.of(view))
