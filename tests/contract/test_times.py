"""The one safe time parser (contract.times): a UTC instant or a reason, never an exception,
and the same decision the normaliser's vectorised conversion makes."""
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_timeline.contract.times import EARLIEST, FORMATS, LATEST, parse_time
from incident_timeline.normalize.timeparse import parse_times

UTC = timezone.utc
ZONES = [None, "UTC", "America/New_York", "Europe/Berlin", "Pacific/Kiritimati", "Etc/GMT+12"]


@pytest.mark.parametrize("value, fmt, zone, says", [
    # overflow of Python's datetime once shifted to UTC
    ("9999-12-31T23:00:00-05:00", "iso8601", None, "outside 1900-2200"),
    ("0001-01-01T00:00:00+05:00", "iso8601", None, "outside 1900-2200"),
    ("9999-12-31 23:59:59", "naive", "America/New_York", "outside 1900-2200"),
    ("9999-12-31 23:59:59", "iso8601", "Etc/GMT+12", "outside 1900-2200"),
    ("Fri, 31 Dec 9999 23:00:00 -0500", "rfc2822", None, "outside 1900-2200"),
    # epoch milliseconds in an epoch_s source; a year that is real data but not an incident
    ("1791987270000", "epoch_s", None, "is the declared unit or format right?"),
    (1791987270000, "epoch_s", None, "outside 1900-2200"),
    ("1800-01-01T00:00:00Z", "iso8601", None, "outside 1900-2200"),
    ("2200-01-01T00:00:00Z", "iso8601", None, "outside 1900-2200"),
    # offsets no clock has
    ("2026-10-14T10:00:00+25:00", "iso8601", None, "offset of 24 hours or more"),
    ("2026-10-14T10:00:00+24:00", "iso8601", None, "offset of 24 hours or more"),
    ("Wed, 14 Oct 2026 10:02:11 +2500", "rfc2822", None, "offset of 24 hours or more"),
    # bare numbers dateutil would read as a day of the current month
    ("-1", "iso8601", "UTC", "bare number"),
    ("-7", "naive", "Europe/Berlin", "bare number"),
    ("7", "iso8601", None, "bare number"),
    ("-12", "iso8601", None, "bare number"),
    (31, "naive", "UTC", "bare number"),
    ("2026", "iso8601", "UTC", "bare number"),
    # a part of the date missing: it would come from the day of the run
    ("14 Oct", "naive", "UTC", "whole date"),
    ("10:00", "iso8601", "UTC", "whole date"),
    ("2026-10", "iso8601", "UTC", "whole date"),
    # JSON that is no time at all
    (True, "iso8601", None, "boolean"),
    ({"at": "2026-10-14T10:00:00Z"}, "iso8601", None, "object"),
    (["2026-10-14T10:00:00Z"], "epoch_s", None, "array"),
    (None, "slack_ts", None, "missing"),
    ("  ", "iso8601", None, "missing"),
    (1.5, "epoch_s", None, "not an integer epoch"),
    ("2026-10-14T10:02:11", "iso8601", None, "no zone"),
    # dateutil raises decimal.InvalidOperation on this one (it failed the normaliser too)
    ("-05:00123456789179198727000000010001", "iso8601", None, "unparseable"),
])
def test_odd_values_are_a_reason_not_an_exception(value, fmt, zone, says):
    got = parse_time(value, fmt, zone)
    assert got.ts is None
    assert says in got.reason, got.reason
    if isinstance(value, str):   # the normaliser rejects it too, with the same reason
        parsed = parse_times([value], fmt, zone)
        assert parsed.ts.to_pylist() == [None] and says in parsed.errors[0], parsed.errors


@pytest.mark.parametrize("value, fmt, zone, expected", [
    ("2026-10-14T10:02:11-04:00", "iso8601", None, datetime(2026, 10, 14, 14, 2, 11, tzinfo=UTC)),
    ("2026-10-14T16:02:11.000+0200", "iso8601", None, datetime(2026, 10, 14, 14, 2, 11, tzinfo=UTC)),
    ("2026-10-14T14:02:11.123456789Z", "iso8601", None, datetime(2026, 10, 14, 14, 2, 11, 123456, tzinfo=UTC)),
    ("2026-10-14 16:02:11", "iso8601", "Europe/Berlin", datetime(2026, 10, 14, 14, 2, 11, tzinfo=UTC)),
    ("2016-01-19 04:52:04", "naive", "America/New_York", datetime(2016, 1, 19, 9, 52, 4, tzinfo=UTC)),
    ("Wed, 14 Oct 2026 10:02:11 -0400", "rfc2822", None, datetime(2026, 10, 14, 14, 2, 11, tzinfo=UTC)),
    ("1700000000.123456", "slack_ts", None, datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)),
    (1700000000, "epoch_s", None, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ("1700000000123", "epoch_ms", None, datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)),
    ("20261014", "naive", "UTC", datetime(2026, 10, 14, tzinfo=UTC)),
    ("1900-01-01T00:00:00Z", "iso8601", None, EARLIEST),
])
def test_real_values_are_placed(value, fmt, zone, expected):
    got = parse_time(value, fmt, zone)
    assert (got.ts, got.reason) == (expected, None)


def test_dst_rule_is_the_normalisers():
    gap = parse_time("2026-03-29 02:30:00", "naive", "Europe/Berlin")
    overlap = parse_time("2026-10-25 02:30:00", "naive", "Europe/Berlin")
    assert gap.ts == datetime(2026, 3, 29, 1, 30, tzinfo=UTC) and "DST gap" in gap.warning
    assert overlap.ts == datetime(2026, 10, 25, 0, 30, tzinfo=UTC) and "earlier instant" in overlap.warning
    assert gap.assumed_tz == "Europe/Berlin"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5)

# Text that looks like a time more often than random text does: real parts, odd parts.
pieces = st.sampled_from(["", "-", "+", "T", " ", ":", ".", "Z", "z", "0", "1", "7", "9", "12", "24", "25",
                          "60", "99", "0001", "1800", "1899", "1900", "1970", "2026", "2199", "2200", "9999",
                          "-01", "-12", "-31", "+05:00", "-05:00", "+25:00", "+0530", "+14", "Oct", "Wed, ",
                          " GMT", "123456789", "1791987270", "1791987270000"])
timeish = st.lists(pieces, min_size=1, max_size=8).map("".join)


@settings(max_examples=60, deadline=None)
@given(value=json_values | timeish, fmt=st.sampled_from(FORMATS), zone=st.sampled_from(ZONES))
def test_never_raises_and_is_either_a_utc_instant_in_range_or_a_reason(value, fmt, zone):
    got = parse_time(value, fmt, zone)
    assert (got.ts is None) != (got.reason is None)
    if got.ts is not None:
        assert got.ts.utcoffset() == timedelta(0) and EARLIEST <= got.ts < LATEST
    else:
        assert got.reason.strip()


@settings(max_examples=60, deadline=None)
@given(values=st.lists(timeish, min_size=1, max_size=10), fmt=st.sampled_from(FORMATS),
       zone=st.sampled_from(ZONES))
def test_ingest_and_normalize_place_the_same_values(values, fmt, zone):
    """The window filter and the normaliser agree on what can be placed, and where."""
    parsed = parse_times(values, fmt, zone)
    for value, ts, error in zip(values, parsed.ts.to_pylist(), parsed.errors):
        got = parse_time(value, fmt, zone)
        assert (got.ts, got.reason is None) == (ts, error is None), (value, got, ts, error)


@st.composite
def written_times(draw):
    """Times as sources write them, a few past the supported range's edges. Not summers
    after 2037: there Arrow's assume_timezone reads a summer time as standard time (an hour
    off in New York, the normaliser's own gap), while zoneinfo applies the rule."""
    wall = draw(st.datetimes(min_value=datetime(1899, 12, 30), max_value=datetime(2037, 12, 31))
                | st.datetimes(min_value=datetime(2199, 12, 30), max_value=datetime(2200, 1, 2)))
    text = wall.isoformat(sep=draw(st.sampled_from(["T", " "])),
                          timespec=draw(st.sampled_from(["minutes", "seconds", "milliseconds", "microseconds"])))
    offset = draw(st.sampled_from(["", "Z", "+00:00", "-05:00", "+0530", "+14", "-1200", "+23:59"]))
    return text + offset


@settings(max_examples=60, deadline=None)
@given(values=st.lists(written_times(), min_size=1, max_size=10), fmt=st.sampled_from(["iso8601", "naive"]),
       zone=st.sampled_from(ZONES))
def test_ingest_and_normalize_agree_on_real_shapes_and_the_range_edges(values, fmt, zone):
    parsed = parse_times(values, fmt, zone)
    for value, ts, error, warnings in zip(values, parsed.ts.to_pylist(), parsed.errors, parsed.warnings):
        got = parse_time(value, fmt, zone)
        assert (got.ts, got.reason is None) == (ts, error is None), (value, got, ts, error)
        assert [got.warning] if got.warning else [] == warnings
