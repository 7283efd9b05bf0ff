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
    assert _invoke("--config", cfg, "normalize", "--source", "slack").exit_code == 0
    built = _invoke("--config", cfg, "build", "slack:#inc-4213-checkout", "--format", "json",
                    "--out", str(config_with_a_missing_secret.parent / "out"))
    assert built.exit_code == 0, built.stderr
    counted = _invoke("--config", cfg, "query", "--format", "csv", "SELECT count(*) AS n FROM events")
    assert counted.exit_code == 0, counted.stderr
    assert int(counted.stdout.splitlines()[1]) > 0

    failed = _invoke("--config", cfg, "ingest", "--source", "pd-live")
    assert failed.exit_code == 1
    errors = [line for line in failed.stderr.splitlines() if "IT_TEST_UNSET_TOKEN" in line]
    assert errors and all("source pd-live: token needs environment variable IT_TEST_UNSET_TOKEN, "
                          "which is not set" in line for line in errors)


@pytest.mark.parametrize("args, option", [
    (["ingest", "--since", "yesterday"], "--since"),
    (["ingest", "--until", "2026-10-14T14:00:00"], "--until"),       # no zone
    (["build", "pagerduty:Q1", "--format", "md,pdf"], "--format"),
    (["run", "pagerduty:Q1", "--format", "docx"], "--format"),
    (["query", "--format", "xml", "SELECT 1"], "--format"),
    (["build", "pagerduty:Q1", "--display-tz", "Mars/Olympus"], "--display-tz"),
    (["build", "pagerduty:Q1", "--colour"], "--colour"),
    (["--verbose", "sources"], "--verbose"),
])
def test_a_usage_error_is_one_line_that_names_the_option(tmp_path, args, option):
    cfg = write_config(tmp_path, demo_sources())
    result = _invoke("--config", str(cfg), *args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and option in lines[0]
    assert not (tmp_path / "lake").exists()            # refused before anything ran


def test_an_unknown_command_is_one_line_too(tmp_path):
    result = _invoke("--config", str(write_config(tmp_path, demo_sources())), "biuld", "x")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "biuld" in result.stderr


def test_a_closed_pipe_ends_query_quietly(demo_config, demo_report):
    # a real pipe: `incident-timeline query ... | head -1`
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    sql = "SELECT e.event_id, e.title FROM events e, range(200)"
    proc = subprocess.run(
        f'"{sys.executable}" -m incident_timeline --config "{demo_config}" query --format csv "{sql}" | head -1',
        shell=True, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert proc.stdout.startswith("event_id,title")
    assert proc.stderr == ""


def test_no_command_still_shows_the_help():
    result = _invoke()
    assert "Commands:" in result.output and "backfill" in result.output
