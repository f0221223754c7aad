"""Mutations of milestones, comments, time and cost entries. Each resolves ids, calls
one domain service, maps."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from strawberry import UNSET

from mcgraph.api.fields import Payload, mutation
from mcgraph.api.projects.collab_types import Comment, CostEntry, TimeEntry
from mcgraph.api.projects.mutations import provided
from mcgraph.api.projects.types import Milestone
from mcgraph.api.ids import pk_of
from mcgraph.domain import comments, milestones, projects, time_entries
from mcgraph.domain.permissions import Action


@strawberry.input
class CreateMilestoneInput:
    project_id: strawberry.ID
    name: str
    due_date: date | None = None


@strawberry.type
class CreateMilestonePayload(Payload):
    milestone: Milestone | None = None


@strawberry.input(description="Only the fields you set change; expectedVersion guards against lost updates.")
class UpdateMilestoneInput:
    milestone_id: strawberry.ID
    expected_version: int | None = None
    name: str | None = UNSET
    due_date: date | None = UNSET
    done: bool | None = strawberry.field(default=UNSET, description="Mark done or reopen; a signed-off milestone stays done.")


@strawberry.type
class UpdateMilestonePayload(Payload):
    milestone: Milestone | None = None


@strawberry.input
class DeleteMilestoneInput:
    milestone_id: strawberry.ID


@strawberry.type
class DeleteMilestonePayload(Payload):
    deleted_milestone_id: strawberry.ID | None = None


@strawberry.input
class SignOffMilestoneInput:
    milestone_id: strawberry.ID
    expected_version: int | None = None


@strawberry.type
class SignOffMilestonePayload(Payload):
    milestone: Milestone | None = None


@strawberry.input
class RevokeMilestoneSignOffInput:
    milestone_id: strawberry.ID
    expected_version: int | None = None


@strawberry.type
class RevokeMilestoneSignOffPayload(Payload):
    milestone: Milestone | None = None


@strawberry.input(description="Comment on a project or on a task: give exactly one of projectId and taskId.")
class AddCommentInput:
    body: str = strawberry.field(description="Up to 20,000 characters; @e-mail or @local-part mentions a member.")
    project_id: strawberry.ID | None = None
    task_id: strawberry.ID | None = None


@strawberry.type
class AddCommentPayload(Payload):
    comment: Comment | None = None


@strawberry.input
class EditCommentInput:
    comment_id: strawberry.ID
    body: str


@strawberry.type
class EditCommentPayload(Payload):
    comment: Comment | None = None


@strawberry.input
class DeleteCommentInput:
    comment_id: strawberry.ID


@strawberry.type
class DeleteCommentPayload(Payload):
    deleted_comment_id: strawberry.ID | None = None


@strawberry.input
class LogTimeInput:
    task_id: strawberry.ID
    minutes: int = strawberry.field(description="1 to 1440 (a day).")
    spent_on: date | None = strawberry.field(default=None, description="Not in the future; today when left out.")
    note: str = ""
    user_id: strawberry.ID | None = strawberry.field(default=None, description="Managers: log for someone else. You when left out.")


@strawberry.type
class LogTimePayload(Payload):
    time_entry: TimeEntry | None = None


@strawberry.input(description="Only the fields you set change.")
class UpdateTimeEntryInput:
    time_entry_id: strawberry.ID
    minutes: int | None = UNSET
    spent_on: date | None = UNSET
    note: str | None = UNSET


@strawberry.type
class UpdateTimeEntryPayload(Payload):
    time_entry: TimeEntry | None = None


@strawberry.input
class DeleteTimeEntryInput:
    time_entry_id: strawberry.ID


@strawberry.type
class DeleteTimeEntryPayload(Payload):
    deleted_time_entry_id: strawberry.ID | None = None


@strawberry.input
class AddProjectCostInput:
    project_id: strawberry.ID
    amount: Decimal = strawberry.field(description="A positive amount, in the project's budget currency.")
    description: str = ""
    incurred_on: date | None = strawberry.field(default=None, description="Today when left out.")


@strawberry.type
class AddProjectCostPayload(Payload):
    cost_entry: CostEntry | None = None


@strawberry.type
class CollabMutation:
    @mutation(Action.PROJECT_MANAGE, description="Add a milestone to a project.")
    async def create_milestone(self, info: strawberry.Info, input: CreateMilestoneInput) -> CreateMilestonePayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId")
        async with info.context.unit() as unit:
            milestone = await milestones.create_milestone(unit, project_id=project_pk, name=input.name, due_date=input.due_date)
        return CreateMilestonePayload(milestone=milestone)

    @mutation(Action.PROJECT_MANAGE, description="Rename a milestone, move its due date, mark it done or reopen it.")
    async def update_milestone(self, info: strawberry.Info, input: UpdateMilestoneInput) -> UpdateMilestonePayload:
        milestone_pk = pk_of(input.milestone_id, "Milestone", field="milestoneId")
        async with info.context.unit() as unit:
            milestone = await milestones.update_milestone(unit, milestone_pk, input.expected_version, provided(input))
        return UpdateMilestonePayload(milestone=milestone)

    @mutation(Action.PROJECT_MANAGE, description="Delete a milestone; its tasks stay.")
    async def delete_milestone(self, info: strawberry.Info, input: DeleteMilestoneInput) -> DeleteMilestonePayload:
        milestone_pk = pk_of(input.milestone_id, "Milestone", field="milestoneId")
        async with info.context.unit() as unit:
            await milestones.delete_milestone(unit, milestone_pk)
        return DeleteMilestonePayload(deleted_milestone_id=input.milestone_id)

    @mutation(Action.TASK_WRITE, description="Sign a milestone off as done (owners, admins and managers).")
    async def sign_off_milestone(self, info: strawberry.Info, input: SignOffMilestoneInput) -> SignOffMilestonePayload:
        milestone_pk = pk_of(input.milestone_id, "Milestone", field="milestoneId")
        async with info.context.unit() as unit:
            milestone = await milestones.sign_off(unit, milestone_pk, input.expected_version)
        return SignOffMilestonePayload(milestone=milestone)

    @mutation(Action.TASK_WRITE, description="Withdraw a milestone's sign-off (owners, admins and managers).")
    async def revoke_milestone_sign_off(
        self, info: strawberry.Info, input: RevokeMilestoneSignOffInput
    ) -> RevokeMilestoneSignOffPayload:
        milestone_pk = pk_of(input.milestone_id, "Milestone", field="milestoneId")
        async with info.context.unit() as unit:
            milestone = await milestones.revoke_sign_off(unit, milestone_pk, input.expected_version)
        return RevokeMilestoneSignOffPayload(milestone=milestone)

    @mutation(Action.COMMENT_WRITE, description="Comment on a project or a task; @mentions of members are recorded.")
    async def add_comment(self, info: strawberry.Info, input: AddCommentInput) -> AddCommentPayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId") if input.project_id else None
        task_pk = pk_of(input.task_id, "Task", field="taskId") if input.task_id else None
        async with info.context.unit() as unit:
            comment = await comments.add_comment(unit, body=input.body, project_id=project_pk, task_id=task_pk)
        return AddCommentPayload(comment=comment)

    @mutation(Action.COMMENT_WRITE, description="Change the text of your own comment.")
    async def edit_comment(self, info: strawberry.Info, input: EditCommentInput) -> EditCommentPayload:
        comment_pk = pk_of(input.comment_id, "Comment", field="commentId")
        async with info.context.unit() as unit:
            comment = await comments.edit_comment(unit, comment_pk, input.body)
        return EditCommentPayload(comment=comment)

    @mutation(Action.COMMENT_WRITE, description="Delete your own comment; managers may delete any.")
    async def delete_comment(self, info: strawberry.Info, input: DeleteCommentInput) -> DeleteCommentPayload:
        comment_pk = pk_of(input.comment_id, "Comment", field="commentId")
        async with info.context.unit() as unit:
            await comments.delete_comment(unit, comment_pk)
        return DeleteCommentPayload(deleted_comment_id=input.comment_id)

    @mutation(Action.TIME_LOG, description="Log time spent on a task.")
    async def log_time(self, info: strawberry.Info, input: LogTimeInput) -> LogTimePayload:
        task_pk = pk_of(input.task_id, "Task", field="taskId")
        user_pk = pk_of(input.user_id, "User", field="userId") if input.user_id else None
        async with info.context.unit() as unit:
            entry = await time_entries.log_time(
                unit, task_id=task_pk, minutes=input.minutes, spent_on=input.spent_on, note=input.note, user_id=user_pk
            )
        return LogTimePayload(time_entry=entry)

    @mutation(Action.TIME_LOG, description="Change a time entry: your own, or anyone's for managers.")
    async def update_time_entry(self, info: strawberry.Info, input: UpdateTimeEntryInput) -> UpdateTimeEntryPayload:
        entry_pk = pk_of(input.time_entry_id, "TimeEntry", field="timeEntryId")
        async with info.context.unit() as unit:
            entry = await time_entries.update_time_entry(unit, entry_pk, provided(input))
        return UpdateTimeEntryPayload(time_entry=entry)

    @mutation(Action.TIME_LOG, description="Delete a time entry: your own, or anyone's for managers.")
    async def delete_time_entry(self, info: strawberry.Info, input: DeleteTimeEntryInput) -> DeleteTimeEntryPayload:
        entry_pk = pk_of(input.time_entry_id, "TimeEntry", field="timeEntryId")
        async with info.context.unit() as unit:
            await time_entries.delete_time_entry(unit, entry_pk)
        return DeleteTimeEntryPayload(deleted_time_entry_id=input.time_entry_id)

    @mutation(Action.PROJECT_MANAGE, description="Record money a project spent besides its members' time.")
    async def add_project_cost(self, info: strawberry.Info, input: AddProjectCostInput) -> AddProjectCostPayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId")
        async with info.context.unit() as unit:
            entry = await projects.add_cost(unit, project_pk, input.amount, input.description, input.incurred_on or unit.today)
        return AddProjectCostPayload(cost_entry=entry)
