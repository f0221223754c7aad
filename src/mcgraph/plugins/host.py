"""What mcgraph hands a plugin to act with: :class:`PluginUnit`, one transaction.

A plugin never builds one; it gets one in ``mcgraph_event``, in an automation action
(``call.unit``) and from ``request(info).unit()`` in a GraphQL resolver.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.domain import snapshots
from mcgraph.domain.errors import UserError, UserErrorCode
from mcgraph.domain.health_refresh import refresh_health
from mcgraph.domain.unit import Unit
from mcgraph.plugins.types import EventInfo, MilestoneInfo, ProjectFacts, ProjectInfo, TaskInfo

T = TypeVar("T")


class PluginUnit:
    """One transaction of one organisation: read and write, and record events.

    ``session`` is an SQLAlchemy ``AsyncSession`` that sees only this organisation's
    rows of organisation-scoped tables; the events ``record`` writes commit with the
    changes, or not at all.
    """

    def __init__(self, unit: Unit) -> None:
        self._unit = unit

    @property
    def session(self) -> AsyncSession:
        return self._unit.session

    @property
    def organization_id(self) -> int:
        return self._unit.actor.organization_id

    @property
    def actor_id(self) -> int | None:
        """The acting user's id; None when mcgraph itself acts (observers, automations)."""
        return self._unit.actor.person_id

    @property
    def now(self) -> datetime:
        return self._unit.now

    @property
    def today(self) -> date:
        return self._unit.today

    def settings(self, cls: type[T]) -> T:
        """The settings object of class ``cls`` a plugin declared with ``mcgraph_settings``."""
        return self._unit.plugins.settings_of(cls)

    def record(self, event_type: str, subject: Any, /, *, project_id: int | None = None, **data: Any) -> EventInfo:
        """Write event ``event_type`` (``"<plugin>.<what>"``) about ``subject`` (a row, or its id).

        ``data`` must be JSON-ready apart from dates, decimals and enums, which are
        converted. Subscribers and automation rules see the event once it commits.
        """
        row = subject if hasattr(subject, "id") else _Subject(int(subject))
        return snapshots.event_info(self._unit.record(event_type, row, project_id=project_id, **data))

    async def project(self, project_id: int, *, field: str = "projectId") -> ProjectInfo:
        """The project, or a NOT_FOUND user error on ``field``."""
        from mcgraph.domain.projects import get_project

        return snapshots.project_info(await get_project(self._unit, project_id, field))

    async def task(self, task_id: int, *, field: str = "taskId") -> TaskInfo:
        """The task, or a NOT_FOUND user error on ``field``."""
        from mcgraph.domain.tasks import get_task

        return snapshots.task_info(await get_task(self._unit, task_id, field))

    async def set_task_state(self, task_id: int, state: str, *, force: bool = False) -> TaskInfo:
        """Move a task to ``state`` as a client would: every plugin's check, its event, health.

        A refused move raises a user error with the reasons; ``force`` skips the checks
        (allowed when mcgraph itself acts, or for owners, admins and managers).
        """
        from mcgraph.domain.tasks import set_state

        return snapshots.task_info(await set_state(self._unit, task_id, state, force=force))

    async def tasks(self, project_id: int) -> list[TaskInfo]:
        """The project's tasks, in their order."""
        return await snapshots.project_tasks(self.session, project_id)

    async def milestones(self, project_id: int) -> list[MilestoneInfo]:
        return await snapshots.project_milestones(self.session, project_id)

    async def facts(self, project_id: int) -> ProjectFacts:
        """What mcgraph measures of the project today: progress, overdue tasks, cost..."""
        from mcgraph.domain.measure import project_facts
        from mcgraph.domain.projects import get_project

        project = await get_project(self._unit, project_id)
        measured = await project_facts(self.session, [project], self.today, self._unit.settings.hours_per_day)
        return measured[project.id][0]

    async def refresh_health(self, *project_ids: int) -> None:
        """Assess these projects again now (after changing what their health depends on)."""
        await self.session.flush()
        await refresh_health(self._unit, list(project_ids))

    @staticmethod
    def refuse(field: str | list[str], message: str, code: str = "INVALID") -> UserError:
        """A user error to raise from a mutation: ``raise unit.refuse("name", "Too long.")``."""
        return UserError.one(field, message, UserErrorCode(code))


class _Subject:
    __slots__ = ("id",)

    def __init__(self, id: int) -> None:
        self.id = id
