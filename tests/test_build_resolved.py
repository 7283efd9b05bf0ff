"""`backfill --build-resolved` (or `drafts: {build_resolved: true}`): every incident resolved
since the last backfill gets its draft, once; the catalog records when it was first built."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import incident_timeline.lake.catalog as catalog
from incident_timeline.cli import main
from incident_timeline.config import ConfigInvalid, load_config
from tests.support import demo_sources, write_config


def _drafts(config):
    con = catalog.connect(load_config(config).lake / "catalog.duckdb", read_only=True)
    try:
        return con.execute("SELECT incident_id, first_built_at, last_built_at FROM incident_drafts "
                           "ORDER BY 1").fetchall()
    finally:
        con.close()


def test_the_backfill_drafts_every_resolved_incident_once(tmp_path):
    out = tmp_path / "drafts"
    config = write_config(tmp_path, demo_sources(), drafts={"out": str(out)})
    first = CliRunner().invoke(main, ["--config", str(config), "backfill", "--build-resolved"])
    assert first.exit_code == 0, first.output
    # the demo's two PagerDuty incidents resolved: both drafted, each under its identity
    assert sorted(p.name for p in out.iterdir()) == ["pagerduty-Q2W3E4R", "pagerduty-Q9Z8Y7X"]
    draft = json.loads((out / "pagerduty-Q2W3E4R" / "postmortem.json").read_text(encoding="utf-8"))
    assert draft["incident"]["identity"] == "pagerduty:Q2W3E4R" and draft["milestones"]["resolved"]
    built = _drafts(config)
    assert [r[0] for r in built] == ["pagerduty:Q2W3E4R", "pagerduty:Q9Z8Y7X"]
    assert all(r[1] == r[2] for r in built)
    # the config switch does the same; nothing new resolved, so no draft is written again
    write_config(tmp_path, demo_sources(), drafts={"out": str(out), "build_resolved": True})
    again = CliRunner().invoke(main, ["--config", str(config), "backfill"])
    assert again.exit_code == 0, again.output
    assert "postmortem" not in again.output
    assert _drafts(config) == built


def test_drafts_config_is_checked_when_the_file_loads(tmp_path):
    config = write_config(tmp_path, demo_sources(), drafts={"build_resolved": "yes", "folder": "x"})
    with pytest.raises(ConfigInvalid) as err:
        load_config(config)
    assert "drafts.build_resolved must be true or false" in str(err.value)
    assert "drafts: unknown key 'folder'" in str(err.value)


def test_a_forgotten_incident_is_not_drafted_again(tmp_path):
    from datetime import datetime, timezone

    from incident_timeline.correlate import identity

    config = write_config(tmp_path, demo_sources(), drafts={"out": str(tmp_path / "drafts")})
    assert CliRunner().invoke(main, ["--config", str(config), "ingest"]).exit_code == 0
    path = load_config(config).lake / "catalog.duckdb"
    long_ago = datetime(2000, 1, 1, tzinfo=timezone.utc)

    def candidates():
        con = catalog.connect(path, read_only=True)
        try:
            return identity.resolved_without_draft(con, long_ago)
        finally:
            con.close()

    assert candidates() == ["pagerduty:Q2W3E4R", "pagerduty:Q9Z8Y7X"]      # oldest resolution first
    assert CliRunner().invoke(main, ["--config", str(config), "build", "pagerduty:Q9Z8Y7X", "--format", "json",
                                     "--out", str(tmp_path / "q9")]).exit_code == 0
    assert candidates() == ["pagerduty:Q2W3E4R"]                           # drafted since it resolved
    assert CliRunner().invoke(main, ["--config", str(config), "incidents", "forget", "pagerduty:Q9Z8Y7X"]
                              ).exit_code == 0
    assert candidates() == ["pagerduty:Q2W3E4R"]                           # forgotten: its draft row is gone too
