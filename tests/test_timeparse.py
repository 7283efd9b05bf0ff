from datetime import datetime, timezone

import pytest

from incident_timeline.normalize.timeparse import parse_times

UTC = timezone.utc


def test_offsets_are_honoured():
    parsed = parse_times(["2026-10-14T10:02:11-04:00", "2026-10-14T16:09:58.000+0200",
                          "2017-05-24T14:24:20.844Z"], "iso8601")
    assert parsed.ts.to_pylist() == [datetime(2026, 10, 14, 14, 2, 11, tzinfo=UTC),
                                     datetime(2026, 10, 14, 14, 9, 58, tzinfo=UTC),
                                     datetime(2017, 5, 24, 14, 24, 20, 844000, tzinfo=UTC)]
    assert parsed.errors == [None, None, None]
    assert parsed.assumed_tz == [None, None, None]


def test_slack_ts_is_exact_to_the_microsecond():
    parsed = parse_times(["1700000000.123457", "1700000000.000001"], "slack_ts")
    assert [t.microsecond for t in parsed.ts.to_pylist()] == [123457, 1]


def test_naive_time_uses_the_declared_zone_and_says_so():
    parsed = parse_times(["2016-01-19 04:52:04"], "naive", "America/New_York")
    assert parsed.ts.to_pylist() == [datetime(2016, 1, 19, 9, 52, 4, tzinfo=UTC)]
    assert parsed.assumed_tz == ["America/New_York"]


@pytest.mark.parametrize("value, reason", [
    ("yesterday-ish", "unparseable"),
    (None, "missing"),
    ("2026-10-14T10:02:11", "no zone"),
])
def test_bad_values_come_back_as_errors_not_as_now(value, reason):
    parsed = parse_times([value], "iso8601", None)
    assert parsed.ts.to_pylist() == [None]
    assert reason in parsed.errors[0]


def test_dst_gap_and_overlap_follow_the_documented_rule():
    parsed = parse_times(["2026-03-08 02:30:00", "2026-11-01 01:30:00"], "naive", "America/New_York")
    gap, overlap = parsed.ts.to_pylist()
    assert gap == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)        # moved forward: 03:30 EDT
    assert overlap == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)   # the earlier instant: EDT
    assert "DST gap" in parsed.warnings[0][0]
    assert "ambiguous" in parsed.warnings[1][0]


def test_clock_offset_is_corrected_and_recorded():
    parsed = parse_times(["1700000000"], "epoch_s", clock_offset_s=90)
    # 1700000000 is 22:13:20 UTC; the clock ran 90 s ahead
    assert parsed.ts.to_pylist() == [datetime(2023, 11, 14, 22, 11, 50, tzinfo=UTC)]
    assert parsed.warnings == [["clock offset +90s corrected"]]
