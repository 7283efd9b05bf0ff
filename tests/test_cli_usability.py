"""The small things a user trips over on the command line: a missing secret of one source,
usage errors, a closed pipe."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from incident_timeline.cli import main
from tests.support import REPO, demo_sources, write_config


def _invoke(*args):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def config_with_a_missing_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("IT_TEST_UNSET_TOKEN", raising=False)
    return write_config(tmp_path, demo_sources() + [
        {"name": "pd-live", "type": "pagerduty", "base_url": "http://127.0.0.1:9",
         "token": "${IT_TEST_UNSET_TOKEN}"}])


def test_one_missing_secret_blocks_only_the_source_that_needs_it(config_with_a_missing_secret):
    cfg = str(config_with_a_missing_secret)
    listed = _invoke("--config", cfg, "sources")
    assert listed.exit_code == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "MISSING token: $IT_TEST_UNSET_TOKEN" in lines["pd-live"]
    assert "MISSING" not in lines["pagerduty"]          # recorded mode (path:) needs none

    landed = _invoke("--config", cfg, "ingest", "--source", "slack")
    assert landed.exit_code == 0, landed.stderr
    assert _invoke("--config", cfg, "lake-files").exit_code == 0
    counted = _invoke("--config", cfg, "query", "--format", "csv", "SELECT count(*) AS n FROM events")
    assert counted.exit_code == 0, counted.stderr
    assert int(counted.stdout.splitlines()[1]) > 0

    failed = _invoke("--config", cfg, "ingest", "--source", "pd-live")
    assert failed.exit_code == 1
    errors = [line for line in failed.stderr.splitlines() if "IT_TEST_UNSET_TOKEN" in line]
    assert errors and all("source pd-live: token needs environment variable IT_TEST_UNSET_TOKEN, "
                          "which is not set" in line for line in errors)
