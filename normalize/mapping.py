"""What a mapper is: one source type's raw records -> event drafts.

A draft is a dict with the canonical columns except the ones the engine computes
(event_id, source, source_type, category, ts, ts_assumed_tz, ingested_at). `ts_raw` is
the time as the source wrote it; the engine converts it with the source type's
`time_format` (contract.sources, which ingest reads too; a draft may name another in
`ts_format`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Mapping

from incident_timeline.contract.paths import dotted

from .refs import RefFinder


class RecordError(Exception):
    """This record cannot be normalised: it goes to rejects with `field` and the reason."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass
class SourceSpec:
    """What normalize needs to know of a source (built from connectors.yaml by the glue)."""

    name: str
    type: str
    timezone: str = "UTC"
    clock_offset_s: float = 0.0
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    spec: SourceSpec
    refs: RefFinder
    entities: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # stream -> id -> payload

    def entity(self, stream: str, native_id: str | None) -> Mapping[str, Any] | None:
        if not native_id:
            return None
        return (self.entities.get(stream) or {}).get(native_id)


class Mapper:
    source_type: ClassVar[str]
    entity_streams: ClassVar[tuple[str, ...]] = ()   # context only: they emit no events
    # stream -> where its records keep the time, dotted, the first present one used: what a
    # time reject names as its field
    time_fields: ClassVar[dict[str, tuple[str, ...]]] = {}
    # Whether its people come with e-mails (then other sources' names are matched to them):
    # such sources are normalised first in a run, so one run already names one person once.
    knows_emails: ClassVar[bool] = False

    def time_field(self, stream: str, kind: str, payload: Any, ctx: Context) -> str:
        """The source's own name of the field an event's time came from."""
        candidates = self.time_fields.get(stream) or ("ts",)
        for name in candidates:
            if dotted(payload, name) not in (None, ""):
                return name
        return candidates[0]

    def map(self, stream: str, payload: Mapping[str, Any], parent_id: str | None,
            ctx: Context) -> Iterable[dict]:
        raise RecordError("stream", f"stream {stream!r} is not known to the {self.source_type} mapper")


def require(payload: Mapping[str, Any], key: str) -> Any:
    value = payload.get(key)
    if value is None or value == "":
        raise RecordError(key, "missing")
    return value
