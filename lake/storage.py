"""Where lake files are kept: a local folder, or an object store (`s3://bucket/prefix`).

Both give a file whole or not at all. Locally: a temporary name, fsync, rename. On object
storage there is no rename, but one PUT is atomic (an object appears whole when the PUT
returns, or not at all), so every file is built in memory and stored by exactly one PUT
under a name no other run uses. What a reader may see is decided by the tables' Delta
commits (lake/commits.py), never by a listing.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from fnmatch import fnmatchcase
from pathlib import Path, PurePath, PurePosixPath
from typing import Iterator

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_COMPRESSION = "zstd"


def write_parquet_atomic(table: pa.Table, path: Path) -> Path:
    """Write under a hidden temporary name, fsync, then rename into place.

    Readers glob `*.parquet`, so the `.tmp` file is never seen; rename is atomic on
    one filesystem, so the final name only ever points at a whole file.
    """
    with _replaced_whole(path) as tmp:
        pq.write_table(table, tmp, compression=PARQUET_COMPRESSION)
    return path


def write_bytes_atomic(data: bytes, path: Path) -> Path:
    with _replaced_whole(path) as tmp:
        tmp.write_bytes(data)
    return path


@contextmanager
def _replaced_whole(path: Path) -> Iterator[Path]:
    """A temporary name next to `path` to write; on success it is fsynced and renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage:
    """Lake files in a local folder (paths are `pathlib.Path`)."""

    remote = False

    def uri(self, path: PurePath) -> str:
        path = Path(path)
        # resolve() stats every component: a build lists thousands of files, already absolute
        return str(path) if path.is_absolute() else str(path.resolve())

    def glob(self, folder: PurePath, pattern: str) -> list[Path]:
        return sorted(Path(folder).glob(pattern))

    def exists(self, path: PurePath) -> bool:
        return Path(path).exists()

    def delete(self, path: PurePath) -> None:
        Path(path).unlink(missing_ok=True)

    def write_parquet(self, table: pa.Table, path: PurePath) -> Path:
        return write_parquet_atomic(table, Path(path))

    def write_bytes(self, data: bytes, path: PurePath) -> Path:
        return write_bytes_atomic(data, Path(path))

    def read_bytes(self, path: PurePath) -> bytes:
        return Path(path).read_bytes()

    def read_parquet(self, path: PurePath, **options) -> pa.Table:
        return pq.read_table(Path(path), **options)

    def parquet_facts(self, path: PurePath) -> tuple[int, int]:
        """(bytes, rows) of a Parquet file, as a Delta commit records them."""
        return os.path.getsize(path), pq.read_metadata(Path(path)).num_rows

    def attach(self, con: duckdb.DuckDBPyConnection) -> str:
        """Make the lake readable from `con`; returns how (nothing to do for local files)."""
        return "local"


class ObjectStorage:
    """Lake files on S3 or an S3-compatible store, through an fsspec filesystem (s3fs).

    Paths are `PurePosixPath("bucket/prefix/...")`; `uri()` adds the `s3://` scheme. DuckDB
    reads through its httpfs extension when that loads here, else through the same fsspec
    filesystem registered on the connection (which needs no extension download).
    """

    remote = True

    def __init__(self, fs, credentials: "S3Credentials", scheme: str = "s3"):
        self.fs = fs
        self.credentials = credentials
        self.scheme = scheme

    def uri(self, path: PurePath) -> str:
        return f"{self.scheme}://{PurePosixPath(path).as_posix()}"

    def glob(self, folder: PurePath, pattern: str) -> list[PurePosixPath]:
        """One recursive listing (a request per 1,000 keys), matched here segment by segment:
        a store has no folders, and walking them level by level costs a request per level."""
        base = PurePosixPath(folder).as_posix()
        wanted = pattern.split("/")
        while len(wanted) > 1 and not any(c in wanted[0] for c in "*?["):   # list only below literals
            base, wanted = f"{base}/{wanted[0]}", wanted[1:]
        found = []
        for key in self.fs.find(base):
            parts = key[len(base) + 1:].split("/")
            if len(parts) == len(wanted) and all(fnmatchcase(p, w) for p, w in zip(parts, wanted)):
                found.append(PurePosixPath(key))
        return sorted(found)

    def exists(self, path: PurePath) -> bool:
        return bool(self.fs.exists(PurePosixPath(path).as_posix()))

    def delete(self, path: PurePath) -> None:
        try:
            self.fs.rm_file(PurePosixPath(path).as_posix())
        except FileNotFoundError:
            pass

    def write_parquet(self, table: pa.Table, path: PurePath) -> PurePosixPath:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression=PARQUET_COMPRESSION)
        return self.write_bytes(sink.getvalue().to_pybytes(), path)

    def write_bytes(self, data: bytes, path: PurePath) -> PurePosixPath:
        # One PUT of the whole object: it appears complete or not at all.
        self.fs.pipe_file(PurePosixPath(path).as_posix(), data)
        return PurePosixPath(path)

    def read_bytes(self, path: PurePath) -> bytes:
        return self.fs.cat_file(PurePosixPath(path).as_posix())

    def read_parquet(self, path: PurePath, **options) -> pa.Table:
        return pq.read_table(PurePosixPath(path).as_posix(), filesystem=self.fs, **options)

    def parquet_facts(self, path: PurePath) -> tuple[int, int]:
        key = PurePosixPath(path).as_posix()
        with self.fs.open(key, "rb") as fh:
            return int(self.fs.info(key)["size"]), pq.read_metadata(fh).num_rows

    def attach(self, con: duckdb.DuckDBPyConnection) -> str:
        """httpfs if it loads (it is never downloaded from here), else the fsspec filesystem."""
        if self.credentials.duckdb_secret_sql() and _load_httpfs(con):
            con.execute(self.credentials.duckdb_secret_sql())
            return "httpfs"
        con.register_filesystem(self.fs)
        return "fsspec"


def _load_httpfs(con: duckdb.DuckDBPyConnection) -> bool:
    if os.environ.get("INCIDENT_TIMELINE_DUCKDB_S3", "").lower() == "fsspec":
        return False
    try:
        con.execute("LOAD httpfs")
        return True
    except duckdb.Error:
        return False


class S3Credentials:
    """Endpoint, region and keys for the object store. Never printed: repr hides the keys."""

    def __init__(self, endpoint_url: str | None, region: str | None, access_key_id: str | None,
                 secret_access_key: str | None, session_token: str | None = None):
        self.endpoint_url = endpoint_url
        self.region = region
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token

    def __repr__(self) -> str:
        return f"S3Credentials(endpoint_url={self.endpoint_url!r}, region={self.region!r}, keys=***)"

    def s3fs_options(self) -> dict:
        client = {k: v for k, v in (("endpoint_url", self.endpoint_url), ("region_name", self.region)) if v}
        options: dict = {"client_kwargs": client, "use_listings_cache": False, "skip_instance_cache": True}
        if self.access_key_id:
            options.update(key=self.access_key_id, secret=self.secret_access_key, token=self.session_token)
        return options

    def duckdb_secret_sql(self) -> str:
        """A temporary (session-only, never persisted) DuckDB secret for httpfs."""
        if not self.access_key_id:
            return ""
        parts = {"TYPE": "s3", "KEY_ID": self.access_key_id, "SECRET": self.secret_access_key or ""}
        if self.session_token:
            parts["SESSION_TOKEN"] = self.session_token
        if self.region:
            parts["REGION"] = self.region
        if self.endpoint_url:
            scheme, _, host = self.endpoint_url.partition("://")
            parts.update(ENDPOINT=host.rstrip("/"), URL_STYLE="path", USE_SSL="true" if scheme == "https" else "false")
        body = ", ".join(f"{k} {v}" if k == "TYPE" or v in ("true", "false") else f"{k} {_sql_str(v)}"
                         for k, v in parts.items())
        return f"CREATE OR REPLACE TEMPORARY SECRET incident_timeline_lake ({body})"


def object_storage(credentials: S3Credentials) -> ObjectStorage:
    import s3fs   # only an object-storage lake needs it

    return ObjectStorage(s3fs.S3FileSystem(**credentials.s3fs_options()), credentials)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
