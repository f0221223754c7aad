"""Tables for plugins: mcgraph's declarative base and its column helpers, and ``core``,
mcgraph's own tables to read.

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

from types import SimpleNamespace

from mcgraph.db import models as _models
from mcgraph.db.base import Base, BigId, OrgScoped, UTCDateTime, enum_column, utcnow

core = SimpleNamespace(
    project=_models.Project.__table__,
    task=_models.Task.__table__,
    milestone=_models.Milestone.__table__,
    dependency=_models.Dependency.__table__,
    time_entry=_models.TimeEntry.__table__,
    cost_entry=_models.CostEntry.__table__,
    user=_models.User.__table__,
    membership=_models.Membership.__table__,
)
"""mcgraph's own tables, for plugins' batched reads (``core.task.c.state_category``).

Read them, never write them: change mcgraph's data through a ``PluginUnit``
(``set_task_state``, ``record``...), so that checks run and events are written. Their
columns are part of the plugin API: a column is renamed or dropped only with a release
note. The session a plugin is given does not scope these ``Table`` reads by
organisation: filter on ``organization_id`` yourself.
"""

__all__ = ["Base", "BigId", "OrgScoped", "UTCDateTime", "core", "enum_column", "utcnow"]
