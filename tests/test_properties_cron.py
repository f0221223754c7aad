"""Properties of cron slots, checked against a brute-force scan of every minute.

The scan knows nothing of cronsim: it reads each random field into the set of values it
allows and applies the rules of the module docstring of :mod:`mcgraph.domain.cron`.
A schedule at a specific time (neither minute nor hour starts with ``*``) is read in
wall-clock time: a local time that does not exist fires at the first minute after the
gap, one that exists twice fires at its first occurrence. Any other schedule follows
elapsed time: it fires at every real minute whose local time matches.

Windows are drawn around the 2026 clock changes of zones with changes at 02:00 (Berlin,
New York, Sydney), at midnight (Santiago, Havana) and of half an hour (Lord Howe).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from mcgraph.domain.cron import ALIASES, CronError, CronSchedule, MissedSlots, due_slots, next_slots, parse_schedule, slots_between

ZONES = [
    "UTC",
    "Asia/Kolkata",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "America/Santiago",
    "America/Havana",
    "Australia/Lord_Howe",
]
MINUTE = timedelta(minutes=1)
DAYS = "SUN MON TUE WED THU FRI SAT".split()
MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()


def changes_in(zone_name: str, year: int) -> list[datetime]:
    """The instants (UTC, to the minute) when the zone's offset changes during ``year``."""
    zone = ZoneInfo(zone_name)
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    while moment.year == year:
        following = moment + timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            before = moment
            while before.astimezone(zone).utcoffset() == (before + MINUTE).astimezone(zone).utcoffset():
                before += MINUTE
            found.append(before + MINUTE)
        moment = following
    return found


CHANGES = {name: changes_in(name, 2026) for name in ZONES}


# Fields: each drawn with the set of values it allows, so the scan does not parse cron.


@dataclass(frozen=True)
class Field:
    text: str
    values: frozenset[int | str]
    """Numbers, and for days the special values: "L", "LW", ("last", weekday), (n, weekday)."""


def numbers(low: int, high: int, names: list[str] | None = None) -> st.SearchStrategy[Field]:
    def name(value: int) -> str:
        return names[value - low] if names and value - low < len(names) else str(value)

    value = st.integers(low, high)
    span = st.tuples(value, value).map(sorted)
    step = st.integers(2, max(2, (high - low) // 2))
    return st.one_of(
        st.just(Field("*", frozenset(range(low, high + 1)))),
        step.map(lambda k: Field(f"*/{k}", frozenset(range(low, high + 1, k)))),
        value.map(lambda v: Field(name(v), frozenset({v}))),
        span.map(lambda s: Field(f"{name(s[0])}-{name(s[1])}", frozenset(range(s[0], s[1] + 1)))),
        st.tuples(span, step).map(lambda s: Field(f"{s[0][0]}-{s[0][1]}/{s[1]}", frozenset(range(s[0][0], s[0][1] + 1, s[1])))),
        st.lists(value, min_size=2, max_size=4, unique=True).map(lambda vs: Field(",".join(map(name, vs)), frozenset(vs))),
    )


minutes = numbers(0, 59)
hours = numbers(0, 23)
days_of_month = numbers(1, 31) | st.sampled_from([Field("L", frozenset({"L"})), Field("LW", frozenset({"LW"}))])
months = numbers(1, 12, MONTHS)
weekday = st.integers(0, 6)
days_of_week = st.one_of(
    numbers(0, 6, DAYS),
    st.just(Field("7", frozenset({0}))),
    weekday.map(lambda d: Field(f"{d}L" if d else "7L", frozenset({("last", d)}))),
    st.tuples(weekday, st.integers(1, 5)).map(lambda p: Field(f"{DAYS[p[0]]}#{p[1]}", frozenset({(p[1], p[0])}))),
)


@dataclass(frozen=True)
class Expression:
    minute: Field
    hour: Field
    day: Field
    month: Field
    weekday: Field

    @property
    def text(self) -> str:
        return " ".join(f.text for f in (self.minute, self.hour, self.day, self.month, self.weekday))

    @property
    def wall_clock(self) -> bool:
        return not self.minute.text.startswith("*") and not self.hour.text.startswith("*")

    def matches(self, local: datetime) -> bool:
        """Whether the wall-clock minute ``local`` (naive) fits every field."""
        return (
            local.minute in self.minute.values
            and local.hour in self.hour.values
            and local.month in self.month.values
            and self.matches_day(local.date())
        )

    def matches_day(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        cron_weekday = (day.weekday() + 1) % 7
        last_weekday = max(d for d in range(last - 2, last + 1) if date(day.year, day.month, d).weekday() < 5)
        by_day = (
            day.day in self.day.values
            or ("L" in self.day.values and day.day == last)
            or ("LW" in self.day.values and day.day == last_weekday)
        )
        by_weekday = (
            cron_weekday in self.weekday.values
            or (("last", cron_weekday) in self.weekday.values and day.day + 7 > last)
            or (((day.day + 6) // 7, cron_weekday) in self.weekday.values)
        )
        if self.day.text.startswith("*") or self.weekday.text.startswith("*"):
            return by_day and by_weekday
        return by_day or by_weekday


EVERY = (Field("*", frozenset(range(60))), Field("*", frozenset(range(24))), Field("*", frozenset(range(1, 32))), Field("*", frozenset(range(1, 13))), Field("*", frozenset(range(7))))
expressions = st.builds(Expression, minutes, hours, days_of_month, months, days_of_week)
daily = st.builds(Expression, minutes, hours, *map(st.just, EVERY[2:]))
"""Every day, so that windows of a day or two hold slots."""


def parsed(expression: Expression, zone: str) -> CronSchedule:
    try:
        return parse_schedule(expression.text, zone)
    except CronError:
        assume(False)  # e.g. "0 0 31 FEB *": never fires, refused by design
        raise


# The scan


def is_real(local: datetime, zone: ZoneInfo) -> bool:
    aware = local.replace(tzinfo=zone, fold=0)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local


def scanned(expression: Expression, zone_name: str, after: datetime, until: datetime) -> list[datetime]:
    """The slots in ``(after, until]`` by looking at every minute."""
    zone = ZoneInfo(zone_name)
    found: set[datetime] = set()
    if expression.wall_clock:
        local = (after - timedelta(hours=16)).replace(second=0, microsecond=0, tzinfo=None)
        end = (until + timedelta(hours=16)).replace(tzinfo=None)
        while local <= end:
            if expression.matches(local):
                fired = local
                while not is_real(fired, zone):  # in a gap: the first minute after it
                    fired += MINUTE
                found.add(fired.replace(tzinfo=zone, fold=0).astimezone(UTC))
            local += MINUTE
    else:
        moment = after.astimezone(UTC).replace(second=0, microsecond=0)
        while moment <= until:
            if expression.matches(moment.astimezone(zone).replace(tzinfo=None)):
                found.add(moment)
            moment += MINUTE
    return sorted(slot for slot in found if after < slot <= until)


# Windows near the clock changes


@st.composite
def windows(draw: st.DrawFn, longest: timedelta = timedelta(hours=30)) -> tuple[str, datetime, datetime]:
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(CHANGES[zone] or [datetime(2026, 3, 29, 1, tzinfo=UTC)]))
    after = anchor + timedelta(minutes=draw(st.integers(-26 * 60, 2 * 60)))
    after = after.replace(second=draw(st.sampled_from([0, 0, 30, 59])), microsecond=draw(st.sampled_from([0, 0, 500_000])))
    length = timedelta(seconds=draw(st.integers(1, int(longest.total_seconds()))))
    return zone, after, after + length


def in_zone(moment: datetime, offset_minutes: int) -> datetime:
    """The same instant, written in a fixed offset (callers may pass any aware datetime)."""
    return moment.astimezone(timezone(timedelta(minutes=offset_minutes)))


offsets = st.sampled_from([0, 60, -300, 330, 840])


@given(expression=expressions, window=windows(), offset=offsets)
@example(  # an hourly schedule on the night Santiago skips from 00:00 to 01:00
    expression=Expression(Field("0", frozenset({0})), *EVERY[1:]),
    window=("America/Santiago", datetime(2026, 9, 6, 2, tzinfo=UTC), datetime(2026, 9, 6, 7, tzinfo=UTC)),
    offset=0,
)
@example(  # was every other minute: cronsim reads "0-0/2" as "0/2", from 0 to 59
    expression=Expression(Field("0-0/2", frozenset({0})), *EVERY[1:]),
    window=("UTC", datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 3, 29, 1, 2, tzinfo=UTC)),
    offset=0,
)
@example(  # was no slot: Lord Howe's 02:00-02:29 after its clock goes back half an hour were skipped
    expression=Expression(EVERY[0], Field("*/2", frozenset(range(0, 24, 2))), *EVERY[2:]),
    window=("Australia/Lord_Howe", datetime(2026, 4, 4, 15, tzinfo=UTC), datetime(2026, 4, 4, 15, 30, tzinfo=UTC)),
    offset=0,
)
def test_slots_between_are_the_minutes_that_match(expression, window, offset):
    zone, after, until = window
    schedule = parsed(expression, zone)

    slots = slots_between(schedule, in_zone(after, offset), in_zone(until, offset), limit=10_000)

    assert slots == scanned(expression, zone, after, until)
    assert all(slot.tzinfo is UTC for slot in slots)


@given(expression=daily, window=windows(timedelta(hours=50)), offset=offsets)
def test_slots_of_daily_schedules_are_the_minutes_that_match(expression, window, offset):
    zone, after, until = window
    schedule = parsed(expression, zone)

    assert slots_between(schedule, in_zone(after, offset), until, limit=10_000) == scanned(expression, zone, after, until)


@given(expression=daily, window=windows(), count=st.integers(1, 4))
def test_next_slots_are_increasing_after_the_instant_and_skip_no_match(expression, window, count):
    zone, after, until = window
    schedule = parsed(expression, zone)

    slots = next_slots(schedule, after, count)

    assert len(slots) == count
    assert all(earlier < later for earlier, later in zip([after, *slots], slots))
    expected = scanned(expression, zone, after, until)
    assert [slot for slot in slots if slot <= until] == expected[:count]


@given(expression=daily, window=windows(), cut=st.floats(0, 1), limit=st.integers(1, 5))
def test_a_window_split_in_two_holds_the_same_slots(expression, window, cut, limit):
    zone, after, until = window
    schedule = parsed(expression, zone)
    middle = after + (until - after) * cut

    whole = slots_between(schedule, after, until, limit=10_000)

    assert slots_between(schedule, after, middle, limit=10_000) + slots_between(schedule, middle, until, limit=10_000) == whole
    assert slots_between(schedule, after, until, limit=limit) == whole[-limit:]


@given(
    expression=daily,
    window=windows(),
    policy=st.sampled_from(MissedSlots),
    grace=st.integers(0, 120).map(lambda m: timedelta(minutes=m)),
)
def test_due_slots_is_the_latest_slot_passed_within_the_policy(expression, window, policy, grace):
    zone, since, now = window
    schedule = parsed(expression, zone)
    passed = slots_between(schedule, since, now, limit=10_000)

    due = due_slots(schedule, None, since, now, policy, grace)

    if not passed or (policy is MissedSlots.SKIP and now - passed[-1] > grace):
        assert due == []
    else:
        assert due == passed[-1:]
        assert due_slots(schedule, due[0], since, now, policy, grace) == []


@given(
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    first=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)),
)
def test_a_time_of_day_fires_once_on_every_local_day(zone, hour, minute, first):
    schedule = parse_schedule(f"{minute} {hour} * * *", zone)
    local = ZoneInfo(zone)
    start = datetime.combine(first, datetime.min.time(), tzinfo=local)

    slots = slots_between(schedule, start - timedelta(days=1), start + timedelta(days=4))
    days = [slot.astimezone(local).date() for slot in slots]

    assert first + timedelta(days=1) in days  # no valid local day is skipped...
    assert len(days) == len(set(days))  # ...nor fired twice
    for slot in slots:
        wall = slot.astimezone(local).replace(tzinfo=None)
        asked = wall.replace(hour=hour, minute=minute)
        if wall != asked:  # moved only when the time does not exist that day, to the end of the gap
            assert not is_real(asked, local) and asked < wall and not is_real(wall - MINUTE, local)


@given(zone=st.sampled_from(ZONES), window=windows(timedelta(hours=12)))
def test_aliases_fire_like_their_fields(zone, window):
    _, after, until = window
    for alias, fields in ALIASES.items():
        assert slots_between(parse_schedule(alias, zone), after, until) == slots_between(parse_schedule(fields, zone), after, until)


@pytest.mark.parametrize("zone", ZONES)
def test_every_zone_has_the_clock_changes_the_windows_are_drawn_around(zone):
    assert len(CHANGES[zone]) == {"UTC": 0, "Asia/Kolkata": 0}.get(zone, 2)
