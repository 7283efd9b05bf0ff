"""Every time shape the sources write, DST in four zones, and a zoneinfo reference."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_timeline.normalize.timeparse import parse_times

UTC = timezone.utc
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"]
T = datetime(2026, 10, 14, 14, 2, 11, tzinfo=UTC)


@pytest.mark.parametrize("value, expected", [
    ("2026-10-14T14:02:11Z", T),
    ("2026-10-14T10:02:11-04:00", T),
    ("2026-10-14T16:02:11+0200", T),
    ("2026-10-14T19:32:11+05:30", T),
    ("2026-10-14T16:02:11.000+0200", T),                     # Jira
    ("2026-10-14T14:02:11.123456Z", T.replace(microsecond=123456)),
    ("2026-10-14T14:02:11.123456789Z", T.replace(microsecond=123456)),  # Alertmanager ns: truncated
    ("2026-10-14 14:02:11+00:00", T),
    ("2026-10-14T14:02:11z", T),
    ("2026-10-14T16:02:11+02", T),
])
def test_iso8601_shapes(value, expected):
    parsed = parse_times([value], "iso8601")
    assert parsed.errors == [None]
    assert parsed.ts.to_pylist() == [expected]
    assert parsed.assumed_tz == [None]


def test_one_odd_value_does_not_change_the_others():
    parsed = parse_times(["2026-10-14T14:02:11Z", "2026-02-30T10:00:00Z", "Oct 14 2026 10:02:11 -0400"],
                         "iso8601")
    assert parsed.ts.to_pylist() == [T, None, T]
    assert parsed.errors[0] is None and "2026-02-30" in parsed.errors[1] and parsed.errors[2] is None


@pytest.mark.parametrize("fmt, value", [
    ("epoch_s", "1791986531"), ("epoch_ms", "1791986531000"), ("epoch_us", "1791986531000000"),
    ("slack_ts", "1791986531.000000"), ("slack_ts", "1791986531"),
    ("rfc2822", "Wed, 14 Oct 2026 10:02:11 -0400"), ("rfc2822", "Wed, 14 Oct 2026 14:02:11 GMT"),
    ("rfc2822", "14 Oct 2026 19:32:11 +0530"),
])
def test_declared_units_and_shapes(fmt, value):
    parsed = parse_times([value], fmt)
    assert parsed.errors == [None]
    assert parsed.ts.to_pylist() == [T]


def test_the_unit_is_declared_never_guessed():
    # The same digits mean different instants under different declared units.
    as_ms = parse_times(["1791986531000"], "epoch_ms").ts[0].as_py()
    as_s = parse_times(["1791986531000"], "epoch_s")
    assert as_ms == T
    assert as_s.ts.to_pylist() == [None] and "1791986531000" in as_s.errors[0] and "unit" in as_s.errors[0]
    assert "not an integer" in parse_times(["1791986531.5"], "epoch_ms").errors[0]


@pytest.mark.parametrize("zone, wall, expected_utc, warning", [
    ("America/New_York", "2026-03-08 02:30:00", "2026-03-08 07:30:00", "DST gap"),
    ("America/New_York", "2026-11-01 01:30:00", "2026-11-01 05:30:00", "ambiguous"),
    ("Europe/Berlin", "2026-03-29 02:30:00", "2026-03-29 01:30:00", "DST gap"),
    ("Europe/Berlin", "2026-10-25 02:30:00", "2026-10-25 00:30:00", "ambiguous"),
    # Lord Howe moves by 30 minutes: 02:00 -> 02:30 in October, 02:00 -> 01:30 in April
    ("Australia/Lord_Howe", "2026-10-04 02:15:00", "2026-10-03 15:45:00", "DST gap"),
    ("Australia/Lord_Howe", "2026-04-05 01:45:00", "2026-04-04 14:45:00", "ambiguous"),
    ("Asia/Kolkata", "2026-03-08 02:30:00", "2026-03-07 21:00:00", None),
])
def test_dst_rule_in_four_zones(zone, wall, expected_utc, warning):
    parsed = parse_times([wall], "naive", zone)
    assert parsed.ts.to_pylist() == [datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)]
    assert parsed.assumed_tz == [zone]
    if warning:
        assert len(parsed.warnings[0]) == 1 and warning in parsed.warnings[0][0] and zone in parsed.warnings[0][0]
    else:
        assert parsed.warnings == [[]]


def test_naive_iso_value_in_an_iso_source_takes_the_declared_zone():
    parsed = parse_times(["2026-10-14T16:02:11", "2026-10-14T14:02:11Z"], "iso8601", "Europe/Berlin")
    assert parsed.ts.to_pylist() == [T, T]
    assert parsed.assumed_tz == ["Europe/Berlin", None]


def _reference(wall: datetime, zone: str) -> tuple[datetime, bool]:
    """zoneinfo's fold=0 reading is the documented rule; flagged when fold changes it."""
    z = ZoneInfo(zone)
    first, second = wall.replace(tzinfo=z, fold=0), wall.replace(tzinfo=z, fold=1)
    return first.astimezone(UTC), first.utcoffset() != second.utcoffset()


walls = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2037, 12, 31))


@settings(max_examples=300, deadline=None)
@given(walls=st.lists(walls, min_size=1, max_size=20), zone=st.sampled_from(ZONES))
def test_naive_matches_zoneinfo(walls, zone):
    parsed = parse_times([w.isoformat(sep=" ") for w in walls], "naive", zone)
    assert parsed.errors == [None] * len(walls)
    for wall, got, warned in zip(walls, parsed.ts.to_pylist(), parsed.warnings):
        expected, flagged = _reference(wall, zone)
        assert got == expected
        assert bool(warned) == flagged


@settings(max_examples=300, deadline=None)
@given(instant=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2037, 12, 31),
                            timezones=st.just(UTC)),
       offset_min=st.integers(-12 * 60, 14 * 60), colon=st.booleans())
def test_iso_offsets_match_the_reference(instant, offset_min, colon):
    tz = timezone(timedelta(minutes=offset_min))
    text = instant.astimezone(tz).isoformat()
    if not colon:
        text = text[:-3] + text[-2:]
    assert parse_times([text], "iso8601").ts.to_pylist() == [instant]


@settings(max_examples=300, deadline=None)
@given(micros=st.integers(0, 2**41 * 1000))
def test_epoch_and_slack_ts_are_exact(micros):
    instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    secs, frac = divmod(micros, 1_000_000)
    assert parse_times([f"{secs}.{frac:06d}"], "slack_ts").ts.to_pylist() == [instant]
    assert parse_times([str(micros)], "epoch_us").ts.to_pylist() == [instant]
    assert parse_times([str(micros // 1000)], "epoch_ms").ts.to_pylist() == [instant.replace(
        microsecond=instant.microsecond // 1000 * 1000)]
