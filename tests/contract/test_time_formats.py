"""The time formats (contract.times.FORMATS) are one fact: each one a `file` source may
declare is one the normaliser converts, and the connector's window places a value where
the normaliser does."""
import re
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_timeline.contract import times
from incident_timeline.contract.times import FORMATS, ISO_ARROW, TEXT_FORMATS
from incident_timeline.ingest.base import SourceSettings
from incident_timeline.ingest.file import FileConnector
from incident_timeline.ingest.timefilter import record_time
from incident_timeline.normalize.timeparse import parse_times

AT = datetime(2026, 10, 14, 14, 2, 11, tzinfo=timezone.utc)
SECONDS = int(AT.timestamp())
ZONE = "America/New_York"
# one value per format, all the same instant (10:02:11 in New York, EDT)
WRITTEN = {
    "iso8601": "2026-10-14T10:02:11-04:00",
    "epoch_s": str(SECONDS),
    "epoch_ms": str(SECONDS * 1000),
    "epoch_us": str(SECONDS * 1_000_000),
    "slack_ts": f"{SECONDS}.000000",
    "rfc2822": "Wed, 14 Oct 2026 10:02:11 -0400",
    "naive": "2026-10-14 10:02:11",
}


def _file_source(tmp_path, fmt: str) -> FileConnector:
    return FileConnector(SourceSettings(name="notes", type="file", base_dir=tmp_path,
                                        options={"path": "notes.jsonl", "time_format": fmt, "timezone": ZONE}))


def test_every_format_has_a_written_example():
    assert set(WRITTEN) == set(FORMATS) and set(TEXT_FORMATS) < set(FORMATS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_a_file_source_accepts_the_normaliser_places_at_the_same_instant(tmp_path, fmt):
    assert FileConnector.check_options({"time_format": fmt, "fields": {"ts": "at"}}) == []
    placed_by_ingest = _file_source(tmp_path, fmt)._time(WRITTEN[fmt])
    parsed = parse_times([WRITTEN[fmt]], fmt, ZONE)
    assert parsed.errors == [None]
    assert placed_by_ingest == parsed.ts.to_pylist()[0] == AT


def test_a_format_neither_stage_knows_is_refused_by_both():
    problems = FileConnector.check_options({"time_format": "epoch_ns", "fields": {"ts": "at"}})
    assert problems == [f"time_format must be one of {', '.join(FORMATS)}, not 'epoch_ns'"]
    with pytest.raises(ValueError, match="unknown time format 'epoch_ns'"):
        parse_times(["1"], "epoch_ns", None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_json_number_is_a_time_only_in_a_format_not_written_as_text(tmp_path, fmt):
    number = int(WRITTEN[fmt].split(".")[0]) if fmt not in TEXT_FORMATS else SECONDS
    if fmt in TEXT_FORMATS:
        with pytest.raises(TypeError, match=f"a {fmt} time cannot be int"):
            record_time(number, fmt, ZONE)
    else:
        assert record_time(number, fmt, ZONE) == AT


iso_shapes = st.builds(
    lambda wall, sep, spec, offset: wall.isoformat(sep=sep, timespec=spec) + offset,
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2199, 12, 31)),
    st.sampled_from(["T", " ", "t"]), st.sampled_from(["minutes", "seconds", "milliseconds", "microseconds"]),
    st.sampled_from(["", "Z", "z", "+00:00", "-0500", "+14", "+5:30", "UTC"]))


@settings(max_examples=200, deadline=None)
@given(text=iso_shapes)
def test_arrow_and_python_read_the_same_iso_shapes_directly_but_a_lower_case_z(text):
    python_reads = times._ISO_STRICT.fullmatch(text) is not None
    arrow_reads = re.fullmatch(ISO_ARROW, text) is not None
    assert arrow_reads == (python_reads and not text.endswith("z"))
