from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from hypothesis import given, settings
from hypothesis import strategies as st

from mcgraph.domain.cron import (
    CronError,
    CronSchedule,
    MissedSlots,
    describe,
    due_slots,
    next_slots,
    parse_schedule,
    slots_between,
)

BERLIN = "Europe/Berlin"  # 2026: CET -> CEST on 03-29 at 02:00, CEST -> CET on 10-25 at 03:00
NEW_YORK = "America/New_York"  # 2026: EST -> EDT on 03-08 at 02:00, EDT -> EST on 11-01 at 02:00
TOKYO = "Asia/Tokyo"  # JST, UTC+9 all year


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- parsing and normalising ---


def test_parse_normalises_whitespace_names_and_zone():
    schedule = parse_schedule("  0  8 * *  mon ", " Europe/Berlin ")

    assert schedule == CronSchedule("0 8 * * MON", BERLIN)


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
        ("@first-business-day 9:00", "@first-business-day 09:00"),
        ("@First-Business-Day  17:45", "@first-business-day 17:45"),
    ],
)
def test_aliases_are_normalised(alias, expected):
    assert parse_schedule(alias, "UTC").expression == expected


def test_supported_special_syntax():
    # cronsim's L, LW, nL and # forms, each checked on a month of 2026 (in UTC).
    def first(expression: str, after: datetime) -> datetime:
        return next_slots(parse_schedule(expression, "UTC"), after, 1)[0]

    assert first("0 0 L * *", utc(2026, 2, 1)) == utc(2026, 2, 28)  # last day of February
    assert first("0 0 LW * *", utc(2026, 10, 1)) == utc(2026, 10, 30)  # the 31st is a Saturday
    assert first("0 0 * * 5L", utc(2026, 3, 1)) == utc(2026, 3, 27)  # last Friday of March
    assert first("0 0 * * MON#2", utc(2026, 3, 1)) == utc(2026, 3, 9)  # second Monday of March
    # Both day fields restricted: a day matches when either does (13th or Friday).
    after_friday = utc(2026, 3, 7)  # a Saturday
    assert next_slots(parse_schedule("0 0 13 * FRI", "UTC"), after_friday, 2) == [utc(2026, 3, 13), utc(2026, 3, 20)]


# --- errors ---


@pytest.mark.parametrize(
    ("expression", "field", "allowed"),
    [
        ("61 * * * *", "bad minute '61'", "0-59"),
        ("0 24 * * *", "bad hour '24'", "0-23"),
        ("0 0 0 * *", "bad day-of-month '0'", "1-31"),
        ("0 0 * 13 *", "bad month '13'", "JAN-DEC"),
        ("0 0 * * 8", "bad day-of-week '8'", "SUN-SAT"),
        ("0 0 * * FRIL", "bad day-of-week 'FRIL'", "5L (the last Friday)"),
        ("0 0 * * MON#6", "bad day-of-week 'MON#6'", "MON#2"),
        ("*/0 * * * *", "bad minute '*/0'", "steps (*/10)"),
        ("0 9-5 * * *", "bad hour '9-5'", "0-23"),
    ],
)
def test_bad_field_names_the_field_and_how_to_write_it(expression, field, allowed):
    with pytest.raises(CronError) as error:
        parse_schedule(expression, "UTC")

    message = str(error.value)
    assert field in message
    assert allowed in message
    assert f"in '{expression}'" in message


def test_question_mark_is_explained():
    with pytest.raises(CronError, match=r"write \* instead of \?"):
        parse_schedule("0 9 ? * MON", "UTC")


def test_w_day_of_month_points_to_the_business_day_alias():
    # cronsim has no W other than LW.
    with pytest.raises(CronError, match="bad day-of-month '1W'.*'@first-business-day HH:MM'"):
        parse_schedule("0 9 1W * *", "UTC")


@pytest.mark.parametrize(("expression", "count"), [("0 8 * * MON 2026", 6), ("0 0 8 * * MON 2026", 7), ("0 8 *", 3)])
def test_wrong_number_of_fields(expression, count):
    with pytest.raises(CronError) as error:
        parse_schedule(expression, "UTC")

    message = str(error.value)
    assert f"'{expression}' has {count} fields" in message
    assert "a cron schedule has five fields, minute hour day-of-month month day-of-week" in message


def test_extra_fields_say_seconds_and_years_are_not_supported():
    with pytest.raises(CronError, match="neither a seconds nor a year field is supported"):
        parse_schedule("0 0 8 * * MON", "UTC")


@pytest.mark.parametrize("expression", ["", "   ", "\n"])
def test_empty_expression(expression):
    with pytest.raises(CronError, match="the schedule is empty; write five fields"):
        parse_schedule(expression, "UTC")


@pytest.mark.parametrize("expression", ["@reboot", "@annually", "@daily 08:00"])
def test_unknown_alias(expression):
    with pytest.raises(CronError, match=f"unknown schedule '{expression}'; the aliases are @hourly, @daily"):
        parse_schedule(expression, "UTC")


@pytest.mark.parametrize("expression", ["@first-business-day", "@first-business-day 24:00", "@first-business-day 9am"])
def test_bad_business_day_time(expression):
    with pytest.raises(CronError, match="needs a time from 00:00 to 23:59, e.g. '@first-business-day 09:00'"):
        parse_schedule(expression, "UTC")


@pytest.mark.parametrize("timezone", ["Europe/Berlln", "", "CEST", "../etc/passwd", "/etc/localtime", "Europe"])
def test_unknown_time_zone(timezone):
    with pytest.raises(CronError, match=r"unknown time zone .*; use an IANA name such as 'Europe/Berlin'"):
        parse_schedule("0 8 * * *", timezone)


def test_unknown_time_zone_in_the_wrong_case_suggests_the_right_one():
    with pytest.raises(CronError, match="did you mean 'Europe/Berlin'"):
        parse_schedule("0 8 * * *", "europe/berlin")


@pytest.mark.parametrize("expression", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "* * */20 * 1L"])
def test_expression_that_never_fires(expression):
    with pytest.raises(CronError, match="never fires"):
        parse_schedule(expression, "UTC")


def test_cron_error_is_a_value_error():
    assert issubclass(CronError, ValueError)


def test_schedule_made_without_parsing_is_still_checked():
    assert next_slots(CronSchedule("@daily", "UTC"), utc(2026, 1, 1), 1) == [utc(2026, 1, 2)]
    with pytest.raises(CronError, match="bad minute"):
        next_slots(CronSchedule("99 * * * *", "UTC"), utc(2026, 1, 1), 1)


# --- next_slots and slots_between ---


def test_next_slots_count_order_and_utc():
    schedule = parse_schedule("0,30 9 * * *", TOKYO)  # 09:00 JST = 00:00 UTC

    slots = next_slots(schedule, utc(2026, 5, 1, 0, 0), 4)

    # Strictly after: 00:00 UTC on May 1 is itself a slot and is left out.
    assert slots == [utc(2026, 5, 1, 0, 30), utc(2026, 5, 2, 0, 0), utc(2026, 5, 2, 0, 30), utc(2026, 5, 3, 0, 0)]
    assert all(slot.tzinfo is UTC for slot in slots)
    assert next_slots(schedule, utc(2026, 5, 1), 0) == []


def test_next_slots_accepts_any_aware_datetime():
    schedule = parse_schedule("0 8 * * *", BERLIN)
    local_after = datetime(2026, 6, 1, 9, 0, tzinfo=ZoneInfo(BERLIN))  # 07:00 UTC

    assert next_slots(schedule, local_after, 1) == [utc(2026, 6, 2, 6, 0)]


def test_slots_between_is_open_closed_and_keeps_the_latest_when_cut():
    schedule = parse_schedule("*/15 * * * *", "UTC")

    everything = slots_between(schedule, utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 12, 0))
    latest = slots_between(schedule, utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 12, 0), limit=3)

    assert len(everything) == 48
    assert everything[0] == utc(2026, 1, 1, 0, 15)
    assert everything[-1] == utc(2026, 1, 1, 12, 0)
    assert latest == [utc(2026, 1, 1, 11, 30), utc(2026, 1, 1, 11, 45), utc(2026, 1, 1, 12, 0)]
    assert slots_between(schedule, utc(2026, 1, 1, 12, 0), utc(2026, 1, 1, 12, 0)) == []
    assert slots_between(schedule, utc(2026, 1, 1, 12, 0), utc(2026, 1, 1, 0, 0)) == []
    assert slots_between(schedule, utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 12, 0), limit=0) == []


def test_slots_between_a_long_range_of_a_dense_schedule():
    # A year of minutes: only the last few are wanted, and the answer is quick.
    schedule = parse_schedule("* * * * *", "UTC")

    assert slots_between(schedule, utc(2025, 1, 1), utc(2026, 1, 1), limit=2) == [
        utc(2025, 12, 31, 23, 59),
        utc(2026, 1, 1, 0, 0),
    ]


def test_slots_between_a_sparse_schedule_looks_back_far_enough():
    schedule = parse_schedule("@yearly", "UTC")

    assert slots_between(schedule, utc(2020, 6, 1), utc(2026, 6, 1), limit=2) == [utc(2025, 1, 1), utc(2026, 1, 1)]


def test_negative_count_or_limit():
    schedule = parse_schedule("@daily", "UTC")
    with pytest.raises(ValueError, match="count must be 0 or more"):
        next_slots(schedule, utc(2026, 1, 1), -1)
    with pytest.raises(ValueError, match="limit must be 0 or more"):
        slots_between(schedule, utc(2026, 1, 1), utc(2026, 2, 1), limit=-1)


def test_naive_datetimes_are_rejected():
    schedule = parse_schedule("@daily", "UTC")
    naive = datetime(2026, 1, 1)
    aware = utc(2026, 1, 1)

    with pytest.raises(ValueError, match="after must be timezone-aware"):
        next_slots(schedule, naive, 1)
    with pytest.raises(ValueError, match="until must be timezone-aware"):
        slots_between(schedule, aware, naive)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        due_slots(schedule, None, aware, naive, MissedSlots.RUN_ONCE)
    with pytest.raises(ValueError, match="last_slot must be timezone-aware"):
        due_slots(schedule, naive, aware, aware, MissedSlots.RUN_ONCE)


# --- daylight saving time ---


def test_weekly_monday_0800_berlin_across_the_spring_change():
    schedule = parse_schedule("0 8 * * MON", BERLIN)

    assert next_slots(schedule, utc(2026, 3, 15), 3) == [
        utc(2026, 3, 16, 7, 0),  # 08:00 CET
        utc(2026, 3, 23, 7, 0),  # 08:00 CET
        utc(2026, 3, 30, 6, 0),  # 08:00 CEST, the day after the change
    ]


def test_weekly_monday_0800_berlin_across_the_autumn_change():
    schedule = parse_schedule("0 8 * * MON", BERLIN)

    assert next_slots(schedule, utc(2026, 10, 18), 2) == [utc(2026, 10, 19, 6, 0), utc(2026, 10, 26, 7, 0)]


@pytest.mark.parametrize(
    ("timezone", "after", "expected"),
    [
        # Berlin: 08:00 CET = 07:00 UTC; 08:00 CEST = 06:00 UTC.
        (BERLIN, utc(2026, 3, 28), [utc(2026, 3, 28, 7), utc(2026, 3, 29, 6), utc(2026, 3, 30, 6)]),
        (BERLIN, utc(2026, 10, 24), [utc(2026, 10, 24, 6), utc(2026, 10, 25, 7), utc(2026, 10, 26, 7)]),
        # New York: 08:00 EST = 13:00 UTC; 08:00 EDT = 12:00 UTC.
        (NEW_YORK, utc(2026, 3, 7), [utc(2026, 3, 7, 13), utc(2026, 3, 8, 12), utc(2026, 3, 9, 12)]),
        (NEW_YORK, utc(2026, 10, 31), [utc(2026, 10, 31, 12), utc(2026, 11, 1, 13), utc(2026, 11, 2, 13)]),
        # Tokyo has no DST: 08:00 JST is 23:00 UTC the day before, all year.
        (TOKYO, utc(2026, 3, 28), [utc(2026, 3, 28, 23), utc(2026, 3, 29, 23), utc(2026, 3, 30, 23)]),
        (TOKYO, utc(2026, 10, 31), [utc(2026, 10, 31, 23), utc(2026, 11, 1, 23), utc(2026, 11, 2, 23)]),
    ],
)
def test_daily_0800_stays_at_0800_local(timezone, after, expected):
    assert next_slots(parse_schedule("0 8 * * *", timezone), after, 3) == expected


@pytest.mark.parametrize(
    ("timezone", "expression", "after", "expected"),
    [
        # 02:30 does not exist on 2026-03-29 in Berlin: it fires at 03:00 CEST.
        (
            BERLIN,
            "30 2 * * *",
            utc(2026, 3, 28),
            [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)],
        ),
        # 02:30 does not exist on 2026-03-08 in New York: it fires at 03:00 EDT.
        (
            NEW_YORK,
            "30 2 * * *",
            utc(2026, 3, 7),
            [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)],
        ),
        # Two times in the gap fire once, at 03:00 CEST.
        (
            BERLIN,
            "0,30 2 * * *",
            utc(2026, 3, 29),
            [utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 0)],
        ),
        # Tokyo: 02:30 JST on 2026-03-29 exists as usual.
        (
            TOKYO,
            "30 2 * * *",
            utc(2026, 3, 28),
            [utc(2026, 3, 28, 17, 30), utc(2026, 3, 29, 17, 30), utc(2026, 3, 30, 17, 30)],
        ),
    ],
)
def test_a_time_that_does_not_exist_fires_after_the_gap(timezone, expression, after, expected):
    assert next_slots(parse_schedule(expression, timezone), after, len(expected)) == expected


@pytest.mark.parametrize(
    ("timezone", "expression", "after", "expected"),
    [
        # 02:30 happens twice on 2026-10-25 in Berlin (CEST, then CET): it fires once, at 02:30 CEST.
        (
            BERLIN,
            "30 2 * * *",
            utc(2026, 10, 24),
            [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        ),
        # 01:30 happens twice on 2026-11-01 in New York (EDT, then EST): once, at 01:30 EDT.
        (
            NEW_YORK,
            "30 1 * * *",
            utc(2026, 10, 31),
            [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        ),
        # 02:30 on 2026-11-01 in New York exists only once, in EST.
        (
            NEW_YORK,
            "30 2 * * *",
            utc(2026, 10, 31),
            [utc(2026, 10, 31, 6, 30), utc(2026, 11, 1, 7, 30), utc(2026, 11, 2, 7, 30)],
        ),
        # Tokyo: 02:30 JST on 2026-10-25 happens once as usual.
        (
            TOKYO,
            "30 2 * * *",
            utc(2026, 10, 24),
            [utc(2026, 10, 24, 17, 30), utc(2026, 10, 25, 17, 30), utc(2026, 10, 26, 17, 30)],
        ),
    ],
)
def test_a_time_that_exists_twice_fires_once(timezone, expression, after, expected):
    assert next_slots(parse_schedule(expression, timezone), after, len(expected)) == expected


def test_starting_inside_the_repeated_hour_does_not_go_back():
    schedule = parse_schedule("30 2 * * *", BERLIN)
    second_pass = utc(2026, 10, 25, 1, 0)  # 02:00 CET, after 02:30 CEST fired at 00:30 UTC

    assert next_slots(schedule, second_pass, 1) == [utc(2026, 10, 26, 1, 30)]
    assert slots_between(schedule, utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 3, 0)) == [utc(2026, 10, 25, 0, 30)]


def test_hourly_follows_elapsed_time_across_both_changes():
    schedule = parse_schedule("@hourly", BERLIN)

    # Spring: 01:00 CET, then 03:00 CEST (02:00 does not exist); one slot per real hour.
    assert slots_between(schedule, utc(2026, 3, 28, 23, 30), utc(2026, 3, 29, 2, 30)) == [
        utc(2026, 3, 29, 0, 0),
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 29, 2, 0),
    ]
    # Autumn: 02:00 CEST and 02:00 CET both fire; still one slot per real hour.
    assert slots_between(schedule, utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 2, 30)) == [
        utc(2026, 10, 25, 0, 0),
        utc(2026, 10, 25, 1, 0),
        utc(2026, 10, 25, 2, 0),
    ]


CHANGES = [
    utc(2026, 3, 29, 1),  # Berlin, spring
    utc(2026, 10, 25, 1),  # Berlin, autumn
    utc(2026, 3, 8, 7),  # New York, spring
    utc(2026, 11, 1, 6),  # New York, autumn
]


@settings(database=None, deadline=None, max_examples=150)
@given(
    expression=st.sampled_from(
        ["30 2 * * *", "0,30 1-3 * * *", "45 1 * * *", "*/20 * * * *", "@hourly", "* 2 * * *", "0 */2 * * *"]
        + ["@first-business-day 02:30"]
    ),
    timezone=st.sampled_from([BERLIN, NEW_YORK, TOKYO]),
    change=st.sampled_from(CHANGES),
    offset=st.integers(min_value=-4 * 3600, max_value=4 * 3600),
)
def test_slots_near_a_change_are_increasing_and_agree_across_functions(expression, timezone, change, offset):
    schedule = parse_schedule(expression, timezone)
    after = change + timedelta(seconds=offset)

    slots = next_slots(schedule, after, 5)

    assert all(earlier < later for earlier, later in zip([after, *slots], slots))
    assert slots_between(schedule, after, slots[-1]) == slots
    assert slots_between(schedule, after, slots[-1], limit=2) == slots[-2:]
    now = slots[3] + (slots[4] - slots[3]) / 2
    assert due_slots(schedule, after, after, now, MissedSlots.RUN_ONCE) == [slots[3]]
    assert due_slots(schedule, slots[3], after, now, MissedSlots.RUN_ONCE) == []


# --- first business day of the month ---


def test_first_business_day_over_a_year():
    # 2026: Feb 1, Mar 1 and Nov 1 are Sundays, Aug 1 is a Saturday.
    # 09:00 in New York is 14:00 UTC in EST (to 03-08, from 11-01) and 13:00 UTC in EDT.
    schedule = parse_schedule("@first-business-day 09:00", NEW_YORK)
    expected = [
        utc(2026, 1, 1, 14),  # Thursday
        utc(2026, 2, 2, 14),  # Monday; the 1st is a Sunday
        utc(2026, 3, 2, 14),  # Monday; the 1st is a Sunday
        utc(2026, 4, 1, 13),  # Wednesday
        utc(2026, 5, 1, 13),  # Friday
        utc(2026, 6, 1, 13),  # Monday
        utc(2026, 7, 1, 13),  # Wednesday
        utc(2026, 8, 3, 13),  # Monday; the 1st is a Saturday
        utc(2026, 9, 1, 13),  # Tuesday
        utc(2026, 10, 1, 13),  # Thursday
        utc(2026, 11, 2, 14),  # Monday; the 1st is a Sunday
        utc(2026, 12, 1, 14),  # Tuesday
    ]

    assert next_slots(schedule, utc(2025, 12, 31), 12) == expected
    assert slots_between(schedule, utc(2025, 12, 31), utc(2026, 12, 31)) == expected


def test_first_business_day_when_the_first_is_a_saturday_or_a_sunday_in_berlin():
    schedule = parse_schedule("@first-business-day 09:00", BERLIN)

    # 2027-05-01 is a Saturday (-> Monday the 3rd); 2027-08-01 a Sunday (-> Monday the 2nd).
    assert next_slots(schedule, utc(2027, 4, 30), 1) == [utc(2027, 5, 3, 7)]
    assert next_slots(schedule, utc(2027, 7, 31), 1) == [utc(2027, 8, 2, 7)]


# --- due_slots ---

DAILY_BERLIN = CronSchedule("0 8 * * *", BERLIN)  # in January: 07:00 UTC


@pytest.mark.parametrize("policy", list(MissedSlots))
def test_no_slot_yet(policy):
    since = utc(2026, 1, 12, 7, 30)

    assert due_slots(DAILY_BERLIN, None, since, utc(2026, 1, 13, 6, 59), policy) == []


@pytest.mark.parametrize("policy", list(MissedSlots))
def test_first_slot_after_since(policy):
    since = utc(2026, 1, 13, 7, 0)  # a slot itself, so not a candidate

    assert due_slots(DAILY_BERLIN, None, since, utc(2026, 1, 13, 7, 1), policy) == []
    assert due_slots(DAILY_BERLIN, None, since, utc(2026, 1, 14, 7, 1), policy) == [utc(2026, 1, 14, 7)]


@pytest.mark.parametrize("policy", list(MissedSlots))
def test_exactly_one_slot_due(policy):
    last = utc(2026, 1, 12, 7)

    assert due_slots(DAILY_BERLIN, last, last, utc(2026, 1, 13, 7, 0, 30), policy) == [utc(2026, 1, 13, 7)]


def test_downtime_of_three_slots_with_run_once_starts_the_latest_only():
    last = utc(2026, 1, 11, 7)  # then down through the slots of the 12th, 13th and 14th

    assert due_slots(DAILY_BERLIN, last, last, utc(2026, 1, 14, 9), MissedSlots.RUN_ONCE) == [utc(2026, 1, 14, 7)]


def test_downtime_of_three_slots_with_skip():
    last = utc(2026, 1, 11, 7)
    skip = MissedSlots.SKIP

    # The latest slot passed 2 hours ago: older than the grace, nothing runs.
    assert due_slots(DAILY_BERLIN, last, last, utc(2026, 1, 14, 9), skip) == []
    # Within the grace (and exactly at it), the latest runs.
    assert due_slots(DAILY_BERLIN, last, last, utc(2026, 1, 14, 7, 2), skip) == [utc(2026, 1, 14, 7)]
    assert due_slots(DAILY_BERLIN, last, last, utc(2026, 1, 14, 7, 5), skip) == [utc(2026, 1, 14, 7)]
    assert due_slots(DAILY_BERLIN, last, last, utc(2026, 1, 14, 7, 5, 1), skip) == []
    assert due_slots(DAILY_BERLIN, last, last, utc(2026, 1, 14, 9), skip, grace=timedelta(hours=3)) == [
        utc(2026, 1, 14, 7)
    ]


@pytest.mark.parametrize("policy", list(MissedSlots))
def test_never_returns_a_slot_at_or_before_last_slot(policy):
    last = utc(2026, 1, 14, 7)

    assert due_slots(DAILY_BERLIN, last, utc(2026, 1, 1), last, policy) == []
    assert due_slots(DAILY_BERLIN, last, utc(2026, 1, 1), utc(2026, 1, 14, 7, 1), policy) == []
    # A clock behind the last slot gives nothing either.
    assert due_slots(DAILY_BERLIN, last, utc(2026, 1, 1), utc(2026, 1, 13, 12), policy) == []


def test_negative_grace():
    with pytest.raises(ValueError, match="grace must not be negative"):
        due_slots(DAILY_BERLIN, None, utc(2026, 1, 1), utc(2026, 1, 2), MissedSlots.SKIP, grace=timedelta(minutes=-1))


def test_long_downtime_of_a_minutely_schedule():
    schedule = parse_schedule("* * * * *", "UTC")

    due = due_slots(schedule, utc(2025, 1, 1), utc(2025, 1, 1), utc(2026, 1, 1, 0, 0, 30), MissedSlots.RUN_ONCE)

    assert due == [utc(2026, 1, 1, 0, 0)]


@pytest.mark.parametrize("policy", list(MissedSlots))
def test_a_scheduler_ticking_through_the_autumn_change_starts_each_slot_once(policy):
    # A scheduler checks every 5 minutes from Oct 24 to Oct 27 and records what it starts.
    schedule = parse_schedule("30 2 * * *", BERLIN)
    since = utc(2026, 10, 24)
    last: datetime | None = None
    started = []
    now = since
    while now <= utc(2026, 10, 27):
        for slot in due_slots(schedule, last, since, now, policy):
            started.append(slot)
            last = slot
        now += timedelta(minutes=5)

    assert started == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_missed_slots_values():
    assert [policy.value for policy in MissedSlots] == ["run_once", "skip"]


# --- describe ---


@pytest.mark.parametrize(
    ("expression", "timezone", "expected"),
    [
        ("0 8 * * MON", BERLIN, "at 08:00 on Monday (Europe/Berlin)"),
        ("@hourly", "UTC", "at the start of every hour (UTC)"),
        ("30 9 * * MON-FRI", TOKYO, "at 09:30 on Monday through Friday (Asia/Tokyo)"),
        ("0 0 L * *", "UTC", "at 00:00 on the last day of every month (UTC)"),
        ("@first-business-day 09:00", NEW_YORK, "at 09:00 on the first business day of the month (America/New_York)"),
    ],
)
def test_describe(expression, timezone, expected):
    assert describe(parse_schedule(expression, timezone)) == expected


def test_describe_falls_back_to_the_expression(monkeypatch):
    def cannot_explain(self: CronSim) -> str:
        raise ValueError("no words for it")

    monkeypatch.setattr(CronSim, "explain", cannot_explain)

    assert describe(parse_schedule("0 8 * * MON", BERLIN)) == "cron '0 8 * * MON' (Europe/Berlin)"
