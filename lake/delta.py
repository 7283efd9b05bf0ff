"""Delta Lake locations and retention: where a table is and what delta-rs needs to reach it,
and `vacuum`. What is committed, and how, is lake/commits.py.

A Delta table is a folder of Parquet files plus `_delta_log/`, whose numbered commits say
which files are live. A commit is one put-if-absent of the next log entry, so a write is
published whole or not at all: files of a write killed before its commit sit in the folder
but are in no snapshot until `vacuum` deletes them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from deltalake import DeltaTable

PARTITION_BY = ["source", "date"]
METADATA_KEY = "incident_timeline"
# Retired files stay this long: Delta's own default (delta.deletedFileRetentionDuration), far
# longer than any query holding an older snapshot or any write still before its commit.
RETENTION = timedelta(days=7)


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


def vacuum(location: Location, *, retention: timedelta = RETENTION, orphans: bool = True) -> list[str]:
    """Delete files retired by a commit longer than `retention` ago; with `orphans`, also files
    no commit ever listed (a killed write's) whose last change is older than `retention`.
    Returns the deleted paths, relative to the table."""
    hours, rest = divmod(retention, timedelta(hours=1))
    if rest or hours < 0:
        raise ValueError(f"vacuum: retention must be a whole number of hours, not {retention}")
    return location.open().vacuum(retention_hours=int(hours), dry_run=False, enforce_retention_duration=False,
                                  full=orphans)
