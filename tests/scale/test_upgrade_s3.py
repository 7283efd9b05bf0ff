"""A lake on s3:// of the previous version (its files, and per-source manifests of format 1
saying which are published, which raw files are normalised, and the cursors) becomes Delta
tables in place, from a machine with a new, empty catalog."""
from __future__ import annotations

import json
import tarfile
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import yaml

from tests.support import cli, demo_sources, query_rows

from .conftest import Bucket

PREVIOUS = Path(__file__).parent.parent / "lake" / "previous_layout.tar.gz"


def _iso(value) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def _manifests(catalog: Path) -> dict[str, dict]:
    """The manifests the previous version wrote for each source on object storage, from the
    same state its catalog holds (its `write_manifest`: format 1)."""
    con = duckdb.connect(str(catalog), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    try:
        bodies = {}
        for (source,) in con.execute("SELECT DISTINCT source FROM raw_normalized ORDER BY 1").fetchall():
            files = con.execute("SELECT path, kind, added_at, superseded_at FROM lake_files WHERE source = ?",
                                [source]).fetchall()
            raw = con.execute("SELECT path, run_id, normalized_at FROM raw_normalized WHERE source = ?",
                              [source]).fetchall()
            cursors = con.execute('SELECT "partition", value, updated_at FROM cursors WHERE source = ?',
                                  [source]).fetchall()
            bodies[source] = {
                "format": 1, "source": source, "written_at": _iso(datetime.now(timezone.utc)),
                "files": [{"path": p, "kind": k, "added_at": _iso(a), "superseded_at": _iso(s)}
                          for p, k, a, s in files],
                "raw_normalized": [{"path": p, "run_id": r, "normalized_at": _iso(n)} for p, r, n in raw],
                "cursors": [{"partition": p, "value": _iso(v), "updated_at": _iso(u)} for p, v, u in cursors],
                "cursor_links": []}
        return bodies
    finally:
        con.close()


def test_an_s3_lake_of_the_previous_version_is_upgraded_from_a_new_machine(tmp_path, bucket: Bucket):
    with tarfile.open(PREVIOUS) as archive:
        archive.extractall(tmp_path / "old", filter="data")
    old = tmp_path / "old" / "lake"
    for f in sorted(old.rglob("*.parquet")):
        bucket.put(f"prod/{f.relative_to(old).as_posix()}", f.read_bytes())
    bodies = _manifests(old / "catalog.duckdb")
    for source, body in bodies.items():
        bucket.put(f"prod/_manifests/{source}/0000000007-20261201T000000000000Z-abcd1234.json",
                   json.dumps(body).encode())
    live = sorted(f["path"] for b in bodies.values() for f in b["files"]
                  if f["kind"] == "events" and f["superseded_at"] is None)
    assert len(live) < len([k for k in bucket.keys("prod/events/")])     # retired files are there too

    cfg = tmp_path / "new" / "connectors.yaml"
    cfg.parent.mkdir()
    cfg.write_text(yaml.safe_dump({"lake": bucket.url(), "catalog": str(tmp_path / "new" / "catalog.duckdb"),
                                   "sources": demo_sources()}), encoding="utf-8")
    result = cli(cfg, "lake", "upgrade")
    assert result.exit_code == 0, result.output

    listed = cli(cfg, "lake-files").output.split()
    assert listed == sorted(f"{bucket.url()}/{p}" for p in live)
    assert bucket.keys("prod/_manifests/") == []
    assert bucket.keys("prod/events/_delta_log/") and bucket.keys("prod/cursors/_delta_log/")
    cursors = {(r["source"], r["partition"]) for r in query_rows(cfg, 'SELECT source, "partition" FROM cursors')}
    assert cursors == {(s, c["partition"]) for s, b in bodies.items() for c in b["cursors"]}
    counts = {r["source"]: r["n"] for r in query_rows(cfg, "SELECT source, count(*) AS n FROM events GROUP BY 1")}
    assert set(counts) == set(bodies) and all(counts.values())
