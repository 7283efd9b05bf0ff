"""Incidents linked only by what the real tools write: Alertmanager's group key hash as
Opsgenie's alias and PagerDuty's dedup key, an Opsgenie alert link in a ServiceNow work
note, a ServiceNow nav_to link and a Slack permalink in chat; each tool naming the service
its own way (the `services:` map); a shared #alerts channel and another incident in the
same hour kept out. Raw records (scenarios/integrations.yaml) through the real normaliser."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline.normalize.engine import build_entities, normalize_raw
from incident_timeline.normalize.oracle import MAPPERS
from incident_timeline.normalize.mapping import SourceSpec
from tests.correlate.lakes import build, lake_config, load_scenario, utc
from tests.support import publish_files

SPEC = load_scenario("integrations")
FETCHED = datetime(2026, 11, 21, tzinfo=timezone.utc)
ALERT_A = "8e0f5d2a-3b4c-4d5e-9f60-718293a4b5c6-1795168710412"
ALERT_S = "2c7d9e1f-5a6b-4c8d-8e9f-0a1b2c3d4e5f-1795168890077"
PAY_KEY = "dedup:5438d27fd3ca1201f2d3d7cfb8150d8738808b126dc80663b725f08edcf99059"
CHK_KEY = "dedup:aaf72ac8bb94f7868359eeb9c683f8e73cfc11ae40ce05b691e03b66caf9bd20"


def _normalise_into(lake, source: dict) -> None:
    raw = pa.Table.from_pylist([{
        "run_id": "scenario", "source": source["name"], "source_type": source["type"], "stream": r["stream"],
        "partition": r.get("parent_id") or "", "native_id": str(i), "parent_id": r.get("parent_id"),
        "payload": json.dumps(r["payload"]), "fetched_at": FETCHED} for i, r in enumerate(source["records"])],
        schema=RAW_SCHEMA)
    spec = SourceSpec(name=source["name"], type=source["type"], options=source.get("options", {}))
    out = normalize_raw(raw, spec, entities=build_entities(raw, MAPPERS[spec.type].entity_streams),
                        ingested_at=FETCHED)
    assert out.rejects.num_rows == 0, out.rejects.to_pylist()
    folder = lake / "events" / f"source={source['name']}" / "date=2026-11-20"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(out.events, folder / "scenario.parquet")
    publish_files(lake, [folder / "scenario.parquet"])


def _lake(tmp_path, services, spec=SPEC):
    config = lake_config(tmp_path)
    config.services = services
    for source in spec["sources"]:
        _normalise_into(config.lake, source)
    return config


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    return _lake(tmp_path_factory.mktemp("integrations"), SPEC["services"])


@pytest.fixture(scope="module")
def payments(lake):
    return build(lake, "servicenow:INC0012345")


@pytest.fixture(scope="module")
def checkout(lake):
    return build(lake, "pagerduty:Q7CHK01")


def _links(built) -> dict[str, tuple[str, int, str | None]]:
    return {link["ref"]: (link["status"], link["hop"], link["via_source"]) for link in built["incident_links"]}


def _sources_of(built, kind: str) -> list[list[str]]:
    return [r["sources"] for r in built["timeline"] if r["kind"] == kind]


# ---- Alertmanager + Opsgenie + ServiceNow + Slack, seeded by the ticket ------------------

def test_the_alert_that_fired_first_and_its_opsgenie_alert_join_the_ticket(payments):
    links = _links(payments)
    assert links["servicenow:INC0012345"] == ("seed", 0, None)
    # the work note's link (EU host, <uuid>-<epoch ms> id) names the alert, which becomes the
    # incident's identity (a build from any alias builds from it too); then the alias, then
    # the fingerprint
    (inc,) = payments["incidents"]
    assert inc["incident_id"] == f"opsgenie:{ALERT_A}"
    assert links[f"opsgenie:{ALERT_A}"] == ("seed", 0, None)
    (typed,) = [link for link in payments["incident_links"] if link["ref"] == "servicenow:INC0012345"]
    assert typed["reason"].startswith("a seed too: the ref typed")
    assert links["servicenow:05518f97193a7f6786936db29a0234f4"] == ("joined", 1, "servicenow")
    assert links[PAY_KEY] == ("joined", 1, "opsgenie")
    assert links["alert:a1b2c3d4e5f60718"] == ("joined", 2, "alertmanager")
    # the nav_to link (sys_id only) brings the chat; the permalink brings one message of #alerts
    assert links["slack:C0PAYINC1"] == ("joined", 2, "slack")
    assert links["slack:C0ALERTS1:1795168712.000300"][0] == "joined"


def test_one_row_per_happening_across_the_tools(payments):
    (fired,) = [r for r in payments["timeline"] if r["kind"] == "alert.triggered"]
    assert (fired["ts"], fired["source"], fired["sources"]) == (
        utc("2026-11-20T09:58:00Z"), "alertmanager", ["alertmanager", "opsgenie", "slack"])
    assert _sources_of(payments, "alert.resolved") == [["alertmanager", "opsgenie", "slack"]]


def test_detected_is_the_first_alert_and_the_opsgenie_ack_counts(payments):
    marks = {m["name"]: (m["ts"], m["source"]) for m in payments["milestones"]}
    assert marks["detected"] == (utc("2026-11-20T09:58:00Z"), "alertmanager")
    assert marks["acknowledged"] == (utc("2026-11-20T10:03:10Z"), "opsgenie")
    assert marks["mitigated"] == (utc("2026-11-20T10:12:00.000300Z"), "slack")
    assert marks["resolved"] == (utc("2026-11-20T10:40:31Z"), "opsgenie")
    (inc,) = payments["incidents"]
    assert inc["services"] == ["payments"]        # ci-pay and payments-settlement are one service
    assert inc["time_to_acknowledge_s"] == 310


def test_the_shared_channel_and_the_other_incident_stay_out(payments):
    links = _links(payments)
    assert links["slack:C0ALERTS1"][0] == "shared"
    assert links[f"opsgenie:{ALERT_S}"] == ("foreign", 1, "servicenow")
    members = {(r["source"], r["native_id"]) for r in payments["incident_events"]}
    assert not any(ALERT_S in n or "0f1e2d3c4b5a6978" in n for _s, n in members)
    assert ("slack", "C0ALERTS1:1795168892.000500") not in members    # the search alert's post
    assert ("slack", "C0ALERTS1:1795169000.000600") not in members    # and the reply under it
    # the permalinked post and the reply under it came in, nothing else of #alerts
    assert {n for s, n in members if s == "slack" and n.startswith("C0ALERTS1:")} == {
        "C0ALERTS1:1795168712.000300", "C0ALERTS1:1795168770.000400", "C0ALERTS1:1795171233.000700"}
    (inc,) = payments["incidents"]
    assert any(w.startswith("slack:C0ALERTS1 is a shared channel") for w in inc["warnings"])


def test_without_the_services_map_the_guard_refuses_the_alert_and_says_why(tmp_path):
    built = build(_lake(tmp_path, {}), "servicenow:INC0012345")
    (link,) = [x for x in built["incident_links"] if x["ref"] == f"opsgenie:{ALERT_A}"]
    assert link["status"] == "foreign"
    assert "payments-settlement" in link["reason"] and "ci-pay" in link["reason"]
    assert "services:" in link["reason"]
    (detected,) = [m for m in built["milestones"] if m["name"] == "detected"]
    assert detected["rule"] == "first event (no alert)"
    assert "alertmanager" not in built["incidents"][0]["sources"]


def _alert_routed_to_a_team_only(spec: dict, alert_id: str, team: str) -> dict:
    """`spec` with the Opsgenie alert's service tag taken away and the alert routed to `team`."""
    spec = copy.deepcopy(spec)
    (opsgenie,) = [s for s in spec["sources"] if s["type"] == "opsgenie"]
    (alert,) = [r["payload"] for r in opsgenie["records"] if r["stream"] == "alerts" and r["payload"]["id"] == alert_id]
    alert["tags"] = [t for t in alert["tags"] if not t.startswith("service:")]
    alert["responders"] = [{"type": "team", "id": team}, {"type": "user", "id": "u-1"}]
    return spec


def test_an_opsgenie_alert_is_placed_by_its_team_when_the_services_map_names_it(tmp_path):
    team = "0c9b8a7f-6e5d-4c3b-2a19-081726354433"
    spec = _alert_routed_to_a_team_only(SPEC, ALERT_S, team)
    # the other incident's alert names no service of its own, only the team it is routed to
    built = build(_lake(tmp_path / "mapped", {**SPEC["services"], "search": ["search-indexer", team]}, spec),
                  "servicenow:INC0012345")
    (link,) = [x for x in built["incident_links"] if x["ref"] == f"opsgenie:{ALERT_S}"]
    assert link["status"] == "foreign" and "search" in link["reason"]
    # a team no services: entry names says nothing about the service: the guard cannot refuse it
    built = build(_lake(tmp_path / "unmapped", SPEC["services"], spec), "servicenow:INC0012345")
    (link,) = [x for x in built["incident_links"] if x["ref"] == f"opsgenie:{ALERT_S}"]
    assert link["status"] != "foreign"


def test_the_incident_alert_routed_to_the_payments_team_is_on_payments(tmp_path):
    spec = _alert_routed_to_a_team_only(SPEC, ALERT_A, "Payments SRE")
    built = build(_lake(tmp_path / "one", {"payments": ["payments-settlement", "ci-pay", "payments sre"]}, spec),
                  "servicenow:INC0012345")
    (inc,) = built["incidents"]
    assert inc["incident_id"] == f"opsgenie:{ALERT_A}" and inc["services"] == ["payments"]
    # the team (matched case-insensitively) is all that puts the alert on payments: with the
    # ticket's names left out of the map, the two are on different services and the guard says so
    built = build(_lake(tmp_path / "two", {"payments": ["payments sre"]}, spec), "servicenow:INC0012345")
    (link,) = [x for x in built["incident_links"] if x["ref"] == f"opsgenie:{ALERT_A}"]
    assert link["status"] == "foreign" and "events are on payments," in link["reason"]


# ---- Alertmanager + PagerDuty, seeded by the PagerDuty incident -------------------------

def test_the_pagerduty_incident_meets_the_alertmanager_alert_by_its_dedup_key(checkout):
    links = _links(checkout)
    assert links[CHK_KEY] == ("joined", 1, "pagerduty")
    assert links["alert:c0ffee0123456789"] == ("joined", 2, "alertmanager")
    assert links["pagerduty:Q7LED02"] == ("foreign", 1, "pagerduty")
    members = {r["native_id"] for r in checkout["incident_events"]}
    assert "RLEDTRIG" not in members and not any(n.startswith("1ed9e4") for n in members)


def test_the_trigger_and_the_resolution_are_one_row_each(checkout):
    (fired,) = [r for r in checkout["timeline"] if r["kind"] == "alert.triggered"]
    assert (fired["ts"], fired["source"], fired["sources"]) == (
        utc("2026-11-20T12:00:00Z"), "alertmanager", ["alertmanager", "pagerduty"])
    assert len(fired["event_ids"]) == 3       # the Alertmanager alert, PagerDuty's alert and its trigger
    assert _sources_of(checkout, "alert.resolved") == [["alertmanager", "pagerduty"]]
    marks = {m["name"]: (m["ts"], m["source"]) for m in checkout["milestones"]}
    assert marks["detected"] == (utc("2026-11-20T12:00:00Z"), "alertmanager")
    assert marks["acknowledged"] == (utc("2026-11-20T12:04:00Z"), "pagerduty")
    assert marks["resolved"] == (utc("2026-11-20T12:30:10Z"), "pagerduty")
    (inc,) = checkout["incidents"]
    assert inc["services"] == ["checkout"]
