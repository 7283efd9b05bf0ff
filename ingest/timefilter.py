"""Reading a record's own time at ingest, only to honour [since, until) and cursors.

Normalize does the real, vectorised conversion; these per-record helpers only decide
whether a record falls inside the window being fetched. They read through the one safe
parser both stages share (`contract.times`), so a value normalize would reject (no full
date, an offset of 24 h or more, outside 1900-2200, an epoch in the wrong unit) is None
here: a time that cannot be placed, which `Window` keeps so that normalize rejects it
with its reason. A value of the wrong JSON type for its format (a number where an ISO 8601
string belongs, a boolean, an object) is not a time at all: inside a connector's guard
(`take`) it raises TypeError, which makes the record a reject naming the field; callers
outside a guard (seed windows, ordering) pass strict=False and get None.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from incident_timeline.contract.times import EARLIEST, EPOCH, LATEST, TEXT_FORMATS, UTC, parse_time, shown


# The shapes nearly every record has (`2026-10-14T10:02:11Z`, `...11.123-04:00`; Slack's
# `1790000000.123456`), placed here without parse_time's general layers: 5-8x less per
# record, the same answer (parse_time reads these very shapes with datetime.fromisoformat
# and integer arithmetic; anything else, or a value these steps refuse, goes to it).
_COMMON_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_COMMON_SLACK_TS = re.compile(r"(\d{1,12})\.(\d{6})")
_EARLIEST_S, _LATEST_S = int(EARLIEST.timestamp()), int(LATEST.timestamp())


def record_time(value: Any, fmt: str, zone: str | None = None, *, strict: bool = True) -> datetime | None:
    """`value` in the declared format as an aware UTC datetime; None if it cannot be placed."""
    if value.__class__ is str:
        common = _common_time(value, fmt)
        if common is not None:
            return common
    if strict and (isinstance(value, (bool, dict, list))
                   or (fmt in TEXT_FORMATS and isinstance(value, (int, float)))):
        raise TypeError(f"a {fmt} time cannot be {type(value).__name__} {shown(value)[:40]}")
    return parse_time(value, fmt, zone).ts


def _common_time(value: str, fmt: str) -> datetime | None:
    """`value` placed by the short route when it has a common shape, else None (ask parse_time)."""
    if fmt == "iso8601" and _COMMON_ISO.fullmatch(value):
        try:
            utc = datetime.fromisoformat(value).astimezone(UTC)
        except (ValueError, OverflowError):   # 2026-02-30, an offset of 24 h: parse_time says why
            return None
        return utc if EARLIEST <= utc < LATEST else None
    if fmt == "slack_ts":
        m = _COMMON_SLACK_TS.fullmatch(value)
        if m:
            seconds = int(m[1])
            if _EARLIEST_S <= seconds < _LATEST_S:
                return EPOCH + timedelta(seconds=seconds, microseconds=int(m[2]))
    return None


def iso_time(value: Any, *, strict: bool = True) -> datetime | None:
    """An ISO 8601 time with an offset (None if absent, naive or unplaceable)."""
    return record_time(value, "iso8601", strict=strict)


def local_time(value: Any, zone: str, fmt: str = "naive", *, strict: bool = True) -> datetime | None:
    """A time in `fmt` whose naive values are wall time in `zone` (ServiceNow, CSV notes),
    the earlier instant in a DST overlap, as normalize resolves it."""
    return record_time(value, fmt, zone, strict=strict)


def epoch_time(value: Any, *, strict: bool = True) -> datetime | None:
    """Epoch seconds, or Slack's "seconds.micros", exact to the microsecond."""
    return record_time(value, "slack_ts", strict=strict)


def to_epoch_str(dt: datetime) -> str:
    """A UTC datetime as Slack's "seconds.micros" string."""
    micros = (dt - EPOCH) // timedelta(microseconds=1)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
