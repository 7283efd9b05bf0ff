"""The milestone names (contract.milestones) are one fact: correlation finds exactly these,
the catalog has a column for each, and the exports (JSON schema, drafts) show exactly these."""
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from incident_timeline.contract.milestones import MILESTONES
from incident_timeline.lake import tables
from incident_timeline.correlate.milestones import find_milestones, metrics
from incident_timeline.export.report import METRICS

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 10, 14, 10, 0, tzinfo=timezone.utc)


def _event(minute: int, kind: str, actor_type: str = "system", body: str = "") -> dict:
    return {"ts": T0 + timedelta(minutes=minute), "kind": kind, "category": kind.split(".")[0],
            "actor_type": actor_type, "actor": "ana" if actor_type == "human" else "alertmanager",
            "body": body, "title": body, "refs": ["alert:fp1"], "source": "am", "event_id": f"am/{minute}"}


# one incident that reaches every milestone, in the order they happen
EVERY_MILESTONE = [
    _event(0, "alert.started"),
    _event(1, "alert.triggered"),
    _event(2, "alert.acknowledged", "human"),
    _event(3, "chat.message", "human", "looking at the payments dashboards"),
    _event(4, "chat.message", "human", "rolled back, error rate is back to normal"),
    _event(5, "alert.resolved"),
]


def test_correlation_finds_exactly_the_contract_milestones_in_their_order():
    found = find_milestones(EVERY_MILESTONE)
    assert list(found) == list(MILESTONES)
    times = [found[name].ts for name in MILESTONES]
    assert times == sorted(times) and len(set(times)) == len(MILESTONES)


def test_every_metric_the_export_shows_is_one_correlation_measures():
    found = find_milestones(EVERY_MILESTONE)
    measured = metrics(found, EVERY_MILESTONE)
    assert set(METRICS) <= set(measured)
    assert measured["time_to_resolve_s"] == 240.0     # detected 10:01, resolved 10:05


def test_the_catalog_has_one_timestamp_column_per_milestone():
    columns = {name: type_ for name, type_, _ in tables.INCIDENTS.columns}
    assert all(columns.get(name) == "TIMESTAMPTZ" for name in MILESTONES)
    named = dict((name, doc) for name, _, doc in tables.MILESTONES.columns)["name"]
    assert re.findall(r"[a-z_]+", named.replace(" or ", ", ")) == list(MILESTONES)


def test_the_json_export_and_its_schema_name_exactly_the_contract_milestones():
    schema = json.loads((REPO / "export" / "postmortem.schema.json").read_text(encoding="utf-8"))
    block = schema["properties"]["milestones"]
    assert block["required"] == list(MILESTONES) and list(block["properties"]) == list(MILESTONES)
    for snapshot in sorted((REPO / "tests" / "export" / "snapshots").glob("*.postmortem.json")):
        exported = json.loads(snapshot.read_text(encoding="utf-8"))
        assert list(exported["milestones"]) == list(MILESTONES), snapshot.name


def test_the_readme_and_the_catalog_docs_define_each_milestone_once():
    for doc in (REPO / "README.md", REPO / "docs" / "catalog.md"):
        rows = re.findall(r"^\| ([a-z_]+) \| ", doc.read_text(encoding="utf-8"), re.MULTILINE)
        start = rows.index(MILESTONES[0])
        assert rows[start:start + len(MILESTONES)] == list(MILESTONES), doc.name
