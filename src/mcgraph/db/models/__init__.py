"""Every mapped model, imported here so that ``Base.metadata`` knows them all."""

from mcgraph.db.models.tenancy import ApiToken, Membership, Organization, Role, Team, TeamMember, User

__all__ = ["ApiToken", "Membership", "Organization", "Role", "Team", "TeamMember", "User"]
