"""The short route `record_time` takes for the common time shapes places every value exactly
where the general parser (`contract.times.parse_time`) does, or leaves it to that parser."""
import random

from hypothesis import given, strategies as st

from incident_timeline.contract.times import parse_time
from incident_timeline.ingest.timefilter import _common_time, record_time

OFFSETS = ["Z", "+00:00", "-04:00", "+05:30", "+23:59", "+24:00", "-99:00", "+14:00", "-00:30"]


def _iso(rng: random.Random) -> str:
    year = rng.choice([1, 1899, 1900, 1950, 2026, 2199, 2200, 9999])
    text = (f"{year:04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}T"
            f"{rng.randint(0, 25):02d}:{rng.randint(0, 60):02d}:{rng.randint(0, 60):02d}")
    if rng.random() < 0.5:
        text += "." + str(rng.randint(0, 999_999)).zfill(6)[:rng.randint(1, 6)]
    return text + rng.choice(OFFSETS)


def _slack_ts(rng: random.Random) -> str:
    edge = rng.choice([0, -2_208_988_800, 7_258_118_400])   # 1970, 1900 and 2200 in epoch seconds
    seconds = abs(edge + rng.randint(-3, 3)) if edge else rng.randint(0, 10 ** 12 - 1)
    return f"{seconds}.{rng.randint(0, 999_999):06d}"


def test_common_shapes_are_placed_as_parse_time_places_them():
    rng = random.Random(5)
    values = [(_iso(rng), "iso8601") for _ in range(20_000)] + [(_slack_ts(rng), "slack_ts") for _ in range(5_000)]
    short = 0
    for value, fmt in values:
        expected = parse_time(value, fmt, "UTC").ts
        got = record_time(value, fmt, "UTC")
        assert got == expected, (value, got, expected)
        assert got is None or got.tzinfo is expected.tzinfo
        short += _common_time(value, fmt) is not None
    assert 0 < short < len(values)     # both routes were taken


@given(st.datetimes(), st.sampled_from(OFFSETS), st.integers(0, 6))
def test_any_instant_in_the_common_iso_shape(dt, offset, digits):
    text = dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{dt.microsecond:06d}"[:digits + 1] if digits else "") + offset
    assert record_time(text, "iso8601", "Europe/Berlin") == parse_time(text, "iso8601", "Europe/Berlin").ts
