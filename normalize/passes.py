"""The normaliser over raw lake files: one pass reads them, writes its events by day and
its rejects, and returns what it wrote. What the config says comes in built (the source's
SourceSpec) or as plain values (the Jira project keys)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Protocol, TypeVar

import pyarrow as pa

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline.lake import refindex
from incident_timeline.lake.catalog_store import read_catalog
from incident_timeline.lake.entity_snapshot import read_entity_rows
from incident_timeline.lake.layout import Lake
from incident_timeline.lake.written import write_by_day
from .engine import Normalized, build_entities, normalize_raw
from .identity import People
from .mapping import SourceSpec
from .oracle import MAPPERS


class _Typed(Protocol):
    type: str


S = TypeVar("S", bound=_Typed)   # a source's settings


def in_identity_order(sources: list[S]) -> list[S]:
    """Sources whose people come with e-mails first (Slack, Jira, Opsgenie), the others in
    their configured order after: each source is published before the next is normalised,
    so a name-only source (PagerDuty, ServiceNow) finds the e-mails in the same run."""
    return sorted(sources, key=lambda s: not getattr(MAPPERS.get(s.type), "knows_emails", False))


def normalize_files(lake: Lake, spec: SourceSpec, files: list, run_id: str, part: str = "",
                    people: People | None = None, jira_projects: Iterable[str] = ()) -> tuple[Normalized, list]:
    """Normalise `files`; write events by day and rejects; return what was written.
    `part` tells apart the files of one run normalised in several chunks; `people`, who the
    other sources name (read from the catalog when not given: once per source and run is enough)."""
    raw = pa.concat_tables([lake.storage.read_parquet(f, schema=RAW_SCHEMA) for f in files]) if files \
        else RAW_SCHEMA.empty_table()
    mapper = MAPPERS.get(spec.type)
    streams = mapper.entity_streams if mapper else ()
    history = read_entity_rows(lake, spec.name, streams, exclude=set(files))
    entities = build_entities(pa.concat_tables([history, raw]), streams)
    now = datetime.now(timezone.utc)
    out = normalize_raw(raw, spec, entities=entities, jira_projects=jira_projects,
                        ingested_at=now, run_id=run_id,
                        people=known_people(lake, spec.name) if people is None else people)
    written = write_by_day(lake, spec.name, out.events, run_id + part)
    if out.rejects.num_rows:
        path = lake.rejects_dir(spec.name, now.strftime("%Y-%m-%d")) / f"{run_id}{part}.parquet"
        written.append(lake.write_parquet(out.rejects, path))
    return out, written


def known_people(lake: Lake, source: str) -> People:
    """Who the other sources' events already name by e-mail: one person across sources.
    Read from the catalog's index of the published files when it has one (no history scan)."""
    indexed = _indexed_people(lake, source)
    if indexed is not None:
        return People(indexed)
    files = [lake.uri(f) for f in lake.event_files() if f"source={source}" not in str(f)]
    if not files:
        return People()
    return People(lake.query("SELECT actor, actor_id, count(*) FROM read_parquet(?, union_by_name = true) "
                             "WHERE actor_type = 'human' AND actor_id LIKE '%@%' GROUP BY ALL", [files]))


def _indexed_people(lake: Lake, source: str) -> list | None:
    con = read_catalog(lake)
    if con is None:
        return None
    try:
        return refindex.people(con, source)
    finally:
        con.close()
