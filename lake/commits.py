"""How the lake's tables publish: `raw`, `events` and `rejects` are Delta tables, and a file
is in one when a Delta commit says so.

Files are written whole first (lake/storage.py: rename locally, one PUT on object storage)
under `<table>/source=<s>/date=<UTC day>/`, then one commit adds them, and removes what
they replace (compaction, a new normalisation), for every reader at once. A file of a job
killed before its commit is in no snapshot: no reader sees it, and `vacuum` deletes it
after the retention. Commits of different sources never conflict: each source's files are
added and removed only by that source's job, so a commit refused because another one landed
first is simply made again on the new snapshot (after checking that the files it removes are
still there).

The events commit that publishes a normalisation records, as a Delta app transaction, the
raw table's version the source is normalised up to: the raw files added after that version
are what the next run normalises (a run killed after fetching and before that commit is
finished by the next one). The raw table keeps its whole log
(`delta.enableExpiredLogCleanup = false`) so that version can always be opened; that is one
small JSON file per commit, read only back to the last checkpoint.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path, PurePath

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Schema, Transaction
from deltalake.exceptions import CommitFailedError, DeltaError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from incident_timeline.contract.schemas import EVENT_SCHEMA, RAW_SCHEMA, REJECT_SCHEMA
from incident_timeline.lake import delta
from incident_timeline.lake.layout import Lake

KINDS = ("raw", "events", "rejects", "cursors")
CURSOR_SCHEMA = pa.schema([("source", pa.string()), ("partition", pa.string()),
                          ("value", pa.timestamp("us", tz="UTC")), ("link", pa.string()),
                          ("updated_at", pa.timestamp("us", tz="UTC"))])
_SCHEMAS = {"raw": RAW_SCHEMA, "events": EVENT_SCHEMA, "rejects": REJECT_SCHEMA, "cursors": CURSOR_SCHEMA}
_CONFIGURATION = {"raw": {"delta.enableExpiredLogCleanup": "false"}}
_PARTITIONS = {"cursors": ["source"]}   # the others: source and UTC day (delta.PARTITION_BY)
COMMIT_ATTEMPTS = 20


class ConcurrentChange(RuntimeError):
    """A file this commit removes was removed by another commit first."""


@dataclass(frozen=True)
class Added:
    """A written file to publish, with its partition (the folder names say it, but a file of
    the previous layout is published where it lies)."""

    path: PurePath
    source: str
    day: str | None = None


def partition_by(kind: str) -> list[str]:
    return _PARTITIONS.get(kind, delta.PARTITION_BY)


def table_schema(kind: str) -> pa.Schema:
    """The Delta table's schema: the contract's columns plus the `date` partition, if it has one."""
    extra = [pa.field("date", pa.date32())] if "date" in partition_by(kind) else []
    return pa.schema(list(_SCHEMAS[kind]) + extra)


def location(lake: Lake, kind: str) -> delta.Location:
    folder = getattr(lake, kind)
    if lake.remote:
        return delta.Location(lake.uri(folder), delta.s3_storage_options(lake.storage.credentials))
    return delta.Location(str(Path(folder).resolve()))


def open_table(lake: Lake, kind: str, version: int | None = None) -> DeltaTable | None:
    """The table (at `version`, default the newest), or None when it has no commit yet."""
    loc = location(lake, kind)
    if version is not None:
        return DeltaTable(loc.uri, version=version, storage_options=loc.storage_options)
    identity = None if lake.remote else _first_commit(loc.uri)
    cached = _opened.get(loc.uri)
    if cached is not None and cached[1] == identity:
        try:
            cached[0].update_incremental()   # reads only the commits since: a run commits dozens of times
            return cached[0]
        except DeltaError:
            pass
    _opened.pop(loc.uri, None)   # never opened, or removed (or made anew) under this process
    if not loc.exists():
        return None
    _opened[loc.uri] = (DeltaTable(loc.uri, storage_options=loc.storage_options), _first_commit(loc.uri)
                        if not lake.remote else None)
    return _opened[loc.uri][0]


def _first_commit(uri: str) -> tuple[int, int] | None:
    """Which local table this is: its first commit file's inode and change time (None: none)."""
    try:
        st = os.stat(Path(uri) / "_delta_log" / _FIRST_COMMIT)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


# Tables this process has opened, by URI: opening one replays its log from the last checkpoint
# (about 12 ms with a few dozen commits), updating an open one reads only what is new.
_opened: dict[str, tuple[DeltaTable, tuple[int, int] | None]] = {}
_FIRST_COMMIT = "00000000000000000000.json"


def exists(lake: Lake, kind: str) -> bool:
    return location(lake, kind).exists()


def files(lake: Lake, kind: str, source: str | None = None, table: DeltaTable | None = None) -> list[PurePath]:
    """The snapshot's data files (of `source` when given), as lake paths, sorted."""
    table = table or open_table(lake, kind)
    if table is None:
        return []
    predicate = [("source", "=", source)] if source is not None else None
    base = table.table_uri.rstrip("/") + "/"
    folder = getattr(lake, kind)
    return sorted(folder / uri[len(base):] if uri.startswith(base) else folder / _after_table(uri, kind)
                  for uri in table.file_uris(file_pruning_predicate=predicate))


def sources(lake: Lake, kind: str) -> list[str]:
    """The sources with files in the table's snapshot."""
    table = open_table(lake, kind)
    if table is None:
        return []
    actions = pa.table(table.get_add_actions(flatten=True))
    return sorted(set(actions.column("partition.source").to_pylist()) - {None}) if actions.num_rows else []


def _after_table(uri: str, kind: str) -> str:
    # file_uris gives the table's own URI form (file://, s3://); the part after `/<kind>/` is the file
    return uri.split(f"/{kind}/", 1)[1]


def added(path: PurePath) -> Added:
    """A file written under `<table>/source=<s>/date=<d>/`, to publish."""
    parts = {p.split("=", 1)[0]: p.split("=", 1)[1] for p in PurePath(path).parts if "=" in p}
    return Added(PurePath(path), parts["source"], parts.get("date"))


def commit(lake: Lake, kind: str, add: list[Added] | list[PurePath], remove: list[PurePath] = (), *,
           run_id: str, operation: str, sources: list[str] = (),
           transactions: dict[str, int] | None = None) -> int:
    """Publish `add` and retire `remove` in one commit (with `transactions`, app id -> version);
    returns the table's new version. With nothing to add or remove it still commits when it
    has transactions to record."""
    adds = [a if isinstance(a, Added) else added(a) for a in add]
    remove = list(remove)
    if not adds and not remove and not transactions:
        table = open_table(lake, kind)
        return table.version() if table is not None else -1
    folder = getattr(lake, kind)
    loc = location(lake, kind)
    now_ms = int(time.time() * 1000)
    actions = [_add_action(lake, folder, a, now_ms) for a in adds]
    props = CommitProperties(
        custom_metadata={delta.METADATA_KEY: {"run_id": run_id, "operation": operation,
                                              "sources": sorted(set(sources) | {a.source for a in adds})}},
        app_transactions=[Transaction(app_id=k, version=v) for k, v in sorted((transactions or {}).items())] or None)
    for attempt in range(COMMIT_ATTEMPTS):
        table = open_table(lake, kind)
        try:
            if table is None:
                if remove:
                    raise ConcurrentChange(f"{kind}: no table to remove files from")
                create_table_with_add_actions(loc.uri, Schema.from_arrow(table_schema(kind)), actions, mode="error",
                                              partition_by=partition_by(kind),
                                              configuration=_CONFIGURATION.get(kind),
                                              storage_options=loc.storage_options, commit_properties=props)
            else:
                live = {PurePath(f) for f in files(lake, kind, table=table)}
                gone = [f for f in remove if PurePath(f) not in live]
                if gone:
                    raise ConcurrentChange(f"{kind}: {lake.rel(gone[0])} was retired by another commit")
                removes = [RemoveAction(PurePath(f).relative_to(folder).as_posix(), True, now_ms)
                           for f in remove]
                table.create_write_transaction(actions + removes, mode="append", schema=table.schema(),
                                               partition_by=partition_by(kind), commit_properties=props)
        except (CommitFailedError, DeltaError) as exc:
            if attempt == COMMIT_ATTEMPTS - 1 or not _retryable(exc):
                raise
            time.sleep(min(0.05 * 2 ** attempt, 1.0))
            continue
        return open_table(lake, kind).version()
    raise AssertionError("not reached")


def _retryable(exc: Exception) -> bool:
    """Another commit landed first (or created the table first): try again on the new snapshot."""
    return isinstance(exc, CommitFailedError) or "already exists" in str(exc).lower()


def _add_action(lake: Lake, folder: PurePath, item: Added, now_ms: int) -> AddAction:
    size, rows = lake.storage.parquet_facts(item.path)
    values = {"source": item.source, "date": item.day} if item.day is not None else {"source": item.source}
    return AddAction(PurePath(item.path).relative_to(folder).as_posix(), size, values, now_ms, True,
                     f'{{"numRecords":{rows}}}')


# ------------------------------------------------------------------ what is normalised

def _normalized_app_id(source: str) -> str:
    return f"{delta.METADATA_KEY}.normalized-raw.{source}"


def normalized_raw_version(lake: Lake, source: str) -> int | None:
    """The raw table's version up to which `source` is normalised, as its last events commit says."""
    table = open_table(lake, "events")
    return None if table is None else table.transaction_version(_normalized_app_id(source))


def normalized_through(source: str, raw_version: int) -> dict[str, int]:
    """The app transaction an events commit carries: `source` is normalised up to `raw_version`."""
    return {_normalized_app_id(source): raw_version}


def pending_raw(lake: Lake, source: str) -> tuple[list[PurePath], int]:
    """(the source's raw files no events commit has taken in, the raw version they go up to)."""
    raw = open_table(lake, "raw")
    if raw is None:
        return [], -1
    now = files(lake, "raw", source, table=raw)
    done_at = normalized_raw_version(lake, source)
    if done_at is None:
        return now, raw.version()
    done = set(files(lake, "raw", source, table=open_table(lake, "raw", version=done_at)))
    return [f for f in now if f not in done], raw.version()


def raw_version(lake: Lake) -> int:
    table = open_table(lake, "raw")
    return -1 if table is None else table.version()
