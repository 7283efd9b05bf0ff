"""ServiceNow beyond the shared suite: the instance zone from config, X-RateLimit-Reset,
`run servicenow:INC…`, and how states, audits and journals read."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from incident_timeline import pipeline
from incident_timeline.cli import main
from incident_timeline.config import load_config
from incident_timeline.ingest.base import Window
from incident_timeline.ingest.servicenow import _next_if_more
from tests.ingest.fakes.servicenow import ServiceNowFake
from tests.ingest.lakeview import by_kind, fetch, lake_table, serve
from tests.support import write_config

START = datetime(2026, 10, 24, 22, 0, tzinfo=timezone.utc)   # Berlin leaves summer time that night
UTC = timezone.utc


@pytest.fixture
def snow(httpserver, monkeypatch, sleeps) -> ServiceNowFake:
    return serve(ServiceNowFake, httpserver, monkeypatch, START, 4, timedelta(hours=1))


def _config(fake: ServiceNowFake, tmp_path: Path) -> Path:
    return write_config(tmp_path, [fake.source_entry()])


def _fetch(fake, tmp_path, window):
    return fetch(tmp_path, fake.source_entry(), window)


def _ingest(fake, tmp_path, window):
    result = CliRunner().invoke(main, ["--config", str(_config(fake, tmp_path)), "ingest",
                                       "--since", window.since.isoformat(), "--until", window.until.isoformat()])
    assert result.exit_code == 0, result.output
    return lake_table(tmp_path, "events").to_pylist()


def _keys(records):
    return sorted((r.stream, r.native_id) for r in records)


def test_naive_times_in_the_zone_the_config_names(httpserver, monkeypatch, sleeps, tmp_path):
    first = datetime(2026, 10, 14, 6, 0, tzinfo=UTC)
    # a dump, or display values, written in Pacific time
    fake = serve(ServiceNowFake, httpserver, monkeypatch, first, 4, timedelta(hours=1), zone="America/Los_Angeles")
    window = Window(first + timedelta(hours=1), first + timedelta(hours=3))
    assert _keys(_fetch(fake, tmp_path, window)) == _keys(fake.expected(window))
    events = _ingest(fake, tmp_path, window)
    want = fake.event_times(window)
    assert {e["native_id"]: e["ts"] for e in events if e["native_id"] in want} == want
    assert {e["ts_assumed_tz"] for e in events} == {"America/Los_Angeles"}


def test_a_dst_night_keeps_every_row_and_flags_the_repeated_hour(snow, tmp_path):
    snow.zone = "Europe/Berlin"          # 2026-10-25 02:00-03:00 happens twice
    window = Window(START, START + timedelta(hours=4))
    assert _keys(_fetch(snow, tmp_path, window)) == _keys(snow.expected(window))
    events = _ingest(snow, tmp_path, window)
    want = snow.event_times(window)
    got = {e["native_id"]: e for e in events if e["native_id"] in want}
    assert set(got) == set(want)
    for native_id, e in got.items():
        if any("ambiguous" in w for w in e["warnings"]):
            # the earlier of the two instants, as documented: right, or one hour early
            assert e["ts_raw"].startswith("2026-10-25 02:")
            assert want[native_id] - e["ts"] in (timedelta(0), timedelta(hours=1))
        else:
            assert e["ts"] == want[native_id]
    assert sum(any("ambiguous" in w for w in e["warnings"]) for e in got.values()) >= 4


def test_rate_limit_reset_header_is_a_unix_time(snow, tmp_path, sleeps):
    snow.fail_next(429, {"X-RateLimit-Reset": str(int(time.time()) + 20), "X-RateLimit-Limit": "100"},
                   {"error": {"message": "Rate limit exceeded", "detail": "Too many requests"},
                    "status": "failure"})
    records = _fetch(snow, tmp_path, Window(START, START + timedelta(hours=4)))
    assert records
    assert 15 <= sleeps[0] <= 21


def test_run_finds_the_window_from_the_incident_itself(snow, tmp_path):
    config = load_config(_config(snow, tmp_path))
    window = pipeline.incident_window(config, "servicenow:INC0010002")
    assert window == Window(START + timedelta(hours=1), START + timedelta(hours=1, minutes=90))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--config", str(config.path), "run", "servicenow:INC0010002",
                                       "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "postmortem.json").read_text())
    assert report["incident"]["id"] == "servicenow:INC0010002"
    kinds = {row["kind"] for row in report["timeline"]}
    assert {"ticket.created", "ticket.comment", "ticket.status", "ticket.resolved"} <= kinds


def test_unknown_incident_is_one_clear_error(snow, tmp_path):
    result = CliRunner().invoke(main, ["--config", str(_config(snow, tmp_path)), "run", "servicenow:INC9999999"])
    assert result.exit_code != 0
    assert "INC9999999 not found" in result.output and "Traceback" not in result.output


def test_states_audits_and_journals_read_as_tickets(snow, tmp_path):
    whole = Window(START - timedelta(days=1), START + timedelta(days=1))
    result = CliRunner().invoke(main, ["--config", str(_config(snow, tmp_path)), "ingest",
                                       "--since", whole.since.isoformat(), "--until", whole.until.isoformat()])
    assert result.exit_code == 0, result.output
    events = by_kind(lake_table(tmp_path, "events"))
    first_status = [e["title"] for e in events["ticket.status"] if "INC0010001" in e["title"]]
    assert first_status == ["INC0010001 state: (none) → New", "INC0010001 state: New → In Progress",
                            "INC0010001 state: In Progress → Resolved"]
    assert events["ticket.priority"][0]["severity"] == "SEV2"
    assert events["ticket.assigned"][0]["subject"] == "ana.ops"
    comments = [e for e in events["ticket.comment"] if "INC0010001" in e["title"]]
    assert [e["title"] for e in comments] == ["INC0010001 work note: rolled back to v41",
                                              "INC0010001 comment: Service restored, monitoring."]
    assert all(e["refs"][0].startswith("servicenow:INC") for rows in events.values() for e in rows)
    # the audit of work_notes repeats the journal: no event of its own
    assert not any("work_notes" in e["title"] for e in events.get("ticket.updated", []))
    created = events["ticket.created"][0]
    assert created["url"].startswith(snow.url("/").rstrip("/") + "/nav_to.do?uri=incident.do")
    # cmdb_ci holds the CI's sys_id; the connector asks for its name (dot-walked) and the
    # event names the service by it; a record link by sys_id names the ticket too
    assert created["service"] == "checkout-api"
    assert created["refs"][0] == "servicenow:INC0010001" and created["refs"][-1] == "servicenow:" + "%032x" % 0x5000


@pytest.mark.parametrize("offset, total, page, follows", [
    (200, "300", [{"sys_id": "a"}], True),
    (300, "300", [{"sys_id": "a"}], False),     # the link points past X-Total-Count
    (200, "300", [], False),                    # an empty page ends it, whatever the link says
])
def test_link_next_stops_at_the_total_or_an_empty_page(offset, total, page, follows):
    resp = requests.Response()
    link = f"https://acme.service-now.com/api/now/table/incident?sysparm_limit=100&sysparm_offset={offset}"
    resp.headers.update({"Link": f'<{link}>;rel="next"', "X-Total-Count": total})
    assert (_next_if_more(resp, {"result": page}) == link) is follows
