"""After the nightly backfill, `build` answers from the lake alone: not one API request."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import yaml
from click.testing import CliRunner

from incident_timeline.cli import main
from tests.ingest.fakes import load_fake


def test_build_after_a_backfill_makes_no_api_call(httpserver, tmp_path, monkeypatch):
    fake = load_fake("pagerduty", httpserver)
    fake.populate(datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=20), 6, timedelta(hours=2))
    for key, value in fake.environment().items():
        monkeypatch.setenv(key, value)
    config = tmp_path / "connectors.yaml"
    config.write_text(yaml.safe_dump({"lake": str(tmp_path / "lake"), "sources": [fake.source_entry()]}))
    runner = CliRunner()
    backfill = runner.invoke(main, ["--config", str(config), "backfill"])
    assert backfill.exit_code == 0, backfill.output
    requests_after_backfill = len(httpserver.log)
    assert requests_after_backfill > 0

    out = tmp_path / "report"
    build = runner.invoke(main, ["--config", str(config), "build", "pagerduty:PINC0003", "--format", "json",
                                 "--out", str(out)])
    assert build.exit_code == 0, build.output
    assert len(httpserver.log) == requests_after_backfill
    report = json.loads((out / "postmortem.json").read_text())
    assert report["incident"]["id"] == "pagerduty:PINC0003"
    assert report["milestones"]["detected"] is not None
    assert report["timeline"]
