"""Where things live in the lake, and how a file gets there whole or not at all."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Lake:
    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def events(self) -> Path:
        return self.root / "events"

    @property
    def rejects(self) -> Path:
        return self.root / "rejects"

    @property
    def catalog(self) -> Path:
        return self.root / "catalog.duckdb"

    def raw_dir(self, source: str, day: str) -> Path:
        return self.raw / source / f"date={day}"

    def events_dir(self, source: str, day: str) -> Path:
        return self.events / f"source={source}" / f"date={day}"

    def rejects_dir(self, source: str, day: str) -> Path:
        return self.rejects / f"source={source}" / f"date={day}"

    def raw_files(self, source: str) -> list[Path]:
        return sorted((self.raw / source).glob("date=*/*.parquet"))

    def event_files(self, source: str | None = None) -> list[Path]:
        pattern = f"source={source}/date=*/*.parquet" if source else "source=*/date=*/*.parquet"
        return sorted(self.events.glob(pattern))

    def reject_files(self, source: str | None = None) -> list[Path]:
        pattern = f"source={source}/date=*/*.parquet" if source else "source=*/date=*/*.parquet"
        return sorted(self.rejects.glob(pattern))


def write_parquet_atomic(table: pa.Table, path: Path) -> Path:
    """Write under a hidden temporary name, fsync, then rename into place.

    Readers glob `*.parquet`, so the `.tmp` file is never seen; rename is atomic on
    one filesystem, so the final name only ever points at a whole file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(path.parent)
    return path


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
