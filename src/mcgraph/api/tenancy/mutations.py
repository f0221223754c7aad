"""Mutations of the tenancy area: the organisation, members and roles, teams, tokens."""

from __future__ import annotations

from datetime import datetime

import strawberry

from mcgraph.api.fields import Payload, mutation
from mcgraph.api.ids import pk_of
from mcgraph.api.tenancy.types import ApiToken, Membership, Organization, Team
from mcgraph.db import models as m
from mcgraph.domain import tenancy, tokens
from mcgraph.domain.permissions import Action


@strawberry.input
class UpdateOrganizationInput:
    name: str


@strawberry.type
class UpdateOrganizationPayload(Payload):
    organization: Organization | None = None


@strawberry.input
class AddMemberInput:
    email: str
    name: str = ""
    role: m.Role = m.Role.MEMBER


@strawberry.type
class AddMemberPayload(Payload):
    membership: Membership | None = None


@strawberry.input
class ChangeMemberRoleInput:
    membership_id: strawberry.ID
    role: m.Role


@strawberry.type
class ChangeMemberRolePayload(Payload):
    membership: Membership | None = None


@strawberry.input
class RemoveMemberInput:
    membership_id: strawberry.ID


@strawberry.type
class RemoveMemberPayload(Payload):
    removed_membership_id: strawberry.ID | None = None


@strawberry.input
class CreateTeamInput:
    name: str
    description: str = ""
    member_ids: list[strawberry.ID] = strawberry.field(default_factory=list, description="User ids.")


@strawberry.type
class CreateTeamPayload(Payload):
    team: Team | None = None


@strawberry.input
class UpdateTeamInput:
    team_id: strawberry.ID
    name: str | None = None
    description: str | None = None


@strawberry.type
class UpdateTeamPayload(Payload):
    team: Team | None = None


@strawberry.input
class DeleteTeamInput:
    team_id: strawberry.ID


@strawberry.type
class DeleteTeamPayload(Payload):
    deleted_team_id: strawberry.ID | None = None


@strawberry.input
class TeamMembersInput:
    team_id: strawberry.ID
    user_ids: list[strawberry.ID]


@strawberry.type
class TeamMembersPayload(Payload):
    team: Team | None = None


@strawberry.input
class CreateApiTokenInput:
    name: str = ""
    expires_at: datetime | None = None


@strawberry.type
class CreateApiTokenPayload(Payload):
    api_token: ApiToken | None = None
    secret: str | None = strawberry.field(default=None, description="The token itself. Shown this once only.")


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID


@strawberry.type
class RevokeApiTokenPayload(Payload):
    api_token: ApiToken | None = None


def _user_pks(ids: list[strawberry.ID], field: str) -> list[int]:
    return [pk_of(i, "User", field=field) for i in ids]


@strawberry.type
class TenancyMutation:
    @mutation(Action.ORG_UPDATE, description="Rename the organisation.")
    async def update_organization(self, info: strawberry.Info, input: UpdateOrganizationInput) -> UpdateOrganizationPayload:
        async with info.context.write() as session:
            org = await tenancy.update_organization(session, info.context.actor, name=input.name)
        return UpdateOrganizationPayload(organization=org)

    @mutation(Action.MEMBER_MANAGE, description="Add a person to the organisation, creating their user if needed.")
    async def add_member(self, info: strawberry.Info, input: AddMemberInput) -> AddMemberPayload:
        async with info.context.write() as session:
            membership = await tenancy.add_member(
                session, info.context.actor, email=input.email, name=input.name, role=input.role
            )
        return AddMemberPayload(membership=membership)

    @mutation(Action.MEMBER_MANAGE, description="Change a member's role. Only owners make or unmake owners.")
    async def change_member_role(self, info: strawberry.Info, input: ChangeMemberRoleInput) -> ChangeMemberRolePayload:
        membership_pk = pk_of(input.membership_id, "Membership", field="membershipId")
        async with info.context.write() as session:
            membership = await tenancy.change_role(session, info.context.actor, membership_pk, input.role)
        return ChangeMemberRolePayload(membership=membership)

    @mutation(Action.MEMBER_MANAGE, description="Remove a member; their tokens here are revoked.")
    async def remove_member(self, info: strawberry.Info, input: RemoveMemberInput) -> RemoveMemberPayload:
        membership_pk = pk_of(input.membership_id, "Membership", field="membershipId")
        async with info.context.write() as session:
            await tenancy.remove_member(session, info.context.actor, membership_pk, info.context.now)
        return RemoveMemberPayload(removed_membership_id=input.membership_id)

    @mutation(Action.TEAM_MANAGE, description="Create a team, optionally with members.")
    async def create_team(self, info: strawberry.Info, input: CreateTeamInput) -> CreateTeamPayload:
        member_pks = _user_pks(input.member_ids, "memberIds")
        async with info.context.write() as session:
            team = await tenancy.create_team(
                session, info.context.actor, name=input.name, description=input.description, member_ids=member_pks
            )
        return CreateTeamPayload(team=team)

    @mutation(Action.TEAM_MANAGE, description="Rename a team or change its description.")
    async def update_team(self, info: strawberry.Info, input: UpdateTeamInput) -> UpdateTeamPayload:
        team_pk = pk_of(input.team_id, "Team", field="teamId")
        async with info.context.write() as session:
            team = await tenancy.update_team(
                session, info.context.actor, team_pk, name=input.name, description=input.description
            )
        return UpdateTeamPayload(team=team)

    @mutation(Action.TEAM_MANAGE, description="Delete a team. Its members stay in the organisation.")
    async def delete_team(self, info: strawberry.Info, input: DeleteTeamInput) -> DeleteTeamPayload:
        team_pk = pk_of(input.team_id, "Team", field="teamId")
        async with info.context.write() as session:
            await tenancy.delete_team(session, info.context.actor, team_pk)
        return DeleteTeamPayload(deleted_team_id=input.team_id)

    @mutation(Action.TEAM_MANAGE, description="Add members of the organisation to a team.")
    async def add_team_members(self, info: strawberry.Info, input: TeamMembersInput) -> TeamMembersPayload:
        team_pk = pk_of(input.team_id, "Team", field="teamId")
        user_pks = _user_pks(input.user_ids, "userIds")
        async with info.context.write() as session:
            team = await tenancy.add_team_members(session, info.context.actor, team_pk, user_pks)
        return TeamMembersPayload(team=team)

    @mutation(Action.TEAM_MANAGE, description="Take users out of a team.")
    async def remove_team_members(self, info: strawberry.Info, input: TeamMembersInput) -> TeamMembersPayload:
        team_pk = pk_of(input.team_id, "Team", field="teamId")
        user_pks = _user_pks(input.user_ids, "userIds")
        async with info.context.write() as session:
            team = await tenancy.remove_team_members(session, info.context.actor, team_pk, user_pks)
        return TeamMembersPayload(team=team)

    @mutation(Action.TOKEN_MANAGE_OWN, description="Create an API token for yourself; its secret is shown once.")
    async def create_api_token(self, info: strawberry.Info, input: CreateApiTokenInput) -> CreateApiTokenPayload:
        actor = info.context.actor
        async with info.context.write() as session:
            token, secret = await tokens.issue(
                session,
                organization_id=actor.organization_id,
                user_id=actor.user_id,
                name=input.name,
                now=info.context.now,
                expires_at=input.expires_at,
            )
        return CreateApiTokenPayload(api_token=token, secret=secret)

    @mutation(Action.TOKEN_MANAGE_OWN, description="Revoke one of your tokens (owners and admins: anyone's).")
    async def revoke_api_token(self, info: strawberry.Info, input: RevokeApiTokenInput) -> RevokeApiTokenPayload:
        token_pk = pk_of(input.id, "ApiToken", field="id")
        async with info.context.write() as session:
            token = await tokens.revoke(session, info.context.actor, token_pk, info.context.now)
        return RevokeApiTokenPayload(api_token=token)


