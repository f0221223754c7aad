"""Tables for plugins: mcgraph's declarative base and its column helpers.

A plugin's models subclass :class:`Base` (so they can refer to core tables by foreign
key) and, when their rows belong to an organisation, :class:`OrgScoped`: sessions
opened for a request then see only that organisation's rows. Name tables
``<plugin>_<thing>``, and create them in the plugin's own Alembic branch (see
``mcgraph_migrations``)::

    class Sprint(OrgScoped, Base):
        __tablename__ = "agile_sprint"
        project_id: Mapped[int] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
        name: Mapped[str] = mapped_column(String(200))
        starts_on: Mapped[date]
"""

from __future__ import annotations

from mcgraph.db.base import Base, BigId, OrgScoped, UTCDateTime, enum_column, utcnow

__all__ = ["Base", "BigId", "OrgScoped", "UTCDateTime", "enum_column", "utcnow"]
