"""A lake on s3:// (moto on loopback): ingest, build and query through the CLI, and what
another machine may see of it."""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from incident_timeline.cli import main
from tests.support import DEMO_INCIDENT, REPO, demo_sources, write_config

from .conftest import SECRET_KEY, Bucket


def _cli(config: Path, *args: str):
    result = CliRunner().invoke(main, ["--config", str(config), "--log-level", "info", *args])
    assert result.exit_code == 0, result.output
    return result


def _s3_config(folder: Path, lake_url: str, **top) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "connectors.yaml"
    data = {"lake": lake_url, "catalog": str(folder / "state" / "catalog.duckdb"), "sources": demo_sources(), **top}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _events_by_source(config: Path) -> dict[str, int]:
    out = _cli(config, "query", "SELECT source, count(*) AS n, count(DISTINCT event_id) AS ids FROM events "
                       "GROUP BY source ORDER BY source", "--format", "json").output
    rows = json.loads(out[out.index("["):])
    assert all(r["n"] == r["ids"] for r in rows)          # each event once
    return {r["source"]: r["n"] for r in rows}


def _event_ids(config: Path, source: str) -> list[str]:
    out = _cli(config, "query", f"SELECT event_id FROM events WHERE source = '{source}' ORDER BY event_id",
               "--format", "csv").output
    return out.split()[1:]


def _timeline(report: dict) -> list[tuple]:
    return [(r["ts"], r["source"], r["kind"], r["title"], tuple(r["sources"])) for r in report["timeline"]]


@pytest.fixture(scope="module")
def local_demo(tmp_path_factory) -> dict:
    """The same demo built on a local lake: what the s3:// lake must give too."""
    tmp = tmp_path_factory.mktemp("local")
    config = write_config(tmp, demo_sources())
    _cli(config, "ingest")
    _cli(config, "build", DEMO_INCIDENT, "--format", "json", "--out", str(tmp / "out"))
    return {"report": json.loads((tmp / "out" / "postmortem.json").read_text()),
            "events": _events_by_source(config), "pagerduty_ids": _event_ids(config, "pagerduty")}


def test_ingest_build_query_on_s3_through_the_cli(bucket: Bucket, tmp_path: Path, local_demo: dict):
    config = _s3_config(tmp_path / "machine-a", bucket.url())
    outputs = [_cli(config, "ingest").output]
    outputs.append(_cli(config, "build", DEMO_INCIDENT, "--format", "json,md", "--out", str(tmp_path / "out")).output)
    report = json.loads((tmp_path / "out" / "postmortem.json").read_text())

    assert _timeline(report) == _timeline(local_demo["report"])
    assert report["milestones"] == local_demo["report"]["milestones"]
    assert report["metrics"] == local_demo["report"]["metrics"]
    assert _events_by_source(config) == local_demo["events"]
    listed = _cli(config, "lake-files").output.split()
    assert listed and all(u.startswith(bucket.url("prod/events/source=")) for u in listed)
    assert {u.split("/source=")[1].split("/")[0] for u in listed} == set(local_demo["events"])

    keys = bucket.keys()
    for folder in ("prod/raw/source=", "prod/events/source=", "prod/events/_delta_log/", "prod/cursors/source=",
                   "prod/tables/incidents/", "prod/tables/incident_services/"):
        assert any(k.startswith(folder) for k in keys), folder
    assert not any(".tmp" in k for k in keys)
    assert not (tmp_path / "machine-a" / "lake").exists()          # nothing of the lake on local disk
    assert (tmp_path / "machine-a" / "state" / "catalog.duckdb").exists()
    # the key never leaks: not in output or logs, not in any object, not in the catalog
    assert all(SECRET_KEY not in text for text in outputs)
    assert all(SECRET_KEY.encode() not in bucket.read(k) for k in keys)
    assert SECRET_KEY.encode() not in (tmp_path / "machine-a" / "state" / "catalog.duckdb").read_bytes()


def test_another_machine_sees_published_runs_only(bucket: Bucket, tmp_path: Path, local_demo: dict):
    writer = _s3_config(tmp_path / "machine-a", bucket.url())
    _cli(writer, "ingest", "--source", "pagerduty")
    analyst = _s3_config(tmp_path / "machine-b", bucket.url())
    assert _events_by_source(analyst) == {"pagerduty": local_demo["events"]["pagerduty"]}

    # A run killed after writing a file but before publishing it leaves a whole object
    # that no manifest lists: no reader on another machine may see it.
    published = next(k for k in bucket.keys("prod/events/source=pagerduty/") if k.endswith(".parquet"))
    events = pq.read_table(io.BytesIO(bucket.read(published)))
    unseen = events.set_column(0, "event_id", pc.binary_join_element_wise(events["event_id"], "-killed", ""))
    sink = io.BytesIO()
    pq.write_table(unseen, sink)
    bucket.put(published.rsplit("/", 1)[0] + "/killed-run.parquet", sink.getvalue())
    assert _events_by_source(analyst) == {"pagerduty": local_demo["events"]["pagerduty"]}

    _cli(writer, "ingest", "--source", "jira")
    assert _events_by_source(analyst) == {"pagerduty": local_demo["events"]["pagerduty"],
                                          "jira": local_demo["events"]["jira"]}


@pytest.mark.parametrize("where", ["local", "s3"])
def test_two_backfills_for_different_sources_side_by_side(where: str, tmp_path: Path, local_demo: dict,
                                                          s3_endpoint: str, monkeypatch):
    """One job per source, as a scheduler runs them: at the same moment, on one lake (for
    s3://, as two machines: each with its own catalog and no lock in common)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if where == "local":
        config = write_config(tmp_path, demo_sources())
        configs = {"pagerduty": config, "jira": config}
    else:
        bucket = Bucket(s3_endpoint)
        env.update(bucket.env)
        configs = {"pagerduty": _s3_config(tmp_path / "machine-a", bucket.url()),
                   "jira": _s3_config(tmp_path / "machine-b", bucket.url())}
    jobs = {source: subprocess.Popen([sys.executable, "-m", "incident_timeline", "--config", str(cfg),
                                      "backfill", "--source", source], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for source, cfg in configs.items()}
    done = {source: job.communicate(timeout=180) for source, job in jobs.items()}
    for source, job in jobs.items():
        assert job.returncode == 0, done[source][1]
        assert f"\n{source} " in "\n" + done[source][1]           # its summary names its source only
    reader = configs["pagerduty"]
    if where == "s3":   # a third machine, in this process
        for key, value in bucket.env.items():
            monkeypatch.setenv(key, value)
        reader = _s3_config(tmp_path / "analyst", bucket.url())
    assert _events_by_source(reader) == {s: local_demo["events"][s] for s in ("pagerduty", "jira")}


def test_moving_a_local_lake_to_s3(bucket: Bucket, tmp_path: Path, local_demo: dict):
    """docs/scale.md's recipe: copy the lake's files, keep the catalog as `catalog:`, run one
    backfill; a new machine sees every event and the cursors."""
    (tmp_path / "old").mkdir()
    local = write_config(tmp_path / "old", demo_sources())
    _cli(local, "ingest")
    old_lake = tmp_path / "old" / "lake"
    for f in sorted(old_lake.rglob("*")):      # the tables' files and their Delta logs
        if f.is_file() and not f.name.startswith((".", "catalog.duckdb")) and ".locks" not in f.parts:
            bucket.put(f"prod/{f.relative_to(old_lake).as_posix()}", f.read_bytes())
    moved = _s3_config(tmp_path / "new", bucket.url())
    (tmp_path / "new" / "state").mkdir()
    shutil.copyfile(old_lake / "catalog.duckdb", tmp_path / "new" / "state" / "catalog.duckdb")

    result = _cli(moved, "backfill")
    assert "FAILED" not in result.output
    analyst = _s3_config(tmp_path / "analyst", bucket.url())
    assert _events_by_source(analyst) == local_demo["events"]
    cursors = json.loads(_cli(analyst, "query", "--format", "json",
                              "SELECT DISTINCT source FROM cursors ORDER BY 1").stdout)
    assert {r["source"] for r in cursors} == set(local_demo["events"])


def test_a_backfill_killed_at_any_moment_on_s3_loses_and_repeats_nothing(bucket: Bucket, tmp_path: Path,
                                                                          local_demo: dict):
    config = _s3_config(tmp_path / "machine-a", bucket.url())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "incident_timeline", "--config", str(config), "backfill", "--source", "pagerduty"]
    killed = []
    for delay in (2.0, 3.0, 4.0):
        job = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        job.send_signal(signal.SIGKILL)
        killed.append(job.wait(timeout=30) == -signal.SIGKILL)
    assert any(killed)                       # at least one landed while it was working
    finished = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, finished.stderr
    analyst = _s3_config(tmp_path / "machine-b", bucket.url())
    assert _event_ids(analyst, "pagerduty") == local_demo["pagerduty_ids"]
