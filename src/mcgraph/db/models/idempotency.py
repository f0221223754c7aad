"""Idempotency keys: the first answer to a mutation sent with an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mcgraph.db.base import Base, BigId, OrgScoped, utcnow


class IdempotencyKey(OrgScoped, Base):
    """One key of one user in one organisation, and the answer its first request got.

    A row is claimed (``completed_at`` empty) before the mutation runs and completed
    with the answer once it has; ``request_hash`` is the SHA-256 of the request's
    canonical JSON body, so that the key cannot be reused for another request.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("organization_id", "user_id", "key"),
        Index("ix_idempotency_key_expiry", "organization_id", "created_at"),
    )

    # The mixin's own index on organization_id would repeat the two above.
    organization_id: Mapped[int] = mapped_column(BigId, ForeignKey("organization.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
