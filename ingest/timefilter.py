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

from datetime import datetime, timedelta
from typing import Any

from contract.times import EPOCH, TEXT_FORMATS, parse_time, shown


def record_time(value: Any, fmt: str, zone: str | None = None, *, strict: bool = True) -> datetime | None:
    """`value` in the declared format as an aware UTC datetime; None if it cannot be placed."""
    if strict and (isinstance(value, (bool, dict, list))
                   or (fmt in TEXT_FORMATS and isinstance(value, (int, float)))):
        raise TypeError(f"a {fmt} time cannot be {type(value).__name__} {shown(value)[:40]}")
    return parse_time(value, fmt, zone).ts


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
