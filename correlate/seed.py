"""What an incident is built from, parsed from the command line's INCIDENT argument.

- a prefixed ref: `pagerduty:Q1ABC`, `jira:OPS-123`, `servicenow:INC0010001`,
  `opsgenie:<id>`, `alert:<fingerprint>`;
- a chat channel: `slack:C0123ABC` (its id) or `slack:#inc-4213-checkout` (its name);
- a service in a time window: `service:checkout-api@2026-10-14T14:00Z/2026-10-14T15:00Z`
  (ISO 8601 times with a zone; `Z` or an offset).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

_REF = re.compile(r"^(?P<prefix>[a-z][a-z0-9_-]*):(?P<id>\S+)$")
_WINDOW = re.compile(r"^service:(?P<service>[^@]+)@(?P<start>[^/]+)/(?P<end>.+)$")
CHANNEL_PREFIXES = ("slack",)


class SeedInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Seed:
    text: str                      # as typed: the incident's id in the catalog
    kind: str                      # ref, channel or service_window
    ref: str | None = None         # the ref to look for (a channel name resolves later)
    channel_name: str | None = None
    service: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def parse_seed(text: str) -> Seed:
    text = text.strip()
    window = _WINDOW.match(text)
    if window:
        start, end = _when(window.group("start"), text), _when(window.group("end"), text)
        if end <= start:
            raise SeedInvalid(f"seed {text!r}: the window ends before it starts")
        return Seed(text, "service_window", service=window.group("service").strip(), start=start, end=end)
    m = _REF.match(text)
    if not m:
        raise SeedInvalid(f"seed {text!r} is not a prefixed ref (pagerduty:Q1ABC, jira:OPS-12, slack:C0123, "
                          f"service:NAME@START/END)")
    if m.group("prefix") in CHANNEL_PREFIXES:
        ident = m.group("id")
        if ident.startswith("#"):
            return Seed(text, "channel", channel_name=ident[1:])
        return Seed(text, "channel", ref=text)
    return Seed(text, "ref", ref=text)


def _when(value: str, seed: str) -> datetime:
    raw = value.strip()
    try:
        dt = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise SeedInvalid(f"seed {seed!r}: {value!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise SeedInvalid(f"seed {seed!r}: {value!r} has no zone: add Z or an offset")
    return dt.astimezone(timezone.utc)
