"""Shared fixtures: a config that reads the bundled fixtures into a lake under tmp_path."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import DEMO_INCIDENT, demo_sources, write_config


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
