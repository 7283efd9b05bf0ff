"""Statuspage beyond the conformance suite: an incident shaped as public page exports show
one (offsets, null affected_components, newest update first) becomes one event per update;
the old 420 rate limit waits; the key comes from the variable `api_key_env` names."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest
from click.testing import CliRunner

from incident_timeline.cli import main
from incident_timeline.config import ConfigInvalid, load_config
from incident_timeline.ingest.base import Window
from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.normalize.schema import RAW_SCHEMA
from tests.ingest.fakes.statuspage import KEY, PAGE, StatuspageFake
from tests.ingest.test_conformance import connector_for
from tests.support import write_config

UTC = timezone.utc
START = datetime(2026, 3, 9, 22, 0, tzinfo=UTC)
# the shape a page's incidents come in (times in the page's zone, the newest update first)
INCIDENT = {
    "id": "k9m2p4q6r8t0", "name": "Intermittent errors on checkout", "status": "resolved", "impact": "minor",
    "created_at": "2024-05-02T09:01:12.418-05:00", "updated_at": "2024-05-02T10:40:58.586-05:00",
    "monitoring_at": "2024-05-02T10:11:24.478-05:00", "resolved_at": "2024-05-02T10:40:58.572-05:00",
    "shortlink": "https://stspg.io/abc123", "page_id": "x1y2z3w4v5u6",
    "components": [{"id": "c0ffee000001", "name": "Payments", "status": "operational"},
                   {"id": "c0ffee000002", "name": "Web", "status": "operational"}],
    "incident_updates": [
        {"id": "u3", "incident_id": "k9m2p4q6r8t0", "status": "resolved", "body": "This incident has been resolved.",
         "created_at": "2024-05-02T10:40:58.572-05:00", "display_at": "2024-05-02T10:40:58.572-05:00",
         "affected_components": None, "deliver_notifications": False},
        {"id": "u2", "incident_id": "k9m2p4q6r8t0", "status": "identified",
         "body": "Identified: see https://manage.statuspage.io/pages/x1y2z3w4v5u6/incidents/k9m2p4q6r8t0 & <b>more</b>",
         "created_at": "2024-05-02T09:32:43.413-05:00", "display_at": "2024-05-02T09:30:00.000-05:00",
         "affected_components": [{"code": "c0ffee000002", "name": "Web", "old_status": "operational",
                                  "new_status": "degraded_performance"}]},
        {"id": "u1", "incident_id": "k9m2p4q6r8t0", "status": "investigating", "body": "We are investigating.",
         "created_at": "2024-05-02T09:01:12.418-05:00", "display_at": "2024-05-02T09:01:12.418-05:00",
         "affected_components": [{"code": "c0ffee000001", "name": "Payments", "old_status": "operational",
                                  "new_status": "partial_outage"}]},
    ]}


def _events(payloads, components=None):
    raw = pa.Table.from_pylist([{"run_id": "r", "source": "sp", "source_type": "statuspage", "stream": "incidents",
                                 "partition": PAGE, "native_id": str(p.get("id")), "parent_id": PAGE,
                                 "payload": json.dumps(p), "fetched_at": datetime(2026, 11, 1, tzinfo=UTC)}
                                for p in payloads], schema=RAW_SCHEMA)
    spec = SourceSpec(name="sp", type="statuspage", options={"components": components or {}})
    kw = dict(entities={}, jira_projects=[], ingested_at=datetime(2026, 11, 1, tzinfo=UTC))
    compiled, oracle = normalize_raw(raw, spec, **kw), normalize_raw(raw, spec, vectorized=False, **kw)
    assert compiled.events.to_pylist() == oracle.events.to_pylist()
    assert compiled.rejects.to_pylist() == oracle.rejects.to_pylist()
    return {e["native_id"]: e for e in compiled.events.to_pylist()}, compiled.rejects.to_pylist()


def test_each_update_is_a_status_update_at_its_posting_time():
    events, rejects = _events([INCIDENT], components={"Payments": "payments-api"})
    assert not rejects
    assert sorted(events) == [f"k9m2p4q6r8t0/updates/u{n}" for n in (1, 2, 3)]
    identified = events["k9m2p4q6r8t0/updates/u2"]
    assert (identified["kind"], identified["category"], identified["actor_type"]) == \
        ("comms.status_update", "comms", "system")
    # created_at (posted), not display_at (what the page shows, backdated here)
    assert identified["ts"] == datetime(2024, 5, 2, 14, 32, 43, 413000, tzinfo=UTC)
    assert identified["body"].startswith("Identified: see") and "<b>more</b>" in identified["body"]
    assert identified["title"] == "Status page update (identified): Intermittent errors on checkout"
    assert identified["service"] == "payments-api"   # the incident's first component, as mapped
    assert identified["url"] == "https://stspg.io/abc123"
    assert identified["refs"] == ["statuspage:k9m2p4q6r8t0"]   # its own, found once
    attrs = json.loads(identified["attrs"])
    assert attrs == {"status": "identified", "impact": "minor", "incident": "Intermittent errors on checkout",
                     "incident_id": "k9m2p4q6r8t0", "incident_status": "resolved",
                     "shortlink": "https://stspg.io/abc123", "display_at": "2024-05-02T09:30:00.000-05:00",
                     "components": ["Payments", "Web"], "affected": ["Web"]}
    assert json.loads(events["k9m2p4q6r8t0/updates/u3"]["attrs"])["affected"] == []


def test_an_unmapped_component_is_its_own_service_and_an_incident_without_updates_is_a_reject():
    events, rejects = _events([INCIDENT, {**INCIDENT, "id": "e0e0e0e0e0e0", "incident_updates": []}])
    assert {e["service"] for e in events.values()} == {"Payments"}
    assert [(r["native_id"], r["field"]) for r in rejects] == [("e0e0e0e0e0e0", "incident_updates")]


@pytest.mark.parametrize("updates", [{}, "", 0, False, {"id": "u1"}, "text", 7])
def test_updates_that_are_empty_or_not_a_list_are_a_reject(updates):
    events, rejects = _events([INCIDENT, {**INCIDENT, "id": "e0e0e0e0e0e0", "incident_updates": updates}])
    assert {e["service"] for e in events.values()} == {"Payments"}     # the other incident's only
    assert {(r["native_id"], r["field"]) for r in rejects} == {("e0e0e0e0e0e0", "incident_updates")}


def _entry(fake: StatuspageFake, **more) -> dict:
    return {**fake.source_entry(), **more}


def test_420_and_429_wait_for_retry_after(httpserver, monkeypatch, tmp_path, sleeps):
    fake = StatuspageFake(httpserver)
    monkeypatch.setenv("FAKE_STATUSPAGE_KEY", KEY)
    fake.populate(START, 4, timedelta(hours=1))
    fake.fail_next(420, {"Retry-After": "11"}, {"error": "Rate limit exceeded"})
    fake.fail_next(429, {"Retry-After": "13"})
    connector = connector_for(_entry(fake), tmp_path)
    try:
        records = list(connector.fetch(PAGE, Window(START - timedelta(days=1), START + timedelta(days=1))))
    finally:
        connector.close()
    assert len(records) == 4
    assert [s for s in sleeps if s >= 11][:2] and max(sleeps) >= 13
    first = fake.served[0]
    assert (first.args.get("page"), first.args.get("limit")) == ("1", "3")


def test_an_unset_key_variable_fails_that_source_with_one_line_naming_it(httpserver, monkeypatch, tmp_path):
    fake = StatuspageFake(httpserver)
    monkeypatch.delenv("FAKE_STATUSPAGE_KEY", raising=False)
    config = write_config(tmp_path, [_entry(fake)])
    result = CliRunner().invoke(main, ["--config", str(config), "ingest", "--since", "2026-03-09T00:00:00Z",
                                       "--until", "2026-03-10T00:00:00Z"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if "FAILED" in line]
    assert len(lines) == 1 and "source sp: api_key_env needs environment variable FAKE_STATUSPAGE_KEY" in lines[0]
    assert not fake.requests
    listed = CliRunner().invoke(main, ["--config", str(config), "sources"])
    assert "MISSING api_key_env: $FAKE_STATUSPAGE_KEY" in listed.output


def test_the_default_base_url_and_config_problems(tmp_path):
    config = load_config(write_config(tmp_path, [{"name": "sp", "type": "statuspage", "page_id": PAGE,
                                                  "api_key_env": "SP_KEY"}]))
    assert config.sources[0].options["base_url"] == "https://api.statuspage.io"
    with pytest.raises(ConfigInvalid) as err:
        load_config(write_config(tmp_path, [{"name": "sp", "type": "statuspage", "page_id": "a/b",
                                             "api_key_env": "not a name", "components": ["x"]}]))
    problems = " ".join(err.value.problems)
    assert "page_id" in problems and "api_key_env must name an environment variable" in problems
    assert "components must be a mapping" in problems
    with pytest.raises(ConfigInvalid) as err:
        load_config(write_config(tmp_path, [{"name": "sp", "type": "statuspage", "page_id": PAGE}]))
    assert "api_key_env is required" in " ".join(err.value.problems)


def test_recorded_pages_are_read_in_order(tmp_path):
    folder = tmp_path / "pages" / PAGE
    folder.mkdir(parents=True)
    (folder / "incidents.json").write_text(json.dumps([INCIDENT]))
    (folder / "incidents.page-2.json").write_text(json.dumps([{**INCIDENT, "id": "a1a1a1a1a1a1"}]))
    connector = connector_for({"name": "sp", "type": "statuspage", "page_id": PAGE, "path": str(tmp_path)}, tmp_path)
    records = list(connector.fetch(PAGE, Window()))
    assert [r.native_id for r in records] == ["k9m2p4q6r8t0", "a1a1a1a1a1a1"]
    assert {r.parent_id for r in records} == {PAGE}


def test_a_full_last_page_is_followed_by_one_empty_page_and_no_more(httpserver, monkeypatch, tmp_path):
    fake = StatuspageFake(httpserver)
    monkeypatch.setenv("FAKE_STATUSPAGE_KEY", KEY)
    fake.populate(START, 6, timedelta(hours=1))      # two full pages of 3
    connector = connector_for(_entry(fake), tmp_path)
    try:
        records = list(connector.fetch(PAGE, Window()))
    finally:
        connector.close()
    assert len(records) == 6
    assert [r.args.get("page") for r in fake.served] == ["1", "2", "3"]
