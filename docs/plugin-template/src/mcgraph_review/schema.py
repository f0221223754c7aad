"""GraphQL of the review plugin: ``Project.reviewApprovals`` and ``approveProjectReview``."""

from __future__ import annotations

import strawberry

from mcgraph.plugins.graphql import Action, Payload, field, mutation, request

from mcgraph_review.models import approve, count_approvals
from mcgraph_review.rules import KEY

APPROVED = "review.approved"


@strawberry.type
class ReviewProjectFields:
    """Fields added to ``Project``; ``self`` is the project's ProjectInfo."""

    @field(Action.PROJECT_READ, description="How many approved the review; null unless the methodology is review.")
    async def review_approvals(self, info: strawberry.Info) -> int | None:
        if self.methodology != KEY:  # type: ignore[attr-defined]
            return None
        # One query for every project of the response, not one per project.
        return await request(info).batch("review.approvals", count_approvals).load(self.id)  # type: ignore[attr-defined]


@strawberry.input(description="The review project the viewer approves.")
class ApproveProjectReviewInput:
    project_id: strawberry.ID


@strawberry.type
class ApproveProjectReviewPayload(Payload):
    review_approvals: int | None = None


@strawberry.type
class ReviewMutation:
    @mutation(Action.TASK_WRITE, description="Approve the review of a review project; approving twice changes nothing.")
    async def approve_project_review(self, info: strawberry.Info, input: ApproveProjectReviewInput) -> ApproveProjectReviewPayload:
        req = request(info)
        project_id = req.pk(input.project_id, "Project", field="projectId")
        async with req.unit() as unit:
            project = await unit.project(project_id)
            if project.methodology != KEY:
                raise unit.refuse("projectId", f"Project {project.key} is not a review project.")
            new = await approve(
                unit.session, organization_id=unit.organization_id, project_id=project.id,
                user_id=unit.actor_id, now=unit.now,
            )
            if new:
                unit.record(APPROVED, project.id, project_id=project.id, user_id=unit.actor_id)
            approvals = (await count_approvals(unit.session, [project.id]))[project.id]
        return ApproveProjectReviewPayload(review_approvals=approvals)
