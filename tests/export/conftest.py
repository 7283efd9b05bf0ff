"""Export fixtures: drafts built once per module through the CLI, from the demo fixtures and
from a copy holding hostile text."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from incident_timeline.export.report import load
from incident_timeline.cli import main
from tests.export.hostile import hostile_config
from tests.support import DEMO_INCIDENT, demo_sources, write_config

ALL_FORMATS = "md,html,json,csv"
SCHEMA = Path(__file__).resolve().parents[2] / "export" / "postmortem.schema.json"


def build(config: Path, out: Path, incident: str = DEMO_INCIDENT, *extra: str, command: str = "run"):
    result = CliRunner().invoke(main, ["--config", str(config), command, incident, "--format", ALL_FORMATS,
                                       "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory) -> Path:
    """A config whose lake holds the demo fixtures, ingested once."""
    tmp = tmp_path_factory.mktemp("demo")
    config = write_config(tmp, demo_sources())
    result = CliRunner().invoke(main, ["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    return config


@pytest.fixture(scope="session")
def demo_build(demo_lake, tmp_path_factory) -> dict:
    """The demo incident built once: its output folder and the report the exporters saw."""
    out = tmp_path_factory.mktemp("demo-out")
    build(demo_lake, out, command="build")
    return {"config": demo_lake, "out": out, "report": load_report(demo_lake, DEMO_INCIDENT)}


def load_report(config: Path, incident: str) -> dict:
    con = duckdb.connect(str(config.parent / "lake" / "catalog.duckdb"), read_only=True)
    try:
        return load(con, incident)
    finally:
        con.close()


@pytest.fixture(scope="session")
def hostile(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("hostile")
    config = hostile_config(tmp)
    result = build(config, tmp / "out")
    return {"config": config, "out": tmp / "out", "output": result.output}


@pytest.fixture(scope="session")
def export_schema() -> dict:
    import jsonschema
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema
