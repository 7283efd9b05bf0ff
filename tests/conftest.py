"""Shared fixtures: a config that reads the bundled fixtures into a lake under tmp_path."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import DEMO_INCIDENT, build_history, demo_sources, write_config


@pytest.fixture
def demo_config(tmp_path: Path) -> Path:
    return write_config(tmp_path, demo_sources())


@pytest.fixture
def demo_report(demo_config: Path, tmp_path: Path) -> dict:
    """The JSON export of the demo incident, built through the CLI."""
    from click.testing import CliRunner

    from incident_timeline.cli import main

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--config", str(demo_config), "run", DEMO_INCIDENT,
                                       "--format", "md,json,csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "postmortem.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def history_config(tmp_path_factory) -> Path:
    """fixtures/history built once per session (tests.support.build_history): read it, don't
    write to it; a test that changes the lake builds its own with build_history(tmp_path)."""
    return build_history(tmp_path_factory.mktemp("history"))
