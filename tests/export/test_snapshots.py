"""The drafts of the fixture incidents, compared with stored files: any change is a visible diff."""
from __future__ import annotations

import json

import jsonschema
import pytest

from tests.export.conftest import build
from tests.export.snapshots import assert_snapshot, stable
from tests.support import DEMO_INCIDENT

# The demo incident, and the other incident the fixtures hold at the same time.
INCIDENTS = {DEMO_INCIDENT: "demo", "pagerduty:Q9Z8Y7X": "search-indexer"}


@pytest.fixture(scope="module")
def drafts(demo_lake, demo_build, tmp_path_factory) -> dict[str, dict]:
    out = {}
    for incident, name in INCIDENTS.items():
        if incident == DEMO_INCIDENT:
            folder = demo_build["out"]
        else:
            folder = tmp_path_factory.mktemp(name)
            build(demo_lake, folder, incident, command="build")
        out[name] = {f: (folder / f).read_text(encoding="utf-8") for f in ("postmortem.md", "postmortem.json")}
    return out


@pytest.mark.parametrize("name", INCIDENTS.values())
def test_markdown_matches_its_snapshot(drafts, name):
    assert_snapshot(f"{name}.postmortem.md", drafts[name]["postmortem.md"])


@pytest.mark.parametrize("name", INCIDENTS.values())
def test_json_matches_its_snapshot(drafts, name):
    assert_snapshot(f"{name}.postmortem.json", drafts[name]["postmortem.json"])


@pytest.mark.parametrize("name", INCIDENTS.values())
def test_json_validates_against_the_schema(drafts, name, export_schema):
    jsonschema.validate(json.loads(drafts[name]["postmortem.json"]), export_schema,
                        cls=jsonschema.Draft202012Validator)


def test_only_the_generation_time_is_volatile(demo_lake, drafts, tmp_path):
    build(demo_lake, tmp_path, DEMO_INCIDENT, command="build")
    assert stable((tmp_path / "postmortem.md").read_text(encoding="utf-8")) == stable(drafts["demo"]["postmortem.md"])
    assert (tmp_path / "postmortem.json").read_text(encoding="utf-8") == drafts["demo"]["postmortem.json"]


def test_each_incident_draft_holds_only_its_own_story(drafts):
    demo, other = (json.loads(drafts[n]["postmortem.json"]) for n in ("demo", "search-indexer"))
    assert demo["incident"]["services"] == ["checkout-api"]
    assert other["incident"]["services"] == ["search-indexer"]
    assert not {e for r in demo["timeline"] for e in r["event_ids"]} & \
        {e for r in other["timeline"] for e in r["event_ids"]}
