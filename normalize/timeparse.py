"""Timestamps to UTC, vectorised per declared format.

Each source declares how it writes time (`iso8601`, `epoch_s`, `slack_ts`, `naive`, ...);
nothing is guessed from the size of a number. A whole column is converted with one Arrow
kernel; only values that kernel refuses are looked at one by one, through the safe
parser ingest's window filter uses too (`contract.times`: python-dateutil, a whole date
required, offsets under 24 h), and what still cannot be placed comes back as an error for
the rejects table. One supported range for every format: 1900-2200 UTC.

DST rule for naive local times (documented in the README): a time inside a spring-forward
gap is moved forward by the gap (02:30 in a 1-hour gap reads as 03:30 local); a time in an
autumn overlap takes the earlier of its two instants. Both are flagged in `warnings`.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from incident_timeline.contract import times
from incident_timeline.contract.schemas import TS
from incident_timeline.contract.times import EARLIEST as _EARLIEST
from incident_timeline.contract.times import EPOCH_UNITS as _EPOCH_UNITS
from incident_timeline.contract.times import FORMATS
from incident_timeline.contract.times import HAS_ZONE as _HAS_ZONE
from incident_timeline.contract.times import ISO_ARROW as _ISO_STRICT
from incident_timeline.contract.times import LATEST as _LATEST
from incident_timeline.contract.times import NANOS as _NANOS

_RFC2822 = "%a, %d %b %Y %H:%M:%S %z"
# Arrow's %z also reads +2500, an offset no clock has: those go to the safe parser
_RFC_BAD_OFFSET = r"[+-](2[4-9]|[3-9]\d)\d{2}$"


@dataclass
class ParsedTimes:
    ts: pa.TimestampArray                      # null where errors[i] is set
    errors: list[str | None]
    assumed_tz: list[str | None] = field(default_factory=list)  # zone applied to each naive value
    notes: dict[int, list[str]] = field(default_factory=dict)   # row -> its own warnings
    common: list[str] = field(default_factory=list)             # warnings for every parsed value

    @property
    def warnings(self) -> list[list[str]]:
        return [self.notes.get(i, []) + (self.common if err is None else []) for i, err in enumerate(self.errors)]

    def warnings_array(self) -> pa.Array:
        if self.notes or self.common:
            return pa.array(self.warnings, pa.list_(pa.string()))
        offsets = pa.array(np.zeros(len(self.errors) + 1, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, pa.array([], pa.string()))


def parse_times(values: list[str | None] | pa.Array | pa.ChunkedArray, fmt: str, tz: str | None = None,
                clock_offset_s: float = 0.0) -> ParsedTimes:
    """Convert `values` written in `fmt` to UTC microseconds.

    `tz` is the zone naive values are in (format `naive`, or ISO values without an
    offset); `clock_offset_s` is subtracted to correct a source whose clock runs ahead.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown time format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if isinstance(values, pa.ChunkedArray):   # a table's column: not through Python objects
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    arr = values if isinstance(values, pa.Array) else pa.array(values, type=pa.string())
    arr = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    warnings: dict[int, list[str]] = defaultdict(list)
    if fmt in _EPOCH_UNITS:
        ts, errors = _epoch(arr, _EPOCH_UNITS[fmt])
        assumed = [None] * len(arr)
    elif fmt == "slack_ts":
        ts, errors = _slack_ts(arr)
        assumed = [None] * len(arr)
    elif fmt == "rfc2822":
        ts, errors = _rfc2822(arr)
        assumed = [None] * len(arr)
    else:  # iso8601 or naive
        ts, errors, assumed = _iso_or_naive(arr, fmt, tz, warnings)
    ts, errors = _in_range(ts, errors, arr)
    if clock_offset_s:
        shift = pa.scalar(int(round(clock_offset_s * 1_000_000)), pa.duration("us"))
        ts = pc.subtract(ts, shift)
    common = [f"clock offset {clock_offset_s:+g}s corrected"] if clock_offset_s else []
    return ParsedTimes(ts=ts, errors=errors, assumed_tz=assumed, notes=dict(warnings), common=common)


def _in_range(ts: pa.Array, errors: list[str | None], arr: pa.Array):
    # A value read in the wrong unit lands centuries away; Python cannot even hold most of
    # them. Reject rather than pass on an instant nobody can display.
    lo, hi = pa.scalar(_EARLIEST, TS), pa.scalar(_LATEST, TS)
    bad = pc.fill_null(pc.or_(pc.less(ts, lo), pc.greater_equal(ts, hi)), False)
    if not pc.any(bad).as_py():
        return ts, errors
    for i, flag in enumerate(bad.to_pylist()):
        if flag:
            errors[i] = times.range_reason(arr[i].as_py())
    return pc.if_else(bad, pa.scalar(None, TS), ts), errors


def _errors_from_nulls(arr: pa.Array, ts: pa.Array, reason: str) -> list[str | None]:
    errors: list[str | None] = [None] * len(arr)
    for i in pc.indices_nonzero(pc.is_null(ts)).to_pylist():
        value = arr[i].as_py()
        errors[i] = "missing timestamp" if value is None or value == "" else reason.format(value=value)
    return errors


def _epoch(arr: pa.Array, micros_per_unit: int):
    ok = pc.match_substring_regex(arr, r"^-?\d{1,18}$")
    ints = pc.if_else(ok, arr, pa.scalar(None, pa.string())).cast(pa.int64())
    fits = pc.less_equal(pc.abs(ints), (2**63 - 1) // micros_per_unit)
    ints = pc.if_else(fits, ints, pa.scalar(None, pa.int64()))
    ts = pc.multiply_checked(ints, micros_per_unit).cast(pa.int64()).cast(TS)
    errors = _errors_from_nulls(arr, ts, "not an integer epoch value: {value!r}")
    for i, big in enumerate(pc.invert(pc.fill_null(fits, True)).to_pylist()):
        if big:
            errors[i] = f"{arr[i].as_py()!r} is too large for the declared unit"
    return ts, errors


def _slack_ts(arr: pa.Array):
    # "1700000000.123456": split, never go through float (1 µs off for half the values).
    parts = pc.extract_regex(arr, r"^(?P<s>\d{1,12})(?:\.(?P<f>\d{1,6}))?$")
    secs = pc.struct_field(parts, "s").cast(pa.int64())
    frac = pc.utf8_rpad(pc.struct_field(parts, "f"), 6, "0").cast(pa.int64())
    micros = pc.add(pc.multiply(secs, 1_000_000), frac)
    ts = micros.cast(TS)
    return ts, _errors_from_nulls(arr, ts, "not a Slack ts (seconds.micros): {value!r}")


def _iso_or_naive(arr: pa.Array, fmt: str, tz: str | None, warnings):
    # Keep at most 6 fraction digits (Alertmanager writes nanoseconds).
    trimmed = pc.replace_substring_regex(arr, _NANOS, r"\1")
    zoned = pc.match_substring_regex(trimmed, _HAS_ZONE)
    if fmt == "naive":
        zoned = pc.and_(zoned, pa.scalar(False))
    zoned = pc.fill_null(zoned, False)
    aware_vals = pc.if_else(zoned, trimmed, pa.scalar(None, pa.string()))
    naive_vals = pc.if_else(zoned, pa.scalar(None, pa.string()), trimmed)

    reasons: dict[int, str] = {}   # row -> why the safe parser could not place it
    aware = _cast_or_each(aware_vals, TS, _parse_aware, reasons)

    if tz and pc.any(pc.is_valid(naive_vals)).as_py():
        naive = _localize(naive_vals, tz, warnings, reasons)
    else:
        naive = pa.nulls(len(arr), TS)
    ts = pc.if_else(zoned, aware, naive)
    errors = _errors_from_nulls(arr, ts, "unparseable timestamp: {value!r}")
    for i, reason in reasons.items():
        if errors[i] is not None:
            errors[i] = reason
    zoned_list = zoned.to_pylist()
    assumed = [None if (z or e) else tz for z, e in zip(zoned_list, errors)]
    if not tz:
        for i, err in enumerate(errors):
            if err and err != "missing timestamp" and not zoned_list[i]:
                wall = times.wall_time(arr[i].as_py())
                errors[i] = (f"timestamp has no zone and the source declares none: {arr[i].as_py()!r}"
                             if isinstance(wall, datetime) else wall)
    return ts, errors, assumed


def _cast_or_each(arr: pa.Array, to_type, parse_one, reasons: dict[int, str]):
    """One Arrow cast for the values of a shape it reads exactly; the rest one by one
    (`parse_one` gives a datetime or the reason it cannot, kept in `reasons` by row)."""
    strict = pc.fill_null(pc.match_substring_regex(arr, _ISO_STRICT), False)
    fast = pc.if_else(strict, arr, pa.scalar(None, pa.string()))
    try:
        cast = pc.cast(fast, to_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # e.g. 2026-02-30: shape fine, date not
        strict = pa.array([False] * len(arr))
        cast = pa.nulls(len(arr), to_type)
    leftover = pc.and_(pc.invert(strict), pc.is_valid(arr))
    if not pc.any(leftover).as_py():
        return cast
    slow = []
    for i, (value, todo) in enumerate(zip(arr.to_pylist(), leftover.to_pylist())):
        got = parse_one(value) if todo else None
        if isinstance(got, str):
            reasons[i], got = got, None
        slow.append(got)
    return pc.if_else(strict, cast, pa.array(slow, type=to_type))


def _parse_aware(value: str) -> datetime | str:
    dt = times.aware_time(value)
    return dt if isinstance(dt, str) else times.to_utc(dt, value)


def _localize(naive_vals: pa.Array, tz: str, warnings, reasons: dict[int, str]) -> pa.Array:
    local = _cast_or_each(naive_vals, pa.timestamp("us"), _parse_naive, reasons)
    earliest = pc.assume_timezone(local, timezone=tz, ambiguous="earliest", nonexistent="earliest")
    latest = pc.assume_timezone(local, timezone=tz, ambiguous="latest", nonexistent="latest")
    differs = pc.fill_null(pc.not_equal(earliest, latest), False)
    if not pc.any(differs).as_py():
        return earliest.cast(TS)
    # Only the values in a gap or an overlap are placed one by one.
    # Only the values in a gap or an overlap are placed one by one, by the shared DST rule.
    flagged = pc.indices_nonzero(differs).to_pylist()
    placed = []
    for i in flagged:
        got = times.place_wall(local[i].as_py(), tz)
        if got.reason:
            reasons[i] = got.reason
        elif got.warning:
            warnings[i].append(got.warning)
        placed.append(got.ts)
    return pc.replace_with_mask(earliest.cast(TS), differs, pa.array(placed, type=TS))


def _parse_naive(value: str) -> datetime | str:
    return times.wall_time(value)


def _parse_rfc2822(value: str) -> datetime | str:
    dt = times.rfc2822_time(value)
    return dt if isinstance(dt, str) else times.to_utc(dt, value)


def _rfc2822(arr: pa.Array):
    # The common "Wed, 14 Oct 2026 10:02:11 -0400" in one kernel; obsolete zone names
    # (GMT, EST), a missing weekday and other leftovers through the email parser.
    odd_offset = pc.fill_null(pc.match_substring_regex(arr, _RFC_BAD_OFFSET), False)
    fast = pc.strptime(pc.if_else(odd_offset, pa.scalar(None, pa.string()), arr), format=_RFC2822,
                       unit="us", error_is_null=True).cast(TS)
    leftover = pc.and_(pc.is_null(fast), pc.is_valid(arr)).to_pylist()
    reasons: dict[int, str] = {}
    if any(leftover):
        slow = []
        for i, (value, todo) in enumerate(zip(arr.to_pylist(), leftover)):
            got = _parse_rfc2822(value) if todo else None
            if isinstance(got, str):
                reasons[i], got = got, None
            slow.append(got)
        fast = pc.coalesce(fast, pa.array(slow, type=TS))
    errors = _errors_from_nulls(arr, fast, "unparseable RFC 2822 timestamp: {value!r}")
    for i, reason in reasons.items():
        if errors[i] is not None:
            errors[i] = reason
    return fast, errors


def parse_one(value: str, fmt: str, tz: str | None = None) -> datetime:
    """Convenience for single values (ingest filters, CLI options): raises ValueError."""
    parsed = parse_times([value], fmt, tz)
    if parsed.errors[0]:
        raise ValueError(parsed.errors[0])
    return parsed.ts[0].as_py()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def to_epoch_micros(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)

