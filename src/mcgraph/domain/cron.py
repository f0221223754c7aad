"""Cron schedules for recurring processes: when a process should start a run.

A :class:`CronSchedule` is a cron expression read in the wall-clock time of an IANA
time zone ("every Monday 08:00 Europe/Berlin"). Its *slots* are the instants it
fires; every function here takes aware datetimes (a naive one is a ``ValueError``)
and returns slots as aware UTC datetimes. Expressions are evaluated by ``cronsim``,
which follows Debian cron.

Syntax: five fields, ``minute hour day-of-month month day-of-week``, each ``*``, a
number, a list (``1,15``), a range (``1-5``) or a step (``*/15``, ``0-30/10``).
Months may be named ``JAN``-``DEC`` and weekdays ``SUN``-``SAT``, in any case; 0 and 7
are both Sunday. Also supported: ``L`` (the last day) and ``LW`` (the last weekday,
Monday to Friday) as the day-of-month; ``5L`` (the last Friday of the month, digits
only) and ``MON#2`` (the second Monday) in the day-of-week. When both the day-of-month
and the day-of-week are restricted (neither starts with ``*``), a day matches when
either does: ``0 0 13 * FRI`` fires on every 13th and every Friday. Not supported:
a seconds or a year field, ``?``, ``W`` other than ``LW``, ``@reboot``.

Aliases, normalised by :func:`parse_schedule`:

``@hourly``, ``@daily``, ``@weekly``, ``@monthly``, ``@yearly``
    ``0 * * * *``, ``0 0 * * *``, ``0 0 * * 0``, ``0 0 1 * *``, ``0 0 1 1 *``.
``@first-business-day HH:MM``
    At HH:MM on the first Monday-Friday of each month: the 1st, or Monday the 2nd or
    3rd when the 1st is a Saturday or a Sunday. Public holidays are not known. cronsim
    has no ``W`` (``1W``, the weekday nearest the 1st), so this alias is evaluated as
    ``MM HH 1-3 * *`` keeping only that day; it is stored as the alias.

Daylight saving time. A schedule at a specific time (neither its minute nor its hour
field starts with ``*``) keeps its local time, so its UTC time moves with the offset:
a daily 08:00 in Europe/Berlin is 07:00 UTC in winter and 06:00 UTC in summer. On the
two days a year when the clock jumps, Debian cron's rules apply:

- a time that does not exist (the clock jumps forward) fires at the first minute
  after the gap: 02:30 Europe/Berlin on 2026-03-29 fires at 03:00 CEST (01:00 UTC);
- a time that exists twice (the clock falls back) fires once, at its first
  occurrence, in summer time: 02:30 Europe/Berlin on 2026-10-25 fires at 02:30 CEST
  (00:30 UTC) and not again at 02:30 CET.

A schedule with ``*`` at the start of its minute or hour field (``@hourly``,
``*/15 * * * *``) follows elapsed time instead: slots in the skipped hour do not
occur and slots in the repeated hour occur twice, so ``@hourly`` fires once every
real hour, at 02:00 CEST and again at 02:00 CET on 2026-10-25.

Missed slots: after downtime, :func:`due_slots` starts at most one run, for the
latest slot that passed; :attr:`MissedSlots.SKIP` drops even that one when it passed
longer ago than a grace period.
"""

from __future__ import annotations

import enum
import heapq
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cronsim import CronSim, CronSimError

FIRST_BUSINESS_DAY = "@first-business-day"
ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
}
_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31, L (the last day) or LW (the last weekday)"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-7 or SUN-SAT (0 and 7 are Sunday), 5L (the last Friday) or MON#2 (the second Monday)"),
)
_FORM = "five fields, minute hour day-of-month month day-of-week, e.g. '0 8 * * MON'"
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)
_FIRST_SPAN = timedelta(hours=1)


class CronError(ValueError):
    """A cron expression or time zone that cannot be used; the message says how to fix it."""


class MissedSlots(enum.StrEnum):
    RUN_ONCE = "run_once"
    """After downtime, the slots that passed start one run, for the latest of them."""
    SKIP = "skip"
    """After downtime, slots that passed longer ago than the grace period are skipped."""


@dataclass(frozen=True, slots=True)
class CronSchedule:
    expression: str
    """Five cron fields, or ``@first-business-day HH:MM``; see the module docstring."""
    timezone: str
    """An IANA name, e.g. ``Europe/Berlin``."""


@dataclass(frozen=True, slots=True)
class _Plan:
    expression: str
    cron: str
    """What cronsim evaluates."""
    zone: ZoneInfo
    first_business_day: bool
    """Keep only the slots on the first Monday-Friday of the month."""


def parse_schedule(expression: str, timezone: str) -> CronSchedule:
    """Validate and normalise; raises CronError (bad field, unknown time zone...).

    Whitespace is collapsed, names are upper-cased and aliases are replaced by their
    cron fields (except ``@first-business-day HH:MM``, kept with a zero-padded time).
    An expression that matches no date in 50 years is an error too.
    """
    plan = _compile(expression, timezone)
    if next(CronSim(plan.cron, _REFERENCE), None) is None:
        raise CronError(f"'{plan.expression}' never fires: no date in 50 years fits all its fields")
    return CronSchedule(plan.expression, plan.zone.key)


def next_slots(schedule: CronSchedule, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` slots strictly after ``after`` (aware datetime), as aware UTC datetimes."""
    _require_aware(after=after)
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    return list(islice(_slots(_compile(schedule.expression, schedule.timezone), after), count))


def slots_between(schedule: CronSchedule, after: datetime, until: datetime, limit: int = 1000) -> list[datetime]:
    """Slots in ``(after, until]``, aware UTC, at most ``limit`` (the most recent ones are kept when cut)."""
    _require_aware(after=after, until=until)
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, got {limit}")
    return _latest(_compile(schedule.expression, schedule.timezone), after, until, limit)


def due_slots(
    schedule: CronSchedule,
    last_slot: datetime | None,
    since: datetime,
    now: datetime,
    policy: MissedSlots,
    grace: timedelta = timedelta(minutes=5),
) -> list[datetime]:
    """The slots a scheduler should start runs for now: an empty list or one slot.

    ``last_slot`` is the slot of the latest run started (None before the first one),
    ``since`` when the schedule took effect. Candidates are the slots in ``(last_slot
    or since, now]``, so a slot never starts two runs. Both policies keep only the
    latest candidate, so downtime causes one catch-up run; SKIP keeps it only when
    ``now - slot <= grace``.
    """
    _require_aware(since=since, now=now)
    if last_slot is not None:
        _require_aware(last_slot=last_slot)
    if grace < timedelta(0):
        raise ValueError(f"grace must not be negative, got {grace}")
    start = since if last_slot is None else last_slot
    latest = _latest(_compile(schedule.expression, schedule.timezone), start, now, 1)
    if not latest or (policy == MissedSlots.SKIP and now - latest[0] > grace):
        return []
    return latest


def describe(schedule: CronSchedule) -> str:
    """A short English description, e.g. ``at 08:00 on Monday (Europe/Berlin)``.

    Falls back to ``cron '<expression>' (<zone>)`` when cronsim cannot explain it.
    """
    plan = _compile(schedule.expression, schedule.timezone)
    zone = plan.zone.key
    if plan.first_business_day:
        minute, hour = plan.cron.split()[:2]
        return f"at {int(hour):02d}:{int(minute):02d} on the first business day of the month ({zone})"
    try:
        text = CronSim(plan.cron, _REFERENCE).explain()
    except (ValueError, IndexError, NotImplementedError):
        return f"cron '{plan.expression}' ({zone})"
    return f"{text[:1].lower()}{text[1:]} ({zone})"


def _compile(expression: str, timezone: str) -> _Plan:
    text = " ".join(expression.split())
    if not text:
        raise CronError(f"the schedule is empty; write {_FORM}, or an alias such as '@daily'")
    if not text.startswith("@"):
        cron = _check_fields(text)
        return _Plan(cron, _without_lone_steps(cron), _zone(timezone), first_business_day=False)
    name, _, rest = text.partition(" ")
    name = name.lower()
    if name in ALIASES and not rest:
        return _Plan(ALIASES[name], ALIASES[name], _zone(timezone), first_business_day=False)
    if name == FIRST_BUSINESS_DAY:
        hour, minute = _time_of_day(rest)
        normal = f"{name} {hour:02d}:{minute:02d}"
        return _Plan(normal, f"{minute} {hour} 1-3 * *", _zone(timezone), first_business_day=True)
    known = ", ".join(ALIASES)
    raise CronError(f"unknown schedule '{text}'; the aliases are {known} and '{FIRST_BUSINESS_DAY} HH:MM'")


def _check_fields(text: str) -> str:
    fields = text.upper().split()
    if len(fields) != 5:
        extra = " (neither a seconds nor a year field is supported)" if len(fields) > 5 else ""
        raise CronError(f"'{text}' has {len(fields)} fields{extra}; a cron schedule has {_FORM}")
    cron = " ".join(fields)
    if _accepted(cron):
        return cron
    for index, value in enumerate(fields):
        if not _accepted(" ".join(value if other == index else "*" for other in range(5))):
            raise CronError(_field_message(text, index, value))
    # Each field is fine alone: cronsim found the day-of-month in none of the months.
    raise CronError(f"'{text}' never fires: no month in '{fields[3]}' has day '{fields[2]}'")


def _without_lone_steps(cron: str) -> str:
    """``5-5/10`` written ``5``: cronsim reads a step on a one-value range as ``5/10``, 5 to the end."""

    def term(text: str) -> str:
        span, step, _ = text.partition("/")
        low, dash, high = span.partition("-")
        same = int(low) == int(high) if low.isdigit() and high.isdigit() else low == high
        return low if step and dash and same else text

    return " ".join(",".join(map(term, field.split(","))) for field in cron.split())


def _accepted(cron: str) -> bool:
    try:
        CronSim(cron, _REFERENCE)
    except CronSimError:
        return False
    return True


def _field_message(text: str, index: int, value: str) -> str:
    name, allowed = _FIELDS[index]
    message = f"bad {name} '{value}' in '{text}'; use {allowed}, with lists (1,15), ranges (1-5) and steps (*/10)"
    if value == "?":
        message += "; write * instead of ?"
    elif name == "day-of-month" and "W" in value and value != "LW":
        message += f"; W works only as LW: for the first business day write '{FIRST_BUSINESS_DAY} HH:MM'"
    return message


def _time_of_day(text: str) -> tuple[int, int]:
    match = _TIME.fullmatch(text)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise CronError(f"'{FIRST_BUSINESS_DAY}' needs a time from 00:00 to 23:59, e.g. '{FIRST_BUSINESS_DAY} 09:00'")
    return int(match[1]), int(match[2])


def _zone(name: str) -> ZoneInfo:
    key = name.strip()
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    close = [known for known in available_timezones() if known.lower() == key.lower()]
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise CronError(f"unknown time zone '{name}'; use an IANA name such as 'Europe/Berlin' or 'UTC'{hint}")


def _require_aware(**moments: datetime) -> None:
    for name, moment in moments.items():
        if moment.tzinfo is None or moment.utcoffset() is None:
            example = "datetime(2026, 3, 30, 6, 0, tzinfo=UTC)"
            raise ValueError(f"{name} must be timezone-aware, e.g. {example}; got the naive {moment}")


def _slots(plan: _Plan, after: datetime) -> Iterator[datetime]:
    """The slots strictly after ``after``, ascending, in UTC.

    cronsim matches the fields on naive wall-clock time (its own handling of time zones
    loses slots where the offset changes by half an hour); each match then names the
    instants of the rules in the module docstring. Around a repeated hour those come out
    of order, so they wait in a heap until no later match can name an earlier instant.
    """
    zone = plan.zone
    # Local times up to a day around ``after`` may name instants after it: start at the earliest.
    offset = min((after + timedelta(days=days)).astimezone(zone).utcoffset() or timedelta() for days in (-1, 0, 1))
    wall_clock = not plan.cron.startswith("*") and not plan.cron.split()[1].startswith("*")
    waiting: list[datetime] = []
    previous = after
    for local in CronSim(plan.cron, after.astimezone(UTC).replace(tzinfo=None) + offset):
        if plan.first_business_day and not _is_first_business_day(local.date()):
            continue
        instants = _instants(zone, wall_clock, local)
        for instant in instants:
            heapq.heappush(waiting, instant)
        while waiting and instants and waiting[0] <= instants[0]:
            slot = heapq.heappop(waiting)
            if slot > previous:
                previous = slot
                yield slot
    yield from (slot for slot in sorted(waiting) if slot > previous)


def _instants(zone: ZoneInfo, wall_clock: bool, local: datetime) -> list[datetime]:
    """The instants (UTC, ascending) at which a match at the wall-clock time ``local`` fires."""
    found = _real(zone, local)
    if not wall_clock:
        return found
    while not found:  # a time in a gap fires at the first minute after it
        local += timedelta(minutes=1)
        found = _real(zone, local)
    return found[:1]


def _real(zone: ZoneInfo, local: datetime) -> list[datetime]:
    """The instants whose wall-clock time in ``zone`` is ``local``: none in a gap, two in a repeated hour."""
    first, second = local.replace(tzinfo=zone), local.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return [first.astimezone(UTC)]
    found = (first.astimezone(UTC), second.astimezone(UTC))
    return sorted(instant for instant in found if instant.astimezone(zone).replace(tzinfo=None) == local)


def _is_first_business_day(day: date) -> bool:
    """The 1st on Monday to Friday, or Monday the 2nd or 3rd."""
    return day.weekday() < 5 if day.day == 1 else (day.weekday() == 0 and day.day <= 3)


def _latest(plan: _Plan, after: datetime, until: datetime, limit: int) -> list[datetime]:
    """The last ``limit`` slots in ``(after, until]``.

    Looks back from ``until`` over a span that grows until it holds ``limit`` slots or
    reaches ``after``, so a long downtime of a dense schedule is not walked slot by slot.
    """
    if limit == 0 or until <= after:
        return []
    span = _FIRST_SPAN
    while True:
        start = after if until - after <= span else until - span
        kept: deque[datetime] = deque(maxlen=limit)
        for slot in _slots(plan, start):
            if slot > until:
                break
            kept.append(slot)
        if len(kept) == limit or start == after:
            return list(kept)
        span *= 4
