"""Processes: templates whose documented steps are frozen into immutable versions.

Rules kept here: a process key is unique in its organisation; steps are edited only in
the draft of the next version (created on the first edit after a publish, as a copy of
the newest published steps); publishing freezes the draft, and nothing changes a
published version afterwards; every run records the version it ran.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import func, select

from mcgraph.domain.cron import CronError, parse_schedule
from mcgraph.domain import identifiers
from mcgraph.db.models import Assignment, Membership, Process, ProcessStatus, ProcessStep, ProcessVersion, RejectAction, Role, Team
from mcgraph.domain.errors import Problems, UserError, UserErrorCode
from mcgraph.domain.projects import KEY_PATTERN, check_version
from mcgraph.domain.unit import Unit, changed

STEP_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TEMPLATE_FIELD = re.compile(r"\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class StepSpec:
    """A step as an owner writes it. ``key`` defaults to a slug of the name."""

    name: str
    instructions: str = ""
    key: str | None = None
    assignment: Assignment = Assignment.OWNER
    assignee_id: int | None = None
    assignee_role: Role | None = None
    payload_path: str | None = None
    offset_hours: float = 0.0
    duration_hours: float = 8.0
    approval: bool = False
    on_reject: RejectAction = RejectAction.END
    reject_to: str | None = None
    required: bool = True
    waits_for: Sequence[str] | None = None


STEP_FIELDS = [f.name for f in fields(StepSpec)]


@dataclass(frozen=True, slots=True)
class StepChange:
    key: str
    name: str
    changed_fields: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class VersionDiff:
    added: list[StepChange]
    removed: list[StepChange]
    changed: list[StepChange]


def slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (text or "step")[:64]


async def get_process(unit: Unit, process_id: int, field: str = "processId") -> Process:
    process = await unit.session.get(Process, process_id)
    if process is None or process.organization_id != unit.actor.organization_id:
        raise UserError.one(field, "No such process.", UserErrorCode.NOT_FOUND)
    return process


async def process_by_key(unit: Unit, key: str, field: str = "processKey") -> Process:
    process = await unit.session.scalar(
        select(Process).where(Process.organization_id == unit.actor.organization_id, Process.key == identifiers.lookup_key(key))
    )
    if process is None:
        raise UserError.one(field, f"No process with the key {key!r}.", UserErrorCode.NOT_FOUND)
    return process


async def create_process(
    unit: Unit,
    *,
    key: str,
    name: str,
    purpose: str = "",
    owner_id: int | None = None,
    team_id: int | None = None,
    run_name_template: str = "",
    trigger_event: str | None = None,
    payload_schema: dict[str, Any] | None = None,
    schedule_cron: str | None = None,
    schedule_timezone: str | None = None,
    missed_slots: str = "run_once",
    steps: Sequence[StepSpec] = (),
    source_project_id: int | None = None,
) -> Process:
    problems = Problems()
    key = identifiers.key(key)
    if not KEY_PATTERN.match(key):
        problems.add("key", "A key is 2 to 10 capital letters and digits, starting with a letter.", UserErrorCode.INVALID)
    elif await unit.session.scalar(select(Process.id).where(Process.organization_id == unit.actor.organization_id, Process.key == key)):
        problems.add("key", f"The key {key} is taken.", UserErrorCode.TAKEN)
    owner_id = owner_id or unit.actor.person_id
    values = {
        "name": name, "purpose": purpose, "owner_id": owner_id, "team_id": team_id, "run_name_template": run_name_template,
        "trigger_event": trigger_event, "payload_schema": payload_schema, "schedule_cron": schedule_cron,
        "schedule_timezone": schedule_timezone, "missed_slots": missed_slots,
    }
    await _check_process(unit, problems, values)
    checked_steps = await _check_steps(unit, problems, steps)
    problems.raise_any()
    process = Process(
        organization_id=unit.actor.organization_id,
        key=key,
        status=ProcessStatus.DRAFT,
        source_project_id=source_project_id,
        created_at=unit.now,
        updated_at=unit.now,
        **{**values, "name": name.strip(), "trigger_event": (trigger_event or "").strip() or None},
    )
    unit.session.add(process)
    await unit.session.flush()
    draft = ProcessVersion(organization_id=process.organization_id, process_id=process.id, number=1, created_at=unit.now)
    unit.session.add(draft)
    await unit.session.flush()
    _add_steps(process, draft, checked_steps, unit)
    unit.record("process.created", process, key=key, name=process.name)
    await unit.session.flush()
    return process


async def update_process(unit: Unit, process_id: int, expected_version: int | None, values: dict[str, Any]) -> Process:
    process = await get_process(unit, process_id)
    check_version(process, expected_version)
    problems = Problems()
    allowed = {
        "name", "purpose", "owner_id", "team_id", "run_name_template", "trigger_event", "payload_schema",
        "schedule_cron", "schedule_timezone", "missed_slots",
    }
    values = {k: v for k, v in values.items() if k in allowed}
    merged = {name: values.get(name, getattr(process, name)) for name in allowed}
    await _check_process(unit, problems, merged)
    problems.raise_any()
    if "trigger_event" in values:
        values["trigger_event"] = (values["trigger_event"] or "").strip() or None
    if "schedule_cron" in values or "schedule_timezone" in values:
        values["last_slot_at"] = unit.now  # a new schedule counts its slots from now on
    changes = changed(process, **values)
    if changes:
        process.updated_at = unit.now
        unit.record("process.updated", process, changes=changes)
        await unit.session.flush()
    return process


async def draft_version(unit: Unit, process: Process) -> ProcessVersion:
    """The process's draft, made from the newest published steps when there is none."""
    versions = list(
        await unit.session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process.id).order_by(ProcessVersion.number))
    )
    if versions and versions[-1].published_at is None:
        return versions[-1]
    draft = ProcessVersion(
        organization_id=process.organization_id, process_id=process.id, number=(versions[-1].number + 1) if versions else 1, created_at=unit.now
    )
    unit.session.add(draft)
    await unit.session.flush()
    if versions:
        for step in await version_steps(unit, versions[-1].id):
            copy = ProcessStep(**{c.key: getattr(step, c.key) for c in ProcessStep.__table__.columns if c.key not in ("id", "version_id")})
            copy.version_id = draft.id
            unit.session.add(copy)
        await unit.session.flush()
    return draft


async def set_steps(unit: Unit, process_id: int, steps: Sequence[StepSpec]) -> ProcessVersion:
    """Replace the steps of the process's draft version (made first when needed)."""
    process = await get_process(unit, process_id)
    if process.status == ProcessStatus.RETIRED:
        raise UserError.one("processId", "A retired process cannot be edited.", UserErrorCode.INVALID)
    problems = Problems()
    checked = await _check_steps(unit, problems, steps)
    problems.raise_any()
    draft = await draft_version(unit, process)
    for step in await version_steps(unit, draft.id):
        await unit.session.delete(step)
    await unit.session.flush()
    _add_steps(process, draft, checked, unit)
    unit.record("process.steps_edited", process, version=draft.number, steps=[s.key for s in checked])
    await unit.session.flush()
    return draft


async def update_step(unit: Unit, step_id: int, values: dict[str, Any]) -> ProcessStep:
    """Change one step of the draft; a step of a published version is never changed."""
    step = await unit.session.get(ProcessStep, step_id)
    if step is None or step.organization_id != unit.actor.organization_id:
        raise UserError.one("stepId", "No such step.", UserErrorCode.NOT_FOUND)
    version = await unit.session.get_one(ProcessVersion, step.version_id)
    if version.published_at is not None:
        raise UserError.one(
            "stepId",
            f"Version {version.number} is published and never changes; edit the draft of the next version (setProcessSteps).",
            UserErrorCode.PUBLISHED,
        )
    steps = await version_steps(unit, version.id)
    specs = [
        StepSpec(**{name: (values[name] if s.id == step.id and name in values else getattr(s, name)) for name in STEP_FIELDS})
        for s in steps
    ]
    process = await get_process(unit, version.process_id)
    await set_steps(unit, process.id, specs)
    return await unit.session.scalar(select(ProcessStep).where(ProcessStep.version_id == version.id, ProcessStep.position == step.position))  # type: ignore[return-value]


async def publish(unit: Unit, process_id: int, note: str = "") -> ProcessVersion:
    """Freeze the draft: from now on runs use it, and nothing changes it."""
    process = await get_process(unit, process_id)
    draft = await unit.session.scalar(
        select(ProcessVersion).where(ProcessVersion.process_id == process.id, ProcessVersion.published_at.is_(None))
    )
    if draft is None:
        raise UserError.one("processId", "There is no draft to publish: edit the steps first.", UserErrorCode.INVALID)
    steps = await version_steps(unit, draft.id)
    if not steps:
        raise UserError.one("steps", "A process needs at least one step to be published.", UserErrorCode.REQUIRED)
    draft.published_at = unit.now
    draft.published_by_id = unit.actor.person_id
    draft.note = note.strip()
    if process.status != ProcessStatus.PUBLISHED:
        process.last_slot_at = unit.now  # slots that passed while it was not published are not owed
    changed(process, status=ProcessStatus.PUBLISHED)
    process.updated_at = unit.now
    unit.record("process.published", process, version=draft.number, steps=len(steps))
    await unit.session.flush()
    return draft


async def retire(unit: Unit, process_id: int) -> Process:
    process = await get_process(unit, process_id)
    changes = changed(process, status=ProcessStatus.RETIRED)
    if changes:
        unit.record("process.retired", process, changes=changes)
        await unit.session.flush()
    return process


async def version_steps(unit: Unit, version_id: int) -> list[ProcessStep]:
    return list(await unit.session.scalars(select(ProcessStep).where(ProcessStep.version_id == version_id).order_by(ProcessStep.position)))


async def latest_published(unit: Unit, process: Process) -> ProcessVersion | None:
    return await unit.session.scalar(
        select(ProcessVersion)
        .where(ProcessVersion.process_id == process.id, ProcessVersion.published_at.is_not(None))
        .order_by(ProcessVersion.number.desc())
        .limit(1)
    )


def diff_steps(old: Sequence[ProcessStep], new: Sequence[ProcessStep]) -> VersionDiff:
    """What changed between two versions' steps, matched by step key."""
    before = {s.key: s for s in old}
    after = {s.key: s for s in new}
    compared = [f for f in STEP_FIELDS if f != "key"] + ["position"]
    changed_steps = []
    for key in after.keys() & before.keys():
        different = [f for f in compared if _step_value(before[key], f) != _step_value(after[key], f)]
        if different:
            changed_steps.append(StepChange(key, after[key].name, different))
    return VersionDiff(
        added=[StepChange(k, after[k].name) for k in after if k not in before],
        removed=[StepChange(k, before[k].name) for k in before if k not in after],
        changed=sorted(changed_steps, key=lambda c: after[c.key].position),
    )


def _step_value(step: ProcessStep, name: str) -> Any:
    value = getattr(step, name)
    return list(value) if isinstance(value, list | tuple) else value


def _add_steps(process: Process, version: ProcessVersion, steps: Sequence[StepSpec], unit: Unit) -> None:
    for position, spec in enumerate(steps):
        unit.session.add(
            ProcessStep(
                organization_id=process.organization_id,
                version_id=version.id,
                position=position,
                **{name: getattr(spec, name) for name in STEP_FIELDS if name != "waits_for"},
                waits_for=list(spec.waits_for) if spec.waits_for is not None else None,
            )
        )


async def _check_process(unit: Unit, problems: Problems, values: dict[str, Any]) -> None:
    name = (values.get("name") or "").strip()
    if not name:
        problems.add("name", "A process needs a name.", UserErrorCode.REQUIRED)
    elif len(name) > 200:
        problems.add("name", "A name has at most 200 characters.", UserErrorCode.TOO_LONG)
    if values.get("owner_id") and not await _is_member(unit, values["owner_id"]):
        problems.add("ownerId", "The owner is not a member of the organisation.", UserErrorCode.NOT_A_MEMBER)
    if values.get("team_id"):
        team = await unit.session.get(Team, values["team_id"])
        if team is None or team.organization_id != unit.actor.organization_id:
            problems.add("teamId", "No such team.", UserErrorCode.NOT_FOUND)
    schema = values.get("payload_schema")
    if schema is not None and not isinstance(schema, dict):
        # a bare true or false is a schema too, but a payload is checked only against an object
        problems.add("payloadSchema", 'A payload schema is a JSON Schema object, such as {"type": "object"}.', UserErrorCode.INVALID)
    elif schema is not None:
        import jsonschema  # only where used: about 3 MB of every process's memory otherwise

        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as error:
            problems.add("payloadSchema", f"Not a valid JSON Schema: {error.message}", UserErrorCode.INVALID)
    if values.get("schedule_cron"):
        try:
            parse_schedule(values["schedule_cron"], values.get("schedule_timezone") or "UTC")
        except CronError as error:
            zone_error = "time zone" in str(error).lower()
            problems.add("scheduleTimezone" if zone_error else "scheduleCron", str(error), UserErrorCode.INVALID)
    if values.get("missed_slots") not in ("run_once", "skip"):
        problems.add("missedSlots", "Missed slots are either run once (run_once) or skipped (skip).", UserErrorCode.INVALID)
    template = values.get("run_name_template") or ""
    for path in TEMPLATE_FIELD.findall(template):
        if not path.startswith(("input.", "process.", "number", "date")):
            problems.add("runNameTemplate", f"{{{{{path}}}}} is not a template field: use input.<field>, process.name, number or date.", UserErrorCode.INVALID)


async def _check_steps(unit: Unit, problems: Problems, steps: Sequence[StepSpec]) -> list[StepSpec]:
    """The steps, keys filled in and names trimmed; linear in the number of steps (keys and
    the positions they were given at are looked up in a dict, members in one query)."""
    limit = unit.settings.max_process_steps
    if len(steps) > limit:
        problems.add("steps", f"A process version has at most {limit} steps (MCGRAPH_MAX_PROCESS_STEPS); {len(steps)} were given.", UserErrorCode.TOO_LONG)
        return []
    checked: list[StepSpec] = []
    keys: list[str] = []
    index_of: dict[str, int] = {}
    named = {spec.assignee_id for spec in steps if spec.assignment == Assignment.USER and spec.assignee_id}
    members = await _members(unit, named)
    for index, spec in enumerate(steps):
        where = ["steps", str(index)]
        key = spec.key or slug(spec.name)
        if key in index_of:
            key = f"{key}-{index + 1}" if spec.key is None else key
        if not STEP_KEY.match(key):
            problems.add([*where, "key"], f"{key!r} is not a step key: lower-case letters, digits, - and _.", UserErrorCode.INVALID)
        elif key in index_of:
            problems.add([*where, "key"], f"Two steps have the key {key!r}.", UserErrorCode.TAKEN)
        if not spec.name.strip():
            problems.add([*where, "name"], "A step needs a name.", UserErrorCode.REQUIRED)
        if spec.offset_hours < 0 or spec.duration_hours < 0:
            problems.add([*where, "durationHours"], "Offsets and durations cannot be negative.", UserErrorCode.INVALID)
        if spec.assignment == Assignment.USER and not (spec.assignee_id and spec.assignee_id in members):
            problems.add([*where, "assigneeId"], "Name a member of the organisation to do this step.", UserErrorCode.NOT_A_MEMBER)
        if spec.assignment == Assignment.TEAM_ROLE and spec.assignee_role is None:
            problems.add([*where, "assigneeRole"], "Name the role in the team that does this step.", UserErrorCode.REQUIRED)
        if spec.assignment == Assignment.PAYLOAD and not spec.payload_path:
            problems.add([*where, "payloadPath"], "Name the payload field holding the e-mail of who does this step.", UserErrorCode.REQUIRED)
        keys.append(key)
        index_of.setdefault(key, index)
        checked.append(StepSpec(**{**{n: getattr(spec, n) for n in STEP_FIELDS}, "key": key, "name": spec.name.strip()}))
    for index, spec in enumerate(checked):
        for needed in spec.waits_for or ():
            if index_of.get(needed, index) >= index:
                problems.add(["steps", str(index), "waitsFor"], f"A step waits only for steps before it; {needed!r} is not one.", UserErrorCode.INVALID)
        if spec.approval and spec.on_reject == RejectAction.BACK and index_of.get(spec.reject_to or "", index) >= index:
            problems.add(["steps", str(index), "rejectTo"], "A rejection goes back to a step before this one.", UserErrorCode.INVALID)
    return checked


async def _members(unit: Unit, user_ids: set[int]) -> set[int]:
    """Which of ``user_ids`` are members of the organisation, in one query."""
    if not user_ids:
        return set()
    return set(
        await unit.session.scalars(
            select(Membership.user_id).where(Membership.organization_id == unit.actor.organization_id, Membership.user_id.in_(user_ids))
        )
    )


async def _is_member(unit: Unit, user_id: int) -> bool:
    return bool(
        await unit.session.scalar(
            select(func.count()).where(Membership.organization_id == unit.actor.organization_id, Membership.user_id == user_id)
        )
    )
