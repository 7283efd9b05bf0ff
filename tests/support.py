"""Helpers shared by the tests: configs that read the bundled fixtures into a tmp lake."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
DEMO_INCIDENT = "pagerduty:Q2W3E4R"


def write_config(tmp_path: Path, sources: list[dict], **top) -> Path:
    data = {"lake": str(tmp_path / "lake"), "timezone": "UTC", "sources": sources, **top}
    path = tmp_path / "connectors.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def demo_sources() -> list[dict]:
    """The repository's own connectors.yaml sources, with paths made absolute."""
    data = yaml.safe_load((REPO / "connectors.yaml").read_text(encoding="utf-8"))
    sources = []
    for s in data["sources"]:
        s = dict(s)
        if "path" in s:
            s["path"] = str(REPO / s["path"])
        sources.append(s)
    return sources




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
