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


