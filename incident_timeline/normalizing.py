"""Running the normaliser over raw lake files and writing its events and rejects."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pyarrow as pa

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline.lake import refindex
from incident_timeline.ingest.base import SourceSettings
from incident_timeline.normalize.engine import Normalized, build_entities, normalize_raw
from incident_timeline.normalize.identity import People
from incident_timeline.normalize.oracle import MAPPERS
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.lake.catalog_store import read_catalog
from .config import Config, clock_offset_seconds
from incident_timeline.lake.entity_snapshot import read_entity_rows
from incident_timeline.lake.layout import Lake
from incident_timeline.lake.written import write_by_day

_JQL_PROJECT = re.compile(r"project\s*(?:=|in)\s*\(?\s*([A-Za-z0-9_,\s\"']+)\)?", re.IGNORECASE)


def in_identity_order(sources: list[SourceSettings]) -> list[SourceSettings]:
    """Sources whose people come with e-mails first (Slack, Jira, Opsgenie), the others in
    their configured order after: each source is published before the next is normalised,
    so a name-only source (PagerDuty, ServiceNow) finds the e-mails in the same run."""
    return sorted(sources, key=lambda s: not getattr(MAPPERS.get(s.type), "knows_emails", False))


def normalize_files(config: Config, lake: Lake, settings: SourceSettings, files: list,
                    run_id: str, part: str = "", people: People | None = None) -> tuple[Normalized, list]:
    """Normalise `files`; write events by day and rejects; return what was written.
    `part` tells apart the files of one run normalised in several chunks; `people`, who the
    other sources name (read from the catalog when not given: once per source and run is enough)."""
    raw = pa.concat_tables([lake.storage.read_parquet(f, schema=RAW_SCHEMA) for f in files]) if files \
        else RAW_SCHEMA.empty_table()
    mapper = MAPPERS.get(settings.type)
    streams = mapper.entity_streams if mapper else ()
    history = read_entity_rows(lake, settings.name, streams, exclude=set(files))
    entities = build_entities(pa.concat_tables([history, raw]), streams)
    now = datetime.now(timezone.utc)
    out = normalize_raw(raw, source_spec(settings), entities=entities, jira_projects=jira_projects(config),
                        ingested_at=now, run_id=run_id,
                        people=known_people(lake, settings.name) if people is None else people)
    written = write_by_day(lake, settings.name, out.events, run_id + part)
    if out.rejects.num_rows:
        path = lake.rejects_dir(settings.name, now.strftime("%Y-%m-%d")) / f"{run_id}{part}.parquet"
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


def source_spec(settings: SourceSettings) -> SourceSpec:
    return SourceSpec(name=settings.name, type=settings.type,
                      timezone=str(settings.options.get("timezone") or "UTC"),
                      clock_offset_s=clock_offset_seconds(settings),
                      options={k: v for k, v in settings.options.items() if not hasattr(v, "reveal")})


def jira_projects(config: Config) -> list[str]:
    """Project keys whose issue keys are recognised in free text."""
    keys: set[str] = set()
    for s in config.sources:
        if s.type != "jira":
            continue
        keys.update(str(k) for k in s.get("projects") or [])
        m = _JQL_PROJECT.search(str(s.get("jql") or ""))
        if m:
            keys.update(k.strip(" \"'") for k in m.group(1).split(",") if k.strip(" \"'"))
    return sorted(keys)

