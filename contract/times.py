"""One safe time parser: any value, a declared format and a zone -> a UTC instant or a reason.

Ingest's window filter and the normaliser's per-value fallback both read times through
`parse_time`, so a value is placeable (or not) the same way in both stages. It never
raises: whatever the value holds (overflow, an offset of 24 h or more, a bare number,
a JSON object), the answer is a `Placed` with either `ts` or `reason` set.

Rules every format follows:
- one supported range, [1900-01-01, 2200-01-01) UTC: a value outside it is a reject
  saying so (year 1, 1800 and 9999 are odd data or a wrong unit, never a real event);
- a text time must name its whole date (year, month and day): python-dateutil fills a
  missing part from today, so "-1" or "7" would be day 1 or 7 of the current month, a
  different instant on every day the run happens. Such a value is a reject;
- an epoch is an integer string in the declared unit (nothing is guessed from its size);
- a naive wall time takes the declared zone, with the DST rule the README documents
  (a gap moves forward by its size, an overlap takes the earlier instant).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser

UTC = timezone.utc
FORMATS = ("iso8601", "epoch_s", "epoch_ms", "epoch_us", "slack_ts", "rfc2822", "naive")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)      # exclusive
EPOCH_UNITS = {"epoch_s": 1_000_000, "epoch_ms": 1_000, "epoch_us": 1}
TEXT_FORMATS = ("iso8601", "naive", "rfc2822")   # written as text, never as a JSON number

# A value ending in an offset or Z is aware; normalize decides the same way.
HAS_ZONE = r"(Z|z|[+-]\d{2}(:?\d{2})?)$"
_HAS_ZONE = re.compile(HAS_ZONE)
NANOS = r"(\.\d{6})\d+"   # fraction digits past the 6th: dropped (truncated)
_NANOS = re.compile(NANOS)
_EPOCH_INT = re.compile(r"-?\d{1,18}")
_SLACK_TS = re.compile(r"(\d{1,12})(?:\.(\d{1,6}))?")
_BARE_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?")
# isoparse also reads "2026" and "2026-10" (a reduced date): only a whole date is a time.
_ISO_WHOLE_DATE = re.compile(r"\d{4}(-\d{2}-\d{2}|\d{4}|-?W\d{2}-?\d)(?!\d)")
# The common shapes, read exactly by datetime.fromisoformat, and (but for a lower-case z,
# which Arrow refuses) by normalize's Arrow cast; dateutil only for the rest, 50-100x slower.
ISO_WALL = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
ISO_ARROW = rf"^{ISO_WALL}(Z|[+-]\d{{2}}(:?\d{{2}})?)?$"
_ISO_STRICT = re.compile(rf"{ISO_WALL}(Z|z|[+-]\d{{2}}(:?\d{{2}})?)?")
# two defaults that differ in year, month and day: a part dateutil filled in shows up
_DEFAULTS = (datetime(2001, 1, 1), datetime(2002, 2, 2))
_SHOWN = 80   # characters of a value quoted in a reason
_RFC_OFFSET = re.compile(r"[+-](\d{2})\d{2}$")


@dataclass(frozen=True)
class Placed:
    """A value's UTC instant (`ts`), or why it has none (`reason`)."""

    ts: datetime | None = None
    reason: str | None = None
    assumed_tz: str | None = None     # the zone a naive value was read in
    warning: str | None = None        # DST gap or overlap resolved

    @property
    def ok(self) -> bool:
        return self.ts is not None


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 4] + "...'"


def range_reason(value: Any) -> str:
    return (f"{shown(value)} is outside {EARLIEST.year}-{LATEST.year}, the supported range: "
            "is the declared unit or format right?")


def parse_time(value: Any, fmt: str, zone: str | None = None) -> Placed:
    """`value` (any JSON type) written in `fmt`, as an aware UTC datetime or a reason.
    `zone` is the zone of naive values (format `naive`, or ISO values without an offset)."""
    try:
        return _parse(value, fmt, zone)
    except Exception as exc:  # noqa: BLE001 - one value, whatever it holds, never fails a run
        return Placed(reason=f"unparseable timestamp: {shown(value)} ({type(exc).__name__}: {exc})")


def _parse(value: Any, fmt: str, zone: str | None) -> Placed:
    if fmt not in FORMATS:
        return Placed(reason=f"unknown time format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if value is None:
        return Placed(reason="missing timestamp")
    if isinstance(value, bool):
        return Placed(reason=f"a boolean ({value!r}) is not a timestamp")
    if isinstance(value, (dict, list, tuple)):
        kind = "an object" if isinstance(value, dict) else "an array"
        return Placed(reason=f"{kind} ({shown(value)}) is not a timestamp")
    text = str(value).strip()   # numbers as the normaliser sees them: their str()
    if not text:
        return Placed(reason="missing timestamp")
    if fmt in EPOCH_UNITS:
        return _epoch(text, EPOCH_UNITS[fmt])
    if fmt == "slack_ts":
        return _slack_ts(text)
    if fmt == "rfc2822":
        return _placed(rfc2822_time(text), text)
    text = _NANOS.sub(r"\1", text)   # keep at most 6 fraction digits, truncated
    if fmt == "iso8601" and _HAS_ZONE.search(text):
        return _placed(aware_time(text), text)
    if not zone:
        wall = wall_time(text)
        if isinstance(wall, datetime):
            return Placed(reason=f"timestamp has no zone and the source declares none: {shown(text)}")
        return Placed(reason=wall)
    wall = wall_time(text)
    if isinstance(wall, str):
        return Placed(reason=wall)
    return place_wall(wall, zone, text)


def _epoch(text: str, micros_per_unit: int) -> Placed:
    if not _EPOCH_INT.fullmatch(text):
        return Placed(reason=f"not an integer epoch value: {shown(text)}")
    return _from_micros(int(text) * micros_per_unit, text)


def _slack_ts(text: str) -> Placed:
    m = _SLACK_TS.fullmatch(text)
    if not m:
        return Placed(reason=f"not a Slack ts (seconds.micros): {shown(text)}")
    return _from_micros(int(m[1]) * 1_000_000 + int((m[2] or "").ljust(6, "0")), text)


def _from_micros(micros: int, text: str) -> Placed:
    lo, hi = to_epoch_micros(EARLIEST), to_epoch_micros(LATEST)
    if not lo <= micros < hi:
        return Placed(reason=range_reason(text))
    return Placed(ts=EPOCH + timedelta(microseconds=micros))


def _placed(parsed: datetime | str, text: str) -> Placed:
    if isinstance(parsed, str):
        return Placed(reason=parsed)
    utc = to_utc(parsed, text)
    return Placed(reason=utc) if isinstance(utc, str) else Placed(ts=utc)


def to_utc(dt: datetime, text: Any) -> datetime | str:
    """An aware datetime in UTC, or why not: an offset of 24 h or more, or a time outside
    the supported range (checked before converting, which could overflow)."""
    try:
        offset = dt.utcoffset()
    except (ValueError, OverflowError):
        offset = None
        bad_offset = True
    else:
        bad_offset = offset is not None and abs(offset) >= timedelta(hours=24)
    if bad_offset:
        return f"unparseable timestamp: {shown(text)} has a UTC offset of 24 hours or more"
    if offset is None:
        return f"unparseable timestamp: {shown(text)} has no zone"
    if not EARLIEST.year - 1 <= dt.year <= LATEST.year:
        return range_reason(text)
    utc = dt.astimezone(UTC)
    if not EARLIEST <= utc < LATEST:
        return range_reason(text)
    return utc


def aware_time(text: str) -> datetime | str:
    """An ISO 8601 (or other dateutil-readable) time with an offset; not yet in UTC."""
    strict = _strict(text)
    if strict is not None:
        return strict
    try:
        dt = dateutil_parser.isoparse(text)
    except Exception:  # noqa: BLE001 - dateutil raises more than ValueError on odd text
        dt = None
    if dt is not None and not _ISO_WHOLE_DATE.match(text):
        return _no_whole_date(text)
    if dt is None:
        dt = _dateutil(text)
        if isinstance(dt, str):
            return dt
    if dt.tzinfo is None:
        return f"unparseable timestamp: {shown(text)}"
    return dt


def wall_time(text: str) -> datetime | str:
    """A naive wall-clock time (the zone is applied by the caller), or why not."""
    strict = _strict(text)
    dt = strict if strict is not None else _dateutil(text)
    if isinstance(dt, str):
        return dt
    if dt.tzinfo is not None:
        return f"unparseable timestamp: {shown(text)} (an offset where a naive time is declared)"
    return dt


def _strict(text: str) -> datetime | None:
    if not _ISO_STRICT.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:   # 24:00, 2026-02-30, +25:00: dateutil and the checks say what it is
        return None


def _dateutil(text: str) -> datetime | str:
    try:
        first = dateutil_parser.parse(text, default=_DEFAULTS[0])
        second = dateutil_parser.parse(text, default=_DEFAULTS[1])
    except Exception:  # noqa: BLE001 - also decimal.InvalidOperation on long digit runs
        if _BARE_NUMBER.fullmatch(text):
            return _bare_number(text)
        return f"unparseable timestamp: {shown(text)}"
    if first.date() != second.date():
        return _bare_number(text) if _BARE_NUMBER.fullmatch(text) else _no_whole_date(text)
    return first


def _bare_number(text: str) -> str:
    return (f"unparseable timestamp: {shown(text)} is a bare number, not a date and time "
            "(is the declared format right? epoch_s, epoch_ms, ...)")


def _no_whole_date(text: str) -> str:
    return (f"unparseable timestamp: {shown(text)} does not name a whole date (year, month and day); "
            "the missing part would be taken from the day of the run")


def rfc2822_time(text: str) -> datetime | str:
    """An RFC 2822 date (`Wed, 14 Oct 2026 10:02:11 -0400`, GMT/EST zone names); not yet UTC."""
    try:
        dt = parsedate_to_datetime(text)
    except Exception:  # noqa: BLE001
        if _BARE_NUMBER.fullmatch(text):
            return _bare_number(text)
        offset = _RFC_OFFSET.search(text)
        if offset and int(offset[1]) >= 24:
            return f"unparseable RFC 2822 timestamp: {shown(text)} has a UTC offset of 24 hours or more"
        return f"unparseable RFC 2822 timestamp: {shown(text)}"
    if dt is None or dt.tzinfo is None:
        return f"unparseable RFC 2822 timestamp: {shown(text)}"
    return dt


def place_wall(wall: datetime, zone: str | tzinfo, text: Any = None) -> Placed:
    """A naive wall time in `zone` by the DST rule: in a gap the offset from before the
    jump (the clock reading moved forward by the gap), in an overlap the earlier instant."""
    name = zone if isinstance(zone, str) else str(zone)
    shown_text = wall.isoformat() if text is None else text
    if not EARLIEST.year - 1 <= wall.year <= LATEST.year:
        return Placed(reason=range_reason(shown_text))
    try:
        tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError on odd names
        return Placed(reason=f"unknown time zone {name!r}")
    first = wall.replace(tzinfo=tz, fold=0)
    utc = first.astimezone(UTC)
    if not EARLIEST <= utc < LATEST:
        return Placed(reason=range_reason(shown_text))
    warning = None
    later = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if later != utc:
        if utc.astimezone(tz).replace(tzinfo=None) == wall:
            warning = f"ambiguous local time {wall.isoformat()} in {name}: took the earlier instant"
        else:
            warning = f"nonexistent local time {wall.isoformat()} in {name} (DST gap): moved forward"
    return Placed(ts=utc, assumed_tz=name, warning=warning)


def to_epoch_micros(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1)
