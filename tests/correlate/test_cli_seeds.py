"""Every seed form through the command line, on the demo fixtures."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from incident_timeline.cli import main
from tests.support import DEMO_INCIDENT, demo_sources, write_config


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli_seeds")
    config = write_config(tmp, demo_sources())
    result = CliRunner().invoke(main, ["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    return config, tmp


def _event_ids(demo, seed: str) -> set[str]:
    config, tmp = demo
    out = tmp / seed.replace(":", "-").replace("/", "-").replace("#", "")
    result = CliRunner().invoke(main, ["--config", str(config), "build", seed, "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "postmortem.json").read_text(encoding="utf-8"))
    assert report["incident"]["id"] == seed
    return {e for row in report["timeline"] for e in row["event_ids"]}


def test_a_channel_or_a_service_window_finds_the_demo_incident(demo):
    by_ref = _event_ids(demo, DEMO_INCIDENT)
    # 24, the v2.31.0 deploy and its rollback (2 events each), and the 4 status page updates
    assert len(by_ref) == 32
    assert _event_ids(demo, "service:checkout-api@2026-10-14T14:00Z/2026-10-14T14:30Z") == by_ref
    assert _event_ids(demo, "jira:OPS-1234") == by_ref
    # from the channel, the #alerts posts come in through the PagerDuty incident it names
    assert _event_ids(demo, "slack:#inc-4213-checkout") == by_ref


def test_a_malformed_seed_is_a_usage_error(demo):
    config, _ = demo
    result = CliRunner().invoke(main, ["--config", str(config), "build", "Q2W3E4R"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: seed 'Q2W3E4R' is not a prefixed ref (pagerduty:Q1ABC, jira:OPS-12, slack:C0123, "
        "service:NAME@START/END)"]
