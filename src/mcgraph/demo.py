"""Demo data for ``mcgraph serve --demo``: an organisation to explore at once.

Seeding is idempotent: running it again reuses what is there and issues a new token.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.db.models import Role
from mcgraph.domain import tenancy, tokens

DEMO_ORG = "demo"
DEMO_PEOPLE = [
    ("olivia@demo.test", "Olivia Owner", Role.OWNER),
    ("adam@demo.test", "Adam Admin", Role.ADMIN),
    ("maya@demo.test", "Maya Manager", Role.MANAGER),
    ("mo@demo.test", "Mo Member", Role.MEMBER),
    ("vic@demo.test", "Vic Viewer", Role.VIEWER),
]
DEMO_TEAMS = {"Platform": ["maya@demo.test", "mo@demo.test"], "Operations": ["adam@demo.test", "vic@demo.test"]}


async def seed(session: AsyncSession, now: datetime) -> str:
    """Seed the demo organisation; returns a new owner token's secret."""
    org = await tenancy.ensure_organization(session, DEMO_ORG, "Demo Company")
    users = {}
    for email, name, role in DEMO_PEOPLE:
        user = await tenancy.ensure_user(session, email, name)
        await tenancy.ensure_membership(session, org, user, role)
        users[email] = user
    await tenancy.ensure_teams(session, org, {name: [users[e].id for e in emails] for name, emails in DEMO_TEAMS.items()})
    owner = users[DEMO_PEOPLE[0][0]]
    _, secret = await tokens.issue(session, organization_id=org.id, user_id=owner.id, name="demo", now=now)
    return secret
