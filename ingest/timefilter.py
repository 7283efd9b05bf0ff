"""Reading a record's own time at ingest, only to honour [since, until) and cursors.

Normalize does the real, vectorised conversion; these per-record helpers only decide
whether a record falls inside the window being fetched.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso_time(value: str | None) -> datetime | None:
    """An ISO 8601 time with an offset, as an aware UTC datetime (None if absent/bad)."""
    if not value:
        return None
    try:
        dt = dateutil_parser.isoparse(value)
    except (ValueError, OverflowError):
        return None
    if dt.tzinfo is None:
        return None
    return dt.astimezone(timezone.utc)


def local_time(value: str | None, zone: str) -> datetime | None:
    """A time that may be naive (ServiceNow, CSV notes): naive means wall time in `zone`,
    the earlier instant in a DST overlap, as normalize resolves it."""
    if not value:
        return None
    try:
        dt = dateutil_parser.parse(str(value))
    except (ValueError, OverflowError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(zone), fold=0)
    return dt.astimezone(timezone.utc)


def epoch_time(value: str | int | float | None) -> datetime | None:
    """Epoch seconds (Slack ts strings included), exact to the microsecond."""
    if value is None or value == "":
        return None
    secs, _, frac = str(value).partition(".")
    try:
        micros = int(secs) * 1_000_000 + int((frac + "000000")[:6])
    except ValueError:
        return None
    return EPOCH + timedelta(microseconds=micros)


def to_epoch_str(dt: datetime) -> str:
    """A UTC datetime as Slack's "seconds.micros" string."""
    micros = (dt - EPOCH) // timedelta(microseconds=1)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
