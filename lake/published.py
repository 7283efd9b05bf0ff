"""Which events and rejects files are live, and the work that changes that list: publishing
a normalisation, counting what is new to it, compacting a source, vacuuming, setting aside
unreadable files, and following what other machines committed to a lake on object storage."""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

import pyarrow as pa

from incident_timeline.lake import catalog_store, commits, delta, quarantine
from incident_timeline.lake.compaction import compact_partitions
from incident_timeline.lake.layout import Lake
from incident_timeline.lake.written import count_new_events

log = logging.getLogger("incident_timeline")


def live_files(lake: Lake, source: str, kind: str) -> list:
    """The source's published `kind` ("events" or "rejects") files."""
    return commits.files(lake, kind, source)


def published(lake: Lake) -> tuple[list[str], list[str]]:
    """URIs of every live events file and rejects file."""
    return ([lake.uri(f) for f in commits.files(lake, "events")],
            [lake.uri(f) for f in commits.files(lake, "rejects")])


def publish_normalized(lake: Lake, source: str, written: list, run_id: str, raw_version: int,
                       retired: list = ()) -> None:
    """Publish a normalisation of `source`'s raw up to `raw_version`: its rejects, then its
    events with the record of that raw version, each one commit; `retired` (a whole new
    normalisation's old files) leave in the same commits. Killed between the two, the raw is
    normalised again by the next run, and its rejects fold into the ones already there (the
    rejects view's key)."""
    by_kind = {kind: [f for f in written if lake.rel(f).startswith(kind + "/")] for kind in ("events", "rejects")}
    old = {kind: [f for f in retired if lake.rel(f).startswith(kind + "/")] for kind in ("events", "rejects")}
    commits.commit(lake, "rejects", by_kind["rejects"], old["rejects"], run_id=run_id, operation="normalize",
                   sources=[source])
    commits.commit(lake, "events", by_kind["events"], old["events"], run_id=run_id, operation="normalize",
                   sources=[source], transactions=commits.normalized_through(source, raw_version))


def count_new_in_files(lake: Lake, existing: list, written: list) -> int:
    """Events of `written` whose event_id no file of `existing` holds, one day folder at a
    time: every version of an event has the same ts, so only that day's files can hold it
    (checking each pass against the source's whole history read it again for every pass)."""
    by_day: dict = defaultdict(list)
    for f in existing:
        by_day[f.parent].append(f)
    written_by_day: dict = defaultdict(list)
    for f in written:
        written_by_day[f.parent].append(f)
    new = 0
    for folder, files in written_by_day.items():
        ids = pa.concat_tables([lake.storage.read_parquet(f, columns=["event_id"]) for f in files])
        new += count_new_events(lake, by_day[folder], ids)
    return new


def compact_source(lake: Lake, source: str, run_id: str) -> None:
    """Merge each day's files of the source into one (one row per event), one commit per table."""
    for kind in ("events", "rejects"):
        live = commits.files(lake, kind, source)
        written, replaced = compact_partitions(lake, live, kind, run_id)
        if replaced:
            commits.commit(lake, kind, written, replaced, run_id=run_id, operation="compact", sources=[source])
            log.info("%s: compacted %d %s files into %d", source, len(replaced), kind, len(written))


def vacuum(lake: Lake, retention: timedelta = delta.RETENTION) -> int:
    """Delete what no snapshot of the last `retention` needs: files compaction or a new
    normalisation retired, and files of writes killed before their commit. Returns how many."""
    deleted = 0
    for kind in commits.KINDS:
        if commits.exists(lake, kind):
            deleted += len(delta.vacuum(commits.location(lake, kind), retention=retention))
    return deleted


def sift_source(lake: Lake, source: str, raw: bool = False) -> tuple[list[str], bool]:
    """Set aside the source's events and rejects files (and with `raw`, its raw files) that
    are not readable Parquet: (what was set aside, whether an events or rejects file was one:
    its events must then be made again from raw). A footer read per file: about a second for
    a year's local lake. On object storage each object was written by one whole PUT, and a
    read there costs a request: only the raw files a run reads are checked (lake.raw.raw_chunks)."""
    if lake.remote:
        return [], False
    _, bad = quarantine.sift(lake, lake.event_files(source) + lake.reject_files(source))
    set_aside = list(bad)
    if raw:
        set_aside += quarantine.sift(lake, lake.raw_files(source))[1]
    return set_aside, bool(bad)


def refresh_from_lake(lake: Lake) -> None:
    """On object storage, point this machine's catalog at what every machine's jobs have
    committed, not at this catalog's last copy. Local lake: nothing to do (every job here
    publishes to this catalog)."""
    if lake.remote:
        with catalog_store.catalog_writer(lake) as con:
            catalog_store.publish(con, lake)
