"""The times a sentence states, and whether the events it cites hold them.

A stated time is taken as UTC unless it carries `Z`, `UTC`, `GMT` or an offset (`+02:00`);
it holds when a cited event happened in that minute (or in the minute before, for a time
rounded up from :30 seconds or later), to the second when seconds are given, on that day
when a date is given. The cited events' own text may state a time too ("the deploy at
13:55 UTC"): such a time holds as well.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
                  r"(\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})\b)?)?", re.I)
_CLOCK = re.compile(r"(?<![\d:.])(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(\s*[ap]\.?m\b\.?)?"
                    r"(\s*(?:Z\b|UTC\b|GMT\b|[+-]\d{2}:?\d{2}\b))?(?![\d:])", re.I)


@dataclass(frozen=True)
class Stated:
    label: str                 # as written
    day: date | None           # a date was given
    hour: int | None           # None: a date alone
    minute: int | None
    second: int | None         # None: no seconds given
    valid: bool = True         # 25:70 is a time no event holds


def strip_times(text: str) -> tuple[str, list[Stated]]:
    """The text without its dates and times, and each one it stated."""
    stated: list[Stated] = []

    def iso(m: re.Match[str]) -> str:
        year, month, day, hour, minute, second, zone = m.groups()
        label = m.group(0).strip()
        try:
            base = datetime(int(year), int(month), int(day), tzinfo=timezone.utc)
        except ValueError:
            stated.append(Stated(label, None, None, None, None, valid=False))
            return " "
        if hour is None:
            stated.append(Stated(label, base.date(), None, None, None))
            return " "
        if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 59:
            stated.append(Stated(label, None, None, None, None, valid=False))
            return " "
        when = base + timedelta(hours=int(hour), minutes=int(minute), seconds=int(second or 0)) - _offset(zone)
        stated.append(Stated(label, when.date(), when.hour, when.minute, when.second if second else None))
        return " "

    def clock(m: re.Match[str]) -> str:
        hour, minute, second, meridiem, zone = m.groups()
        h, mi, s = int(hour), int(minute), int(second or 0)
        if meridiem:
            h = h % 12 + (12 if meridiem.strip().lower().startswith("p") else 0)
        if h > 23 or mi > 59 or s > 59:
            stated.append(Stated(m.group(0).strip(), None, None, None, None, valid=False))
            return " "
        when = datetime(2000, 1, 1, h, mi, s, tzinfo=timezone.utc) - _offset(zone)
        stated.append(Stated(m.group(0).strip(), None, when.hour, when.minute, when.second if second else None))
        return " "

    return _CLOCK.sub(clock, _ISO.sub(iso, text)), stated


def times_in(text: str) -> list[Stated]:
    """The times a cited event's own text states."""
    return [s for s in strip_times(text)[1] if s.valid and s.hour is not None]


def held(stated: Stated, times: set[datetime], text_times: list[Stated]) -> bool:
    """Whether a cited event's time (or a time its text states) is the stated one."""
    if not stated.valid:
        return False
    for t in times:
        if stated.day is not None and t.date() != stated.day:
            continue
        if stated.hour is None:
            return True
        if stated.second is not None:
            if (t.hour, t.minute, t.second) == (stated.hour, stated.minute, stated.second):
                return True
            continue
        rounded_up = (t.replace(second=0, microsecond=0) + timedelta(minutes=1)) if t.second >= 30 else None
        for candidate in (t, rounded_up):
            if candidate and (candidate.hour, candidate.minute) == (stated.hour, stated.minute):
                return True
    for s in text_times:
        if stated.day is not None and s.day is not None and s.day != stated.day:
            continue
        if stated.hour is None:
            continue
        if (s.hour, s.minute) == (stated.hour, stated.minute) and stated.second in (None, s.second):
            return True
    return False


def _offset(zone: str | None) -> timedelta:
    label = (zone or "").strip().upper()
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", label)
    if not m:
        return timedelta(0)   # none, Z, UTC or GMT
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return delta if m.group(1) == "+" else -delta
