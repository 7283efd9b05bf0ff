"""The review's period: [start, end) in UTC, read from `--period 2026-Q3` / `2026-07` or from
`--since`/`--until` (a date is midnight UTC; a time needs its zone), and the period before it.

A period made of whole calendar months (a quarter, a month, 2026-07-01 to 2026-10-01) is
compared with the same number of months before it (2026-Q3 with 2026-Q2); any other
period with the span of the same length just before it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from dateutil import parser as dateutil_parser


class PeriodInvalid(ValueError):
    """A period the review cannot read; one line naming the option."""


@dataclass(frozen=True)
class Period:
    start: datetime          # inclusive, UTC
    end: datetime            # exclusive, UTC

    @property
    def label(self) -> str:
        months = _whole_months(self.start, self.end)
        if months == 1:
            return f"{self.start:%Y-%m}"
        if months == 3 and self.start.month % 3 == 1:
            return f"{self.start.year}-Q{(self.start.month + 2) // 3}"
        if months == 12 and self.start.month == 1:
            return f"{self.start.year}"
        return f"{_stamp(self.start)}_{_stamp(self.end)}"

    def previous(self) -> "Period":
        months = _whole_months(self.start, self.end)
        if months:
            return Period(_add_months(self.start, -months), self.start)
        return Period(self.start - (self.end - self.start), self.start)

    def months(self) -> list[str]:
        """Every calendar month the period touches, as YYYY-MM."""
        out, d = [], date(self.start.year, self.start.month, 1)
        while datetime(d.year, d.month, 1, tzinfo=timezone.utc) < self.end:
            out.append(f"{d:%Y-%m}")
            d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        return out


_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.I)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def period(since: str | None = None, until: str | None = None, name: str | None = None) -> Period:
    """`name` is 2026-Q3, 2026-07 or 2026; else [since, until), both given."""
    if name is not None:
        if since is not None or until is not None:
            raise PeriodInvalid("--period cannot be combined with --since/--until")
        return _named(name.strip())
    if since is None or until is None:
        raise PeriodInvalid("give --period (2026-Q3, 2026-07) or both --since and --until")
    start, end = _instant(since, "--since"), _instant(until, "--until")
    if end <= start:
        raise PeriodInvalid(f"--until {until} is not after --since {since}")
    return Period(start, end)


def _named(name: str) -> Period:
    if m := _QUARTER.match(name):
        start = datetime(int(m[1]), 3 * int(m[2]) - 2, 1, tzinfo=timezone.utc)
        return Period(start, _add_months(start, 3))
    if (m := _MONTH.match(name)) and 1 <= int(m[2]) <= 12:
        start = datetime(int(m[1]), int(m[2]), 1, tzinfo=timezone.utc)
        return Period(start, _add_months(start, 1))
    if m := _YEAR.match(name):
        start = datetime(int(m[1]), 1, 1, tzinfo=timezone.utc)
        return Period(start, _add_months(start, 12))
    raise PeriodInvalid(f"--period {name!r} is neither a quarter (2026-Q3), a month (2026-07) nor a year (2026)")


def _instant(text: str, option: str) -> datetime:
    text = text.strip()
    try:
        if _DATE.match(text):
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        value = dateutil_parser.isoparse(text)
    except ValueError:
        raise PeriodInvalid(f"{option} {text!r} is not a date (2026-07-01) or an ISO 8601 time") from None
    if value.tzinfo is None:
        raise PeriodInvalid(f"{option} {text!r} has no zone: add Z or an offset, or give a date (midnight UTC)")
    return value.astimezone(timezone.utc)


def _whole_months(start: datetime, end: datetime) -> int:
    """How many calendar months [start, end) is, or 0 when it is not whole months."""
    def aligned(t: datetime) -> bool:
        return (t.day, t.hour, t.minute, t.second, t.microsecond) == (1, 0, 0, 0, 0)
    if not (aligned(start) and aligned(end)):
        return 0
    return (end.year - start.year) * 12 + end.month - start.month


def _add_months(t: datetime, months: int) -> datetime:
    index = t.year * 12 + t.month - 1 + months
    return t.replace(year=index // 12, month=index % 12 + 1)


def _stamp(t: datetime) -> str:
    return f"{t:%Y-%m-%d}" if (t.hour, t.minute, t.second) == (0, 0, 0) else f"{t:%Y-%m-%dT%H%MZ}"
