"""Where things live in the lake, and how a file gets there whole or not at all."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePath, PurePosixPath

import duckdb
import pyarrow as pa

from incident_timeline.lake.storage import LocalStorage, ObjectStorage, fsync_dir, write_parquet_atomic

__all__ = ["Lake", "new_run_id", "write_parquet_atomic", "fsync_dir"]


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Lake:
    """The lake's folders. `root` is a local `Path`, or `PurePosixPath("bucket/prefix")` with
    an `ObjectStorage`. The catalog and the lock files are always local: next to a local
    lake, or at `catalog_file` (the `catalog:` key) for a lake on object storage."""

    root: PurePath
    storage: LocalStorage | ObjectStorage = field(default_factory=LocalStorage)
    catalog_file: Path | None = None

    @property
    def remote(self) -> bool:
        return self.storage.remote

    @property
    def raw(self) -> PurePath:
        return self.root / "raw"

    @property
    def events(self) -> PurePath:
        return self.root / "events"

    @property
    def rejects(self) -> PurePath:
        return self.root / "rejects"

    @property
    def cursors(self) -> PurePath:
        """Where each source's partitions are fetched up to (a Delta table, see lake/state.py)."""
        return self.root / "cursors"

    @property
    def manifests(self) -> PurePath:
        """The previous layout's per-source state on object storage (read once by lake/upgrade.py)."""
        return self.root / "_manifests"

    @property
    def shared_tables(self) -> PurePath:
        """The catalog's incident tables as Parquet, for engines that cannot open DuckDB."""
        return self.root / "tables"

    @property
    def catalog(self) -> Path:
        return self.catalog_file if self.catalog_file is not None else Path(self.root) / "catalog.duckdb"

    @property
    def state_dir(self) -> Path:
        """Local folder for the catalog, its writer lock and the per-source locks."""
        return self.catalog.parent

    @classmethod
    def for_config(cls, config) -> "Lake":
        """The lake a loaded Config names: a local folder, or `s3://bucket/prefix`."""
        if config.lake_url is None:
            return cls(Path(config.lake), catalog_file=config.catalog)
        from incident_timeline.lake.storage import object_storage
        bucket_and_prefix = config.lake_url.split("://", 1)[1].strip("/")
        return cls(PurePosixPath(bucket_and_prefix), object_storage(config.s3_credentials()),
                   catalog_file=config.catalog)

    def uri(self, path: PurePath) -> str:
        """What DuckDB, Spark or a person reads: an absolute local path or an s3:// URL."""
        return self.storage.uri(path)

    def rel(self, path: PurePath) -> str:
        """A file's path inside the lake, as the catalog records it."""
        return PurePath(path).relative_to(self.root).as_posix()

    def attach(self, con: duckdb.DuckDBPyConnection) -> str:
        return self.storage.attach(con)

    def query(self, sql: str, params: list) -> list[tuple]:
        """Rows of one query over lake files (parameters only: paths are never SQL text)."""
        con = duckdb.connect()
        try:
            self.attach(con)
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def write_parquet(self, table: pa.Table, path: PurePath) -> PurePath:
        return self.storage.write_parquet(table, path)

    def raw_dir(self, source: str, day: str) -> PurePath:
        return self.raw / f"source={source}" / f"date={day}"

    def events_dir(self, source: str, day: str) -> PurePath:
        return self.events / f"source={source}" / f"date={day}"

    def rejects_dir(self, source: str, day: str) -> PurePath:
        return self.rejects / f"source={source}" / f"date={day}"

    # What is published: the Delta tables' current snapshots (lake/commits.py), never a listing,
    # which also finds the files of a write killed before its commit and retired ones.
    def raw_files(self, source: str) -> list:
        from incident_timeline.lake import commits
        return commits.files(self, "raw", source)

    def event_files(self, source: str | None = None) -> list:
        from incident_timeline.lake import commits
        return commits.files(self, "events", source)

    def reject_files(self, source: str | None = None) -> list:
        from incident_timeline.lake import commits
        return commits.files(self, "rejects", source)
