"""Context records (users, channels, incidents) come from a snapshot, not the raw history."""
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline.lake import commits
from incident_timeline.lake.entity_snapshot import path_of, read_entity_rows
from incident_timeline.lake.layout import Lake
from incident_timeline.lake.storage import LocalStorage
from incident_timeline.normalize.engine import build_entities

T0 = datetime(2026, 10, 1, tzinfo=timezone.utc)
STREAMS = ["channels", "users"]


class RecordingStorage(LocalStorage):
    """The real local storage, noting which Parquet files were read."""

    def __init__(self):
        super().__init__()
        self.read: list[str] = []

    def read_parquet(self, path, **options):
        self.read.append(Path(path).name)
        return super().read_parquet(path, **options)


def _run(lake: Lake, day: int, users: dict[str, str]) -> Path:
    """One run's raw file: the users list as fetched then, a channel and a message."""
    at = T0 + timedelta(days=day)
    rows = [("users", uid, {"id": uid, "real_name": name}) for uid, name in users.items()]
    rows += [("channels", "C1", {"id": "C1", "name": f"inc-{day}"}),
             ("messages", f"C1:{day}", {"type": "message", "user": "U1", "ts": f"{1791000000 + day}.000100"})]
    table = pa.Table.from_pylist([{"run_id": f"run{day}", "source": "slack", "source_type": "slack", "stream": s,
                                   "partition": "C1", "native_id": nid, "parent_id": "C1", "payload": json.dumps(p),
                                   "fetched_at": at} for s, nid, p in rows], schema=RAW_SCHEMA)
    path = lake.raw_dir("slack", at.strftime("%Y-%m-%d")) / f"run{day}.parquet"
    lake.write_parquet(table, path)
    commits.commit(lake, "raw", [path], run_id=f"run{day}", operation="fetch")   # published, as a fetch does
    return path


def _from_history(lake: Lake, exclude: set) -> dict:
    """What normalising used to do: every raw file of the source, read whole."""
    files = [f for f in lake.raw_files("slack") if f not in exclude]
    return build_entities(pa.concat_tables([lake.storage.read_parquet(f, schema=RAW_SCHEMA) for f in files]),
                          STREAMS)


def test_snapshot_gives_what_the_whole_history_gives_and_reads_each_raw_file_once(tmp_path: Path):
    storage = RecordingStorage()
    lake = Lake(tmp_path / "lake", storage)
    first = _run(lake, 1, {"U1": "alice", "U2": "Bob"})
    second = _run(lake, 2, {"U1": "Alice Chen", "U3": "Carol"})    # U1 renamed, U2 gone from the list
    batch = _run(lake, 3, {"U1": "Alice Chen"})

    rows = read_entity_rows(lake, "slack", STREAMS, exclude={batch})
    assert build_entities(rows, STREAMS) == _from_history(lake, {batch})
    assert sorted(zip(rows["stream"].to_pylist(), rows["native_id"].to_pylist())) == [
        ("channels", "C1"), ("users", "U1"), ("users", "U2"), ("users", "U3")]   # one row each: the newest
    assert build_entities(rows, STREAMS)["users"]["U1"]["real_name"] == "Alice Chen"
    assert storage.read[-2:] == [first.name, second.name]

    storage.read.clear()
    again = read_entity_rows(lake, "slack", STREAMS, exclude={batch})
    assert storage.read == [path_of(lake, "slack").name]               # the raw history is not read again
    assert again.equals(rows)

    storage.read.clear()
    read_entity_rows(lake, "slack", STREAMS, exclude=set())            # the next batch: only the new file
    assert storage.read == [path_of(lake, "slack").name, batch.name]


def test_a_lost_or_unreadable_snapshot_is_rebuilt_from_the_raw_files(tmp_path: Path, caplog):
    lake = Lake(tmp_path / "lake", LocalStorage())
    _run(lake, 1, {"U1": "alice"})
    _run(lake, 2, {"U1": "Alice Chen", "U2": "Bob"})
    expected = _from_history(lake, set())
    assert build_entities(read_entity_rows(lake, "slack", STREAMS, set()), STREAMS) == expected
    snapshot = Path(path_of(lake, "slack"))
    snapshot.write_bytes(b"not parquet")
    logger = logging.getLogger("incident_timeline.lake.entity_snapshot")
    logger.addHandler(caplog.handler)      # the CLI's log set-up stops propagation to the root
    try:
        with caplog.at_level(logging.WARNING, logger=logger.name):
            assert build_entities(read_entity_rows(lake, "slack", STREAMS, set()), STREAMS) == expected
    finally:
        logger.removeHandler(caplog.handler)
    assert "rebuilding" in caplog.text
    snapshot.unlink()
    assert build_entities(read_entity_rows(lake, "slack", STREAMS, set()), STREAMS) == expected
    # kept for other streams (a mapper that now reads one more): rebuilt, not trusted
    only_users = read_entity_rows(lake, "slack", ["users"], set())
    assert set(only_users["stream"].to_pylist()) == {"users"}
    assert build_entities(read_entity_rows(lake, "slack", STREAMS, set()), STREAMS) == expected
