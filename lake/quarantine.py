"""A lake Parquet file that cannot be read is named, set aside, and the run goes on.

Set aside means moved, never deleted: `raw/source=pagerduty/date=.../x.parquet` goes to
`_quarantine/raw/source=pagerduty/date=.../x.parquet` in the same lake, a commit retires it
from its table, with one warning line, and the run's summary (and its `runs` row) lists it.
- a raw file: its records are lost unless another copy exists (a later fetch of the same
  window, which an `overlap:` re-read often is); the events already made from it stay in
  the lake until `normalize` re-runs the whole history;
- an events or rejects file: the source's raw history is normalised again, so nothing is
  lost while its raw exists.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path, PurePath

import pyarrow as pa
import pyarrow.parquet as pq

from incident_timeline.lake import commits
from incident_timeline.lake.layout import Lake

log = logging.getLogger("incident_timeline")

FOLDER = "_quarantine"


def why_unreadable(lake: Lake, path: PurePath) -> str | None:
    """None when `path` is a whole Parquet file (its footer and schema read), else why not."""
    try:
        if lake.remote:
            with lake.storage.fs.open(PurePath(path).as_posix(), "rb") as fh:
                pq.ParquetFile(fh).schema_arrow
        else:
            pq.ParquetFile(Path(path)).schema_arrow
    except (OSError, pa.ArrowException, ValueError) as exc:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    return None


def set_aside(lake: Lake, path: PurePath, reason: str) -> str:
    """Move `path` under _quarantine/ (same relative path), warn in one line; returns the
    file's path inside the lake, as the run summary names it."""
    rel = lake.rel(path)
    reason = reason.replace(f" '{lake.uri(path)}'", "").replace(lake.uri(path), rel)
    dest = lake.root / FOLDER / rel
    if lake.remote:
        lake.storage.write_bytes(lake.storage.read_bytes(path), dest)
        lake.storage.delete(path)
    else:
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)
    kind = rel.split("/", 1)[0]
    if kind in commits.KINDS and path in commits.files(lake, kind):
        commits.commit(lake, kind, [], [path], run_id="quarantine", operation="set_aside")
    if rel.startswith("raw/"):
        fate = ("its records are lost unless fetched again (ingest that window with --since/--until); "
                "events already made from it stay until a full normalize")
    else:
        fate = "the source's raw history is normalised again, so its events are made anew"
    log.warning("lake file %s is not readable Parquet (%s): moved to %s/%s; %s", rel, reason, FOLDER, rel, fate)
    return rel


def sift(lake: Lake, files: list) -> tuple[list, list[str]]:
    """(the readable files, the lake paths of those set aside)."""
    good, bad = [], []
    for f in files:
        reason = why_unreadable(lake, f)
        if reason is None:
            good.append(f)
        else:
            bad.append(set_aside(lake, f, reason))
    return good, bad
