"""The one duration grammar of the config (`30m`, `2h`, `1.5d`): the correlation windows,
a source's overlap and clock_offset (with a sign), Slack's thread_lookback. Validation when
the config loads and the stage that uses the value both read it through here."""
from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"not a duration (like 30m, 2h, 1d): {text!r}")
    return timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})


def signed_seconds(text: str) -> float:
    """A duration that may carry a sign (`-30s`, `+2m`), in seconds; the error names the
    value without its sign, as parse_duration sees it."""
    sign = -1.0 if text.startswith("-") else 1.0
    return sign * parse_duration(text.lstrip("+-")).total_seconds()
