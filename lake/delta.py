"""The lake's tables as Delta Lake tables (delta-rs): the operations the conversion uses.

A Delta table is a folder of Parquet files plus `_delta_log/`, whose numbered commits say
which files are live. A commit is one put-if-absent of the next log entry, so a write is
published whole or not at all: files of a write killed before its commit sit in the folder
but are in no snapshot (`file_uris` never lists them) until `vacuum` deletes them.

Tables are partitioned as today's lake (`source`, `date`); `date` is the UTC day of a
table's time column (ts for events, rejected_at for rejects, fetched_at for raw) and lives
only in the log and the paths, not inside the data files: a reader of bare files gets it
from the path (DuckDB `hive_partitioning = true`).

Every commit written here carries `incident_timeline` commit metadata: the run, what it
did, its sources, and the raw files it normalised; an events commit may also record, as a
Delta app transaction, the raw table's version its source is normalised up to (checkpoints
keep that; commit metadata goes with the log's retention). The log is then the record of
what is in: a run killed after its commit is not redone, one killed before it is. A normalisation
writes the rejects table first and the events table last, so the events commit is the one
that marks raw files done (a crash between the two repeats the rejects, which the rejects
view folds by its key).

`Location` takes delta-rs storage options, so the same calls work on `s3://` (see
`s3_storage_options`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, Transaction, WriterProperties, write_deltalake

PARTITION_BY = ["source", "date"]
METADATA_KEY = "incident_timeline"
# Retired files stay this long: Delta's own default (delta.deletedFileRetentionDuration), far
# longer than any query holding an older snapshot or any write still before its commit.
RETENTION = timedelta(days=7)
WRITER = WriterProperties(compression="ZSTD")   # as the lake's Parquet today (lake/storage.py)
_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")   # the config's rule for source names


@dataclass(frozen=True)
class Location:
    """A Delta table: a local folder or `s3://bucket/prefix/<table>`, with the delta-rs
    storage options it needs (keys included, so they never appear in a repr)."""

    uri: str
    storage_options: dict[str, str] | None = field(default=None, repr=False)

    def exists(self) -> bool:
        return DeltaTable.is_deltatable(self.uri, storage_options=self.storage_options)

    def open(self) -> DeltaTable:
        return DeltaTable(self.uri, storage_options=self.storage_options)


def s3_storage_options(credentials) -> dict[str, str]:
    """delta-rs options from the lake's `S3Credentials` (lake/storage.py). An endpoint that is
    not AWS (MinIO, R2, ...) gets `conditional_put: etag`: it is how delta-rs makes concurrent
    commits safe there; AWS S3 itself has put-if-absent and needs nothing."""
    options = {}
    for key, value in (("AWS_ENDPOINT_URL", credentials.endpoint_url), ("AWS_REGION", credentials.region),
                       ("AWS_ACCESS_KEY_ID", credentials.access_key_id),
                       ("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key),
                       ("AWS_SESSION_TOKEN", credentials.session_token)):
        if value:
            options[key] = value
    endpoint = credentials.endpoint_url or ""
    if endpoint.startswith("http://"):
        options["AWS_ALLOW_HTTP"] = "true"
    if endpoint and "amazonaws.com" not in endpoint:
        options["conditional_put"] = "etag"
    return options


def with_date(table: pa.Table, day_from: str) -> pa.Table:
    """`table` with the `date` partition column: the UTC day of its `day_from` column."""
    utc = pc.cast(table[day_from], pa.timestamp("us", tz="UTC"))
    day = pc.cast(pc.cast(utc, pa.timestamp("us")), pa.date32())   # wall time in UTC, then its day
    if "date" in table.column_names:
        table = table.drop_columns(["date"])
    return table.append_column("date", day)


def append(location: Location, table: pa.Table, *, day_from: str, run_id: str,
           raw_files: Iterable[str] = (), source: str | None = None, raw_version: int | None = None) -> None:
    """Add `table`'s rows as one commit, partitioned by source and day. An empty table still
    commits: its metadata records the raw files (of `source`) that held no events.
    `raw_version`: `source`'s raw is normalised up to that version of the raw table (see
    `normalized_raw_version`)."""
    sources = _sources(table) + ([source] if source is not None else [])
    write_deltalake(location.uri, with_date(table, day_from), mode="append", partition_by=PARTITION_BY,
                    storage_options=location.storage_options, writer_properties=WRITER,
                    commit_properties=_commit("append", run_id, sources, raw_files, source, raw_version))


def replace_source(location: Location, table: pa.Table, *, source: str, day_from: str, run_id: str,
                   raw_files: Iterable[str] = (), raw_version: int | None = None) -> None:
    """Replace every row of `source` with `table`'s, in one commit; other sources keep theirs.
    A reader sees the old rows or the new ones, never both nor neither."""
    _check_one_source(table, source)
    write_deltalake(location.uri, with_date(table, day_from), mode="overwrite", partition_by=PARTITION_BY,
                    predicate=f"source = '{source}'", storage_options=location.storage_options,
                    writer_properties=WRITER,
                    commit_properties=_commit("replace_source", run_id, [source], raw_files, source, raw_version))


def merge_newest(location: Location, table: pa.Table, *, source: str, run_id: str,
                 raw_files: Iterable[str] = (), key: str = "event_id", newest: str = "ingested_at",
                 day_from: str = "ts", snapshot: DeltaTable | None = None) -> dict:
    """Upsert `source`'s rows by `key` in one commit, the newest fetch (`newest`) winning: a row
    fetched again replaces the stored one, an older copy changes nothing, a new key is added.
    Every copy of a key must have the same `day_from` day (events: one ts per event_id).

    The MERGE names the source and the batch's days literally: delta-rs then checks a commit
    made meanwhile against those partitions only, so another source's job is no conflict
    (with the join's partition columns alone, any concurrent append fails the MERGE).
    `snapshot`: the version to merge into (default: the newest)."""
    _check_one_source(table, source)
    _check_columns(key, newest)
    rows = with_date(_newest_per_key(table, key, newest), day_from)
    if not location.exists() or rows.num_rows == 0:
        append(location, rows.drop_columns(["date"]), day_from=day_from, run_id=run_id, raw_files=raw_files,
               source=source)
        return {"num_target_rows_inserted": rows.num_rows, "num_target_rows_updated": 0}
    predicate = f"t.source = '{source}' AND t.date IN ({_days_sql(rows)}) AND t.{key} = s.{key}"
    merger = (snapshot or location.open()).merge(
        rows, predicate, source_alias="s", target_alias="t", writer_properties=WRITER,
        commit_properties=_commit("merge_newest", run_id, [source], raw_files))
    return merger.when_matched_update_all(predicate=f"s.{newest} > t.{newest}").when_not_matched_insert_all().execute()


def compact_newest(location: Location, source: str, days: Iterable, *, run_id: str, key: str = "event_id",
                   newest: str = "ingested_at", snapshot: DeltaTable | None = None) -> int:
    """Rewrite `source`'s partitions of `days` with one row per `key` (the newest), each day in
    as few files as it needs, in one commit. Returns the rows dropped. Another source's commit
    made meanwhile is no conflict; one of the same source fails this one (its rows were not read).
    `snapshot`: the version to read and check against (default: the newest)."""
    _check_source(source)
    days = sorted({str(d) for d in days})
    if not days or not location.exists():
        return 0
    read = snapshot or location.open()
    # pruned while the log is read: `filters=` instead sets up a fragment for every file of the table
    stored = read.to_pyarrow_dataset(
        file_pruning_predicate=[("source", "=", source), ("date", "in", days)]).to_table()
    if stored.num_rows == 0:
        return 0
    rows = _newest_per_key(stored, key, newest)
    write_deltalake(read, rows, mode="overwrite", partition_by=PARTITION_BY,
                    predicate=f"source = '{source}' AND date IN ({_days_sql(rows)})",
                    storage_options=location.storage_options, writer_properties=WRITER,
                    commit_properties=_commit("compact_newest", run_id, [source], ()))
    return stored.num_rows - rows.num_rows


def compact(location: Location, source: str, *, run_id: str, target_size: int | None = None) -> dict:
    """Merge `source`'s small files, each day partition into as few files as the target size
    allows. Rows do not change; the replaced files stay until `vacuum`."""
    _check_source(source)
    return location.open().optimize.compact(
        partition_filters=[("source", "=", source)], target_size=target_size, writer_properties=WRITER,
        commit_properties=_commit("compact", run_id, [source], ()))


def vacuum(location: Location, *, retention: timedelta = RETENTION, orphans: bool = True) -> list[str]:
    """Delete files retired by a commit longer than `retention` ago; with `orphans`, also files
    no commit ever listed (a killed write's) whose last change is older than `retention`.
    Returns the deleted paths, relative to the table."""
    hours, rest = divmod(retention, timedelta(hours=1))
    if rest or hours < 0:
        raise ValueError(f"vacuum: retention must be a whole number of hours, not {retention}")
    return location.open().vacuum(retention_hours=int(hours), dry_run=False, enforce_retention_duration=False,
                                  full=orphans)


def file_uris(location: Location, source: str | None = None, days: Iterable | None = None) -> list[str]:
    """The current snapshot's data files (absolute paths or URLs): what a view or another
    engine reads. Only `source`'s and only `days`' (dates or "YYYY-MM-DD") when given."""
    if not location.exists():
        return []
    filters = []
    if source is not None:
        filters.append(("source", "=", source))
    if days is not None:
        filters.append(("date", "in", sorted(str(d) for d in days)))
    return sorted(location.open().file_uris(file_pruning_predicate=filters or None))


def normalized_raw_version(location: Location, source: str) -> int | None:
    """The raw table's version up to which `source`'s raw is normalised, as the last commit that
    said so recorded it (a Delta app transaction); None when none did."""
    if not location.exists():
        return None
    return location.open().transaction_version(_raw_app_id(source))


def normalized_raw_files(location: Location, source: str | None = None) -> set[str]:
    """The raw files whose records the table's commits say are in (of `source`, when given).

    It reads the commits' metadata, and the log keeps commits only for
    `delta.logRetentionDuration` (30 days by default) once a checkpoint is written: for what is
    older, rely on `normalized_raw_version`, which checkpoints keep."""
    if not location.exists():
        return set()
    done = set()
    for commit in location.open().history():
        meta = commit.get(METADATA_KEY)
        if not isinstance(meta, dict) or (source is not None and source not in meta.get("sources", [])):
            continue
        done.update(meta.get("raw_files", []))
    return done


def _commit(operation: str, run_id: str, sources: Iterable[str], raw_files: Iterable[str],
            source: str | None = None, raw_version: int | None = None) -> CommitProperties:
    transactions = None
    if raw_version is not None:
        if source is None:
            raise ValueError("raw_version needs the source it is of")
        transactions = [Transaction(app_id=_raw_app_id(source), version=raw_version)]
    return CommitProperties(custom_metadata={METADATA_KEY: {
        "run_id": run_id, "operation": operation, "sources": sorted(set(sources)),
        "raw_files": sorted(set(raw_files))}}, app_transactions=transactions)


def _raw_app_id(source: str) -> str:
    return f"{METADATA_KEY}.normalized-raw.{source}"


def _sources(table: pa.Table) -> list[str]:
    return [s for s in pc.unique(table["source"]).to_pylist() if s is not None]


def _newest_per_key(table: pa.Table, key: str, newest: str) -> pa.Table:
    """One row per `key`: the one with the greatest `newest` (of equal ones, any)."""
    if table.num_rows == 0:
        return table
    order = pc.sort_indices(table, sort_keys=[(key, "ascending"), (newest, "descending")])
    ordered = table.take(order)
    keys = ordered[key].combine_chunks()
    first = pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1))
    return ordered.filter(pa.concat_arrays([pa.array([True]), first.fill_null(True)]))


def _days_sql(rows: pa.Table) -> str:
    # dates from pyarrow, never text from a record: safe to write into the predicate
    return ", ".join(f"'{d.isoformat()}'" for d in sorted(set(rows["date"].to_pylist())))


def _check_one_source(table: pa.Table, source: str) -> None:
    _check_source(source)
    others = set(_sources(table)) - {source}
    if others:
        raise ValueError(f"rows of {source!r} expected; the rows hold other sources too: {sorted(others)}")


def _check_columns(*names: str) -> None:
    for name in names:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"not a column name: {name!r}")


def _check_source(source: str) -> None:
    # delta-rs takes a predicate as SQL text only: the name is checked, never trusted.
    if not isinstance(source, str) or not _SOURCE.match(source):
        raise ValueError(f"not a source name: {source!r}")
