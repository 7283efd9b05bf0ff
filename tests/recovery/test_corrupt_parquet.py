"""A truncated raw or events Parquet file is named, moved to _quarantine/ in the lake, and
the run goes on; backfill checks the files it reads and says which it set aside."""
from __future__ import annotations

import json
import shutil

import pytest

from incident_timeline.lake import commits
from incident_timeline.lake.layout import Lake
from tests.support import cli, query_rows, demo_sources, write_config


_cli, _rows = cli, query_rows


EVENTS = "SELECT source, kind, event_id, ts, title FROM events ORDER BY ALL"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ingested")
    cfg = write_config(tmp, demo_sources())
    assert _cli(cfg, "ingest").exit_code == 0
    return tmp


@pytest.fixture
def lake(ingested, tmp_path):
    shutil.copytree(ingested / "lake", tmp_path / "lake")
    return tmp_path / "lake", write_config(tmp_path, demo_sources())


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _warned_about(stderr: str, rel: str) -> list[str]:
    return [line for line in stderr.splitlines() if "WARNING" in line and rel in line]


def _last_run(cfg, command):
    rows = _rows(cfg, f"SELECT summary FROM runs WHERE command = '{command}' ORDER BY finished_at DESC LIMIT 1")
    return json.loads(rows[0]["summary"])


def test_backfill_sets_aside_a_truncated_events_file_and_makes_its_events_again(lake):
    root, cfg = lake
    before = _rows(cfg, EVENTS)
    victim = sorted((root / "events" / "source=slack").glob("date=*/*.parquet"))[0]
    rel = victim.relative_to(root).as_posix()
    _truncate(victim)

    result = _cli(cfg, "backfill")
    assert result.exit_code == 0, result.output
    assert len(_warned_about(result.stderr, rel)) == 1, result.stderr
    assert "_quarantine/" + rel in _warned_about(result.stderr, rel)[0]
    assert (root / "_quarantine" / rel).exists() and not victim.exists()
    slack_line = next(line for line in result.stderr.splitlines() if line.startswith("slack "))
    assert "set aside" in slack_line and rel in slack_line
    assert _last_run(cfg, "backfill")["slack"]["quarantined"] == [rel]
    assert _rows(cfg, EVENTS) == before                      # nothing lost: its raw is still there


def test_backfill_notices_a_truncated_raw_file_and_keeps_its_events(lake):
    root, cfg = lake
    before = _rows(cfg, EVENTS)
    victim = sorted((root / "raw" / "source=jira").glob("date=*/*.parquet"))[0]
    rel = victim.relative_to(root).as_posix()
    _truncate(victim)

    result = _cli(cfg, "backfill")
    assert result.exit_code == 0, result.output
    warned = _warned_about(result.stderr, rel)
    assert len(warned) == 1 and "lost unless fetched again" in warned[0], result.stderr
    assert (root / "_quarantine" / rel).exists()
    assert _last_run(cfg, "backfill")["jira"]["quarantined"] == [rel]
    assert _rows(cfg, EVENTS) == before                      # the events made from it stay


def test_a_truncated_raw_copy_waiting_to_be_normalised_loses_nothing(lake):
    """A second copy of records, published and then damaged on disk, is set aside; the first
    copy's events are all still there."""
    root, cfg = lake
    before = _rows(cfg, EVENTS)
    original = sorted((root / "raw" / "source=pagerduty").glob("date=*/*.parquet"))[0]
    copy = original.with_name("20991231T000000000000Z-deadbeef-all-00000.parquet")
    copy.write_bytes(original.read_bytes())
    commits.commit(Lake(root), "raw", [copy], run_id="20991231T000000000000Z-deadbeef", operation="fetch")
    copy.write_bytes(original.read_bytes()[:200])
    rel = copy.relative_to(root).as_posix()

    result = _cli(cfg, "ingest", "--source", "pagerduty")
    assert result.exit_code == 0, result.output
    assert len(_warned_about(result.stderr, rel)) == 1, result.stderr
    assert (root / "_quarantine" / rel).exists()
    assert _rows(cfg, EVENTS) == before


def test_normalize_sets_aside_a_truncated_events_file(lake):
    root, cfg = lake
    before = _rows(cfg, EVENTS)
    victim = sorted((root / "events" / "source=pagerduty").glob("date=*/*.parquet"))[0]
    rel = victim.relative_to(root).as_posix()
    _truncate(victim)
    result = _cli(cfg, "normalize", "--source", "pagerduty")
    assert result.exit_code == 0, result.output
    assert len(_warned_about(result.stderr, rel)) == 1
    assert _rows(cfg, EVENTS) == before
