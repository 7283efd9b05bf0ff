"""Orchestration: the only place that knows all four stages and the lake between them."""
from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

import duckdb
import pyarrow as pa

from incident_timeline.contract.durations import parse_duration
from incident_timeline.correlate import stored
from incident_timeline.correlate.build import Settings as CorrelationSettings
from incident_timeline.correlate.seed import parse_seed
from incident_timeline.export import render
from incident_timeline.export.report import load as load_report
from incident_timeline.ingest.base import RECORD_ERRORS, Connector, RawRecord, SourceSettings, Window
from incident_timeline.ingest.errors import SourceError
from incident_timeline.ingest.registry import CONNECTORS
from incident_timeline.lake import catalog_store, state
from .recovery import recover_catalog
from .config import Config
from incident_timeline.lake.layout import Lake, new_run_id
from incident_timeline.lake.locks import file_lock
from incident_timeline.normalize.passes import in_identity_order, known_people
from .normalizing import normalize_files
from incident_timeline.lake import commits
from incident_timeline.lake.commits import pending_raw
from incident_timeline.lake.published import (compact_source, count_new_in_files, live_files, publish_normalized,
                                              published, refresh_from_lake, sift_source, vacuum)
from incident_timeline.ingest.raw_rows import raw_rows
from incident_timeline.lake.raw import publish_raw, raw_chunks, write_raw
from incident_timeline.lake.written import count_new_rejects, reject_keys

log = logging.getLogger("incident_timeline")

BATCH_ROWS = 5_000
CURSOR_FLUSH_S = 30.0
# Raw records normalised at once (whole raw files, at least one): memory stays that of one pass
# however much a run fetched. 20,000 peaked ~25 MB higher on 200k Slack records; counting
# files instead made a run of many small partitions normalise in many small passes.
NORMALIZE_RECORDS_AT_ONCE = 2 * BATCH_ROWS
DEFAULT_OVERLAP = "1h"
# (source name, records fetched so far): how the CLI draws progress
OnRecords = Callable[[str, int], None]


@dataclass
class SourceResult:
    source: str
    fetched: int = 0
    events: int = 0        # events new to the lake (an event fetched again is not counted)
    rejects: int = 0
    seconds: float = 0.0
    error: str | None = None
    quarantined: list[str] = field(default_factory=list)   # unreadable lake files set aside


@dataclass
class RunResult:
    run_id: str
    command: str
    sources: list[SourceResult] = field(default_factory=list)

    @property
    def failed(self) -> list[SourceResult]:
        return [s for s in self.sources if s.error]


def _quiet(_source: str, _n: int) -> None:
    pass


# ---------------------------------------------------------------- ingest and backfill

def ingest(config: Config, names=None, since: datetime | None = None, until: datetime | None = None,
           on_records: OnRecords = _quiet, lock_wait_s: float = 300.0) -> RunResult:
    """Fetch [since, until) from each source (default: from its cursors to now), write raw
    Parquet, move cursors, then normalise. One failing source does not stop the others."""
    return _run(config, "ingest", names, since, until, on_records, lock_wait_s, overlap=False, compact=False)


def backfill(config: Config, names=None, on_records: OnRecords = _quiet) -> RunResult:
    """The nightly job: every source from its cursors (less an overlap, for late edits) to
    now, normalise, compact, refresh the catalog. A second one refuses at once (LockBusy)."""
    return _run(config, "backfill", names, None, None, on_records, 0.0, overlap=True, compact=True)


def _run(config: Config, command: str, names, since, until, on_records: OnRecords, lock_wait_s: float,
         *, overlap: bool, compact: bool) -> RunResult:
    # Arrow's default pool (mimalloc) keeps what a chunk freed; the system allocator hands it
    # back, so a long job's peak stays that of one chunk
    pa.set_memory_pool(pa.system_memory_pool())
    recover_catalog(config)   # an unreadable catalog: set aside and rebuilt from the lake first
    lake = Lake.for_config(config)
    selected = config.select(names)
    result = RunResult(new_run_id(), command)
    started = datetime.now(timezone.utc)
    until = until or started
    with ExitStack() as locks:
        # One lock per source: two jobs for different sources run side by side, a second
        # job for the same source waits (ingest) or refuses (backfill).
        for settings in selected:
            locks.enter_context(_source_lock(lake, settings.name, lock_wait_s))
        log.info("%s %s started: %s", command, result.run_id, ", ".join(s.name for s in selected))
        for settings in in_identity_order(selected):
            res = SourceResult(settings.name)
            result.sources.append(res)
            t0 = time.monotonic()
            try:
                _fetch_source(lake, settings, result.run_id, since, until, overlap, on_records, res)
            except SourceError as exc:
                res.error = str(exc)
                log.error("%s", exc)
            except RECORD_ERRORS as exc:
                # Not a record's content (the guard takes those): still this source's failure
                # alone, one line naming it; the other sources run on.
                res.error = (f"source {settings.name}: could not read a page: {type(exc).__name__}: "
                             f"{str(exc)[:200]}")
                log.error("%s", res.error)
            try:
                # the nightly job checks every file of the source it may read; a damaged
                # events or rejects file is set aside and the source normalised again whole
                set_aside, events_lost = sift_source(lake, settings.name, raw=True) if compact else ([], False)
                res.quarantined += set_aside
                if events_lost:
                    _renormalize_source(config, lake, settings, result.run_id, res, count_new=True)
                else:
                    _normalize_pending(config, lake, settings, result.run_id, res)
                if compact:
                    compact_source(lake, settings.name, result.run_id)
            except (OSError, ValueError, duckdb.Error, pa.ArrowException) as exc:
                res.error = res.error or f"source {settings.name}: {type(exc).__name__}: {exc}"
                log.error("%s", res.error)
            res.seconds = time.monotonic() - t0
            log.info("%s: fetched %d, new events %d, rejects %d, %.1fs%s", settings.name, res.fetched,
                     res.events, res.rejects, res.seconds, f", FAILED: {res.error}" if res.error else "")
        if compact:
            vacuum(lake)
        with catalog_store.catalog_writer(lake) as con:
            catalog_store.publish(con, lake)
        _in_config_order(result, selected)
        state.record_run(lake, result.run_id, command, started, "failed" if result.failed else "ok",
                         {s.source: asdict(s) for s in result.sources})
    return result


def _in_config_order(result: RunResult, selected: list[SourceSettings]) -> None:
    """The summary lists sources as the config does, whatever order they were normalised in."""
    order = {s.name: i for i, s in enumerate(selected)}
    result.sources.sort(key=lambda res: order.get(res.source, len(order)))


def _source_lock(lake: Lake, source: str, wait_s: float):
    # Local to this machine: jobs for one source on two machines are kept apart by the
    # scheduler (one job per source), see docs/scale.md.
    return file_lock(lake.state_dir / ".locks" / f"{source}.lock", wait_s=wait_s, what=f"source {source}")


def _fetch_source(lake: Lake, settings: SourceSettings, run_id: str, since, until, overlap: bool,
                  on_records: OnRecords, res: SourceResult) -> None:
    connector: Connector = CONNECTORS[settings.type](settings)
    cursors = state.read_cursors(lake, settings.name) if since is None else {}
    # a cursor run: a connector that continues by its API's own link gets the last ones
    if since is None and type(connector).resume is not Connector.resume:
        connector.resume(state.read_cursor_links(lake, settings.name))
    back = parse_duration(str(settings.options.get("overlap") or DEFAULT_OVERLAP)) if overlap else timedelta(0)
    # Raw files written whole but not yet published, and partitions fetched whole whose cursor
    # has not moved yet. At most CURSOR_FLUSH_S apart, and on the way out when a later partition
    # fails, one raw commit publishes the files, then one cursors commit moves the cursors; a
    # run killed before that fetches them again, harmlessly (its files are in no snapshot).
    written: list = []
    durable: dict[str, datetime] = {}
    links: dict[str, str] = {}
    flushed_at = time.monotonic()
    try:
        for partition in connector.partitions():
            start = since if since is not None else cursors.get(partition)
            if start is not None and since is None:
                start -= back   # re-read late edits and replies; event_id absorbs the repeats
            batch: list[RawRecord] = []
            seq = 0
            for record in connector.fetch(partition, Window(start, until)):
                batch.append(record)
                res.fetched += 1
                if len(batch) >= BATCH_ROWS:
                    written.append(_write_raw(lake, settings, run_id, partition, seq, batch))
                    seq, batch = seq + 1, []
                    on_records(settings.name, res.fetched)
            if batch:
                written.append(_write_raw(lake, settings, run_id, partition, seq, batch))
            on_records(settings.name, res.fetched)
            # The data is durable (fsynced and renamed): once published, the cursor may move. An
            # explicit --since window is not contiguous with the cursor, so it moves nothing.
            if since is None:
                durable[partition] = until
                link = connector.next_link(partition)
                if link:
                    links[partition] = link
            if time.monotonic() - flushed_at >= CURSOR_FLUSH_S:
                publish_raw(lake, settings.name, written, run_id)
                state.move(lake, settings.name, durable, links, run_id)
                written, durable, links, flushed_at = [], {}, {}, time.monotonic()
    finally:
        try:
            publish_raw(lake, settings.name, written, run_id)
            state.move(lake, settings.name, durable, links, run_id)
        finally:
            connector.close()


def _write_raw(lake: Lake, settings: SourceSettings, run_id: str, partition: str, seq: int,
               batch: list[RawRecord]):
    rows = raw_rows(settings, run_id, batch, datetime.now(timezone.utc))
    return write_raw(lake, settings.name, run_id, partition, seq, rows)


def _normalize_pending(config: Config, lake: Lake, settings: SourceSettings, run_id: str,
                       res: SourceResult) -> None:
    """Normalise every raw file no run has finished with: this run's, and any a killed run left."""
    pending, raw_version = pending_raw(lake, settings.name)
    if not pending:
        return
    existing = live_files(lake, settings.name, "events")
    rejected = reject_keys(lake, live_files(lake, settings.name, "rejects"))
    new_files: list = []
    all_written: list = []
    people = known_people(lake, settings.name)    # other sources' people: unchanged until this one publishes
    out = written = None   # no pass at all when every pending file was set aside
    for number, chunk in enumerate(raw_chunks(lake, pending, NORMALIZE_RECORDS_AT_ONCE, res.quarantined.append)):
        part = f"-{number:04d}" if number else ""
        out, written = normalize_files(config, lake, settings, chunk, run_id, part, people=people)
        res.rejects += count_new_rejects(out.rejects, rejected)
        new_files += [f for f in written if lake.rel(f).startswith("events/")]
        all_written += written
    del out, written     # the last pass's tables are not kept through the commits
    res.events += count_new_in_files(lake, existing, new_files)
    publish_normalized(lake, settings.name, all_written, run_id, raw_version)
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)


# ---------------------------------------------------------------- normalize

def normalize(config: Config, names=None, on_records: OnRecords = _quiet) -> RunResult:
    """Re-run normalisation over each source's whole raw history, replacing its events."""
    recover_catalog(config)
    lake = Lake.for_config(config)
    result = RunResult(new_run_id(), "normalize")
    started = datetime.now(timezone.utc)
    selected = config.select(names)
    with ExitStack() as locks:
        for settings in selected:
            locks.enter_context(_source_lock(lake, settings.name, 300.0))
        for settings in in_identity_order(selected):
            t0 = time.monotonic()
            res = SourceResult(settings.name)
            result.sources.append(res)
            res.quarantined += sift_source(lake, settings.name)[0]
            _renormalize_source(config, lake, settings, result.run_id, res)
            on_records(settings.name, res.fetched)
            res.seconds = time.monotonic() - t0
        _in_config_order(result, selected)
        state.record_run(lake, result.run_id, "normalize", started, "ok",
                         {s.source: asdict(s) for s in result.sources})
    return result


def _renormalize_source(config: Config, lake: Lake, settings: SourceSettings, run_id: str,
                        res: SourceResult, count_new: bool = False) -> None:
    """Normalise the source's whole raw history into a new generation of files and retire
    the old one. `normalize` counts every event; a backfill (count_new) those new to the lake."""
    raw_version = commits.raw_version(lake)
    raw = lake.raw_files(settings.name)
    old = live_files(lake, settings.name, "events") + live_files(lake, settings.name, "rejects")
    if not count_new:
        res.fetched = len(raw)
    # In passes, as ingest does: memory stays that of one pass however old the lake.
    people = known_people(lake, settings.name)
    new_files: list = []
    all_written: list = []
    # a record fetched on several runs is one reject of the new generation; a backfill
    # counts only those new to the lake
    rejected = reject_keys(lake, [f for f in old if lake.rel(f).startswith("rejects/")]) if count_new else set()
    for number, chunk in enumerate(raw_chunks(lake, raw, NORMALIZE_RECORDS_AT_ONCE, res.quarantined.append)):
        out, written = normalize_files(config, lake, settings, chunk, run_id,
                                       f"-{number:04d}" if number else "", people=people)
        res.events += 0 if count_new else out.events.num_rows
        res.rejects += count_new_rejects(out.rejects, rejected)
        new_files += [f for f in written if lake.rel(f).startswith("events/")]
        all_written += written
        del out
    if count_new:
        res.events += count_new_in_files(lake, [f for f in old if lake.rel(f).startswith("events/")], new_files)
    # The new files are written; each table's commit publishes them and retires the old ones
    # at once (deleted by a later backfill's vacuum, after the retention).
    publish_normalized(lake, settings.name, all_written, run_id, raw_version, retired=old)
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)


# ---------------------------------------------------------------- build

def correlation_settings(config: Config) -> CorrelationSettings:
    return CorrelationSettings(pad_before=config.duration("pad_before"),
                               pad_after=config.duration("pad_after"),
                               depth=int(config.correlation["depth"]),
                               storm_window=config.duration("storm_window"),
                               dedup_window=config.duration("dedup_window"),
                               gap=config.duration("gap"),
                               change_window=config.duration("change_window"),
                               services={k: list(v) for k, v in config.services.items()})


def correlate_incident(config: Config, incident: str) -> str:
    """Correlate over the published files and store under the incident's identity, which
    is returned (see correlate/stored.py)."""
    recover_catalog(config)
    lake = Lake.for_config(config)
    refresh_from_lake(lake)
    events_files, rejects_files = published(lake)
    return stored.correlate_incident(lake, incident, correlation_settings(config), events_files, rejects_files)


@dataclass
class Draft:
    incident_id: str
    report: dict
    paths: list
    assist_note: str | None = None     # one line about --assist, for stderr


def build_draft(config: Config, incident: str, formats: tuple[str, ...], out_dir, templates=None,
                display_tz: str | None = None, assist: bool = False) -> Draft:
    """The whole build: correlate, read the built incident, (ask the model,) render the draft,
    and note in the catalog that it was written."""
    incident_id = correlate_incident(config, incident)
    con = catalog_store.read_only_catalog(Lake.for_config(config))
    try:
        report = load_report(con, incident_id, config.history_window)
    finally:
        con.close()
    note = _assist(config, report) if assist else None
    paths = render.write(report, out_dir, formats, templates, display_tz)
    record_draft(config, incident_id)
    return Draft(incident_id, report, paths, note)


def _assist(config: Config, report: dict) -> str:
    """The model's verified sentences into the report; a failure is one line and the draft
    is written without them (the exit code does not change)."""
    from incident_timeline.export import assist
    from incident_timeline.export.assist.settings import assist_settings
    part = assist.run(report, assist_settings(config))
    report["assisted"] = part
    if part["error"]:
        return f"assist: {part['error']} (the draft was written without the assisted parts)"
    kept = sum(len(part[p]) for p in assist.SECTIONS.values())
    return (f"assist: {kept} sentence(s) kept, {assist.dropped_counts(part)['count']} dropped "
            f"(see the draft's data quality section)")


def merge_incidents(config: Config, keep: str, other: str) -> str:
    """`other` is the same incident as `keep`: fold it in, keep the decision, and rebuild the
    one incident from both; returns its identity."""
    recover_catalog(config)
    return correlate_incident(config, stored.merge_incidents(Lake.for_config(config), keep, other))


def forget_incident(config: Config, incident: str) -> str:
    """Remove an incident (named by any of its refs) from the catalog and the lake's tables/."""
    recover_catalog(config)
    return stored.forget_incident(Lake.for_config(config), incident)


def resolved_without_draft(config: Config, run_id: str) -> list[str]:
    """What `backfill --build-resolved` drafts: incidents resolved since the backfill before
    `run_id` without a draft since."""
    return stored.resolved_without_draft(Lake.for_config(config), run_id)


def record_draft(config: Config, incident_id: str) -> None:
    stored.record_draft(Lake.for_config(config), incident_id)


def incident_window(config: Config, incident: str) -> Window | None:
    """The seed's own window, asked of the source that owns it (pagerduty:Q1 -> pagerduty);
    a service-window seed names its window itself."""
    seed = parse_seed(incident)
    if seed.kind == "service_window":
        return Window(seed.start, seed.end)
    prefix, _, native = incident.partition(":")
    for settings in config.sources:
        if settings.type == prefix or settings.name == prefix:
            connector = CONNECTORS[settings.type](settings)
            try:
                found = connector.incident_window(native)
            finally:
                connector.close()
            if found is not None:
                return found
    return None


def padded(window: Window, pad: timedelta) -> Window:
    return Window(window.since - pad if window.since else None,
                  window.until + pad if window.until else None)
