"""Helpers shared by the tests: configs that read the bundled fixtures into a tmp lake."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import yaml

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
DEMO_INCIDENT = "pagerduty:Q2W3E4R"


def write_config(tmp_path: Path, sources: list[dict], **top) -> Path:
    data = {"lake": str(tmp_path / "lake"), "timezone": "UTC", "sources": sources, **top}
    path = tmp_path / "connectors.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def demo_sources(config: Path = REPO / "connectors.yaml") -> list[dict]:
    """The sources of a bundled connectors.yaml (the repository's own by default), with
    paths made absolute."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    sources = []
    for s in data["sources"]:
        s = dict(s)
        if "path" in s:
            s["path"] = str(config.parent / s["path"])
        sources.append(s)
    return sources


HISTORY = FIXTURES / "history"
# How the history lake's incidents are built: some from their page, some only from an
# alias (a ticket, a channel by name), some from two refs (each must still be one incident).
HISTORY_BUILDS = ("pagerduty:P1JUNCK", "pagerduty:P2JULPY", "pagerduty:P3AUGPY", "slack:C07INC3950",
                  "jira:OPS-1175", "slack:#inc-4101-checkout", "pagerduty:P6OCTCK", "jira:OPS-1245",
                  "pagerduty:P7OCTPY")


def build_history(tmp_path: Path, fixtures: Path = HISTORY, **top) -> Path:
    """A lake and catalog of fixtures/history (README.md there tells the story): every
    source ingested from 2026-06-01, every incident built (drafts under tmp_path/reports),
    and the drafts' first-built times set to the story's (`drafts.json`: one is late), since
    a build records the wall clock. `fixtures`: a copy of fixtures/history to read instead
    (a test that changes a page). Returns the config."""
    import incident_timeline.lake.catalog as catalog_tables
    from incident_timeline.lake import catalog_store
    from incident_timeline.config import load_config
    from incident_timeline.lake.layout import Lake

    cfg = write_config(tmp_path, demo_sources(fixtures / "connectors.yaml"), **top)
    result = cli(cfg, "ingest", "--since", "2026-06-01T00:00:00Z")
    assert result.exit_code == 0, result.output
    for ref in HISTORY_BUILDS:
        result = cli(cfg, "build", ref, "--out", str(tmp_path / "reports" / ref.replace(":", "-")))
        assert result.exit_code == 0, (ref, result.output)
    drafts = json.loads((fixtures / "drafts.json").read_text(encoding="utf-8"))
    with catalog_store.catalog_writer(Lake.for_config(load_config(cfg))) as con:
        catalog_tables.ensure_tables(con)
        for incident_id, first_built_at in drafts.items():
            con.execute("UPDATE incident_drafts SET first_built_at = CAST(? AS TIMESTAMPTZ) "
                        "WHERE incident_id = ?", [first_built_at, incident_id])
    return cfg




def slack_export_config(tmp_path: Path, messages: int, days: int = 3):
    """A loaded config with one source: a generated Slack export of `messages` messages."""
    from benchmarks import ingestgen
    from incident_timeline.config import load_config

    pages = ingestgen.generate(tmp_path / "pages", messages, days=days)
    path = tmp_path / "connectors.yaml"
    path.write_text(json.dumps({"lake": str(tmp_path / "lake"), "timezone": "UTC", "sources": [
        {"name": "slack-archive", "type": "slack_export", "path": str(pages)}]}))
    return load_config(path)


def record_passes(monkeypatch) -> list[int]:
    """The number of raw records each normalise pass of the pipeline is given, as it runs."""
    import pyarrow.parquet as pq

    from incident_timeline import pipeline

    passes: list[int] = []
    real = pipeline.normalize_files

    def recording(config, lake, settings, files, *args, **kwargs):
        passes.append(sum(pq.ParquetFile(f).metadata.num_rows for f in files))
        return real(config, lake, settings, files, *args, **kwargs)

    monkeypatch.setattr(pipeline, "normalize_files", recording)
    return passes


def cli(cfg: Path, *args: str):
    """The real CLI on a config, through click's runner (stdout and stderr apart)."""
    from click.testing import CliRunner

    from incident_timeline.cli import main
    return CliRunner().invoke(main, ["--config", str(cfg), *args])


def query_rows(cfg: Path, sql: str) -> list[dict]:
    """`query --format json` as rows; the query must succeed."""
    result = cli(cfg, "query", "--format", "json", sql)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@contextmanager
def moto_process() -> Iterator[str]:
    """An S3-compatible server (moto) on loopback, in a process of its own; yields its URL.

    Not a thread of the test process: delta-rs's requests to such a thread time out (180 s,
    tried): delta-rs holds the GIL while it waits on the store, so the thread never runs."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto server did not start")
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def publish_files(lake_root: Path, files: list[Path], kind: str = "events") -> None:
    """Publish files a test wrote into the lake's `kind` table (one Delta commit), as a
    normalisation does: written files are in no snapshot until then."""
    from incident_timeline.lake import commits
    from incident_timeline.lake.layout import Lake
    commits.commit(Lake(Path(lake_root)), kind, list(files), run_id="test", operation="test")
