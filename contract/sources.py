"""What each source type is, declared once for both stages.

- `time_format`: how its records write time. Ingest's connector places a record in the
  window by it, and the normaliser converts a record's time with it (unless the record's
  draft names another, as a `file` source's `time_format:` does).
- `native_id`: the field that identifies a record in its source; the last part of a dotted
  one names the id of a record ingest could not take (its reject's native id).
Which field each stream's times come from stays with the code that reads it: each
connector's fetch, each source's mapping.
"""
from __future__ import annotations

from dataclasses import dataclass

from .times import FORMATS


@dataclass(frozen=True)
class SourceType:
    name: str            # the `type:` of a source in connectors.yaml
    time_format: str     # one of contract.times.FORMATS
    native_id: str       # the field that identifies a record in its source

    def __post_init__(self):
        if self.time_format not in FORMATS:
            raise ValueError(f"source type {self.name}: unknown time format {self.time_format!r}")


SOURCE_TYPES: dict[str, SourceType] = {t.name: t for t in (
    SourceType("pagerduty", "iso8601", "id"),
    SourceType("opsgenie", "iso8601", "id"),
    SourceType("alertmanager", "iso8601", "fingerprint"),
    SourceType("grafana", "epoch_ms", "fingerprint"),
    SourceType("servicenow", "naive", "sys_id"),       # wall time in the source's `timezone:`
    SourceType("slack", "slack_ts", "ts"),
    SourceType("slack_export", "slack_ts", "ts"),
    SourceType("jira", "iso8601", "key"),
    SourceType("file", "iso8601", "id"),           # the default of its `time_format:`
    SourceType("change_file", "iso8601", "id"),    # the default of its `time_format:`
    SourceType("github", "iso8601", "id"),
    SourceType("pagerduty_changes", "iso8601", "id"),
    SourceType("gitlab", "iso8601", "id"),
    SourceType("datadog", "iso8601", "id"),          # attributes.timestamp
    SourceType("teams", "iso8601", "id"),
    SourceType("statuspage", "iso8601", "id"),
)}
