"""Datadog events through the mapping, compiled and one by one alike: records shaped as the
Events API v2 reference shows an event (`data[].attributes.attributes`), with monitor alert
fields as monitor events carry them (transition, result, `[Triggered]` titles)."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pyarrow as pa

from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.normalize.schema import RAW_SCHEMA

UTC = timezone.utc


def monitor_event(event_id: str, ts: str, title: str, status: str, *, transition: dict | None = None,
                  groups: list | None = None, **inner) -> dict:
    """One monitor alert event, as GET /api/v2/events lists it."""
    monitor = {"id": 7312042, "name": "checkout-api p99 latency", "type": "query alert",
               "query": "avg(last_5m):avg:trace.http.request.duration.by.service.99p{service:checkout-api} > 1.2",
               "tags": ["team:payments", "service:checkout-api"], "groups": groups or [],
               "result": {"alert_url": "https://app.datadoghq.eu/monitors/7312042?group=env%3Aprod"}}
    if transition is not None:
        monitor["transition"] = transition
    return {"id": event_id, "type": "event", "attributes": {
        "timestamp": ts, "message": "%%%\np99 above 1.2s for 5 min. Runbook: https://acme.atlassian.net/browse/OPS-77\n%%%",
        "tags": ["env:prod", "monitor", "source:alert", "service:checkout-api"],
        "attributes": {"aggregation_key": "a1b2c3d4e5", "monitor_id": 7312042, "monitor_groups": groups or [],
                       "priority": "normal", "status": status, "title": title, "sourcecategory": "alert",
                       "source_type_name": "Monitor Alert", "evt": {"id": "7012345678901234567", "source_id": 36,
                                                                    "type": "query_alert_monitor"},
                       "timestamp": 1791986534000, "service": "checkout-api", "monitor": monitor, **inner}}}


TRIGGERED = monitor_event("AAAAAZK1dGVzdC10cmlnZ2VyZWQ", "2026-10-14T10:02:11.320Z",
                          "[P1] [Triggered on {env:prod}] checkout-api p99 latency", "error",
                          transition={"source_state": "OK", "destination_state": "Alert", "transition_type": "alert"},
                          groups=["env:prod"])
WARNED = monitor_event("AAAAAZK1dGVzdC13YXJu", "2026-10-14T09:58:00+02:00",
                       "[Warn on {env:prod}] checkout-api p99 latency", "warning", groups=["env:prod"])
RECOVERED = monitor_event("AAAAAZK1dGVzdC1yZWNvdmVyZWQ", "2026-10-14T10:40:05Z",
                          "[P1] [Recovered on {env:prod}] checkout-api p99 latency", "success",
                          transition={"source_state": "Alert", "destination_state": "OK",
                                      "transition_type": "alert recovery"}, groups=["env:prod"])
NO_DATA = monitor_event("AAAAAZK1dGVzdC1ub2RhdGE", "2026-10-14T11:00:00Z",
                        "[No Data on {env:prod}] checkout-api p99 latency", "info", groups=["env:prod"])
# an event posted by a deploy tool: no monitor, an error status of its own
DEPLOY = {"id": "AAAAAZK1dGVzdC1kZXBsb3k", "type": "event", "attributes": {
    "timestamp": "2026-10-14T09:50:00.000Z", "message": "Deployed checkout-api v2.31.0", "tags": ["service:checkout-api"],
    "attributes": {"title": "Deploy checkout-api v2.31.0", "status": "error", "priority": "normal",
                   "source_type_name": "jenkins", "sourcecategory": "jenkins", "monitor_groups": [],
                   "monitor_id": None, "timestamp": 1791985800000}}}


def normalised(payloads):
    raw = pa.Table.from_pylist([{"run_id": "r", "source": "dd", "source_type": "datadog", "stream": "events",
                                 "partition": "", "native_id": str(p.get("id")), "parent_id": None,
                                 "payload": json.dumps(p), "fetched_at": datetime(2026, 11, 1, tzinfo=UTC)}
                                for p in payloads], schema=RAW_SCHEMA)
    spec = SourceSpec(name="dd", type="datadog", options={"site": "datadoghq.eu"})
    kw = dict(entities={}, jira_projects=["OPS"], ingested_at=datetime(2026, 11, 1, tzinfo=UTC))
    compiled, oracle = normalize_raw(raw, spec, **kw), normalize_raw(raw, spec, vectorized=False, **kw)
    assert compiled.events.to_pylist() == oracle.events.to_pylist()
    assert compiled.rejects.to_pylist() == oracle.rejects.to_pylist()
    return compiled


def events_of(payloads) -> dict[str, dict]:
    result = normalised(payloads)
    assert not result.rejects.num_rows, result.rejects.to_pylist()
    return {e["native_id"]: e for e in result.events.to_pylist()}


def test_a_monitor_trigger_warn_recovery_and_no_data():
    events = events_of([TRIGGERED, WARNED, RECOVERED, NO_DATA, DEPLOY])
    got = {e["native_id"]: (e["kind"], e["severity"]) for e in events.values()}
    assert got == {TRIGGERED["id"]: ("alert.triggered", "SEV1"), WARNED["id"]: ("alert.triggered", "SEV3"),
                   RECOVERED["id"]: ("alert.resolved", "SEV1"), NO_DATA["id"]: ("alert.state", None),
                   DEPLOY["id"]: ("note.event", "SEV2")}   # its own alert type, error
    trigger = events[TRIGGERED["id"]]
    assert trigger["ts"] == datetime(2026, 10, 14, 10, 2, 11, 320000, tzinfo=UTC)
    assert events[WARNED["id"]]["ts"] == datetime(2026, 10, 14, 7, 58, tzinfo=UTC)   # +02:00 made UTC
    assert (trigger["service"], trigger["actor"], trigger["actor_type"]) == ("checkout-api", "Datadog", "system")
    assert trigger["title"] == "[P1] [Triggered on {env:prod}] checkout-api p99 latency"
    assert trigger["body"].startswith("p99 above 1.2s") and "%%%" not in trigger["body"]
    assert trigger["url"] == "https://app.datadoghq.eu/monitors/7312042?group=env%3Aprod"
    attrs = json.loads(trigger["attrs"])
    assert (attrs["monitor_id"], attrs["monitor_groups"], attrs["state"], attrs["priority"]) == \
        ("7312042", ["env:prod"], "triggered", "normal")
    assert attrs["tags"] == ["env:prod", "monitor", "source:alert", "service:checkout-api"]
    assert attrs["incident_title"] == "checkout-api p99 latency"


def test_a_trigger_and_its_recovery_share_the_alert_ref_first():
    events = events_of([TRIGGERED, RECOVERED, DEPLOY])
    assert events[TRIGGERED["id"]]["refs"] == ["alert:datadog/7312042/env:prod", "jira:OPS-77"]
    assert events[RECOVERED["id"]]["refs"][0] == "alert:datadog/7312042/env:prod"
    assert events[DEPLOY["id"]]["refs"] == []


def test_the_state_comes_from_the_transition_then_the_title_then_the_status():
    renotify = copy.deepcopy(TRIGGERED)
    renotify["id"] = "AAAAAZK1dGVzdC1yZW5vdGlmeQ"
    renotify["attributes"]["attributes"]["monitor"]["transition"] = {"transition_type": "no data"}
    by_status = copy.deepcopy(WARNED)
    by_status["id"] = "AAAAAZK1dGVzdC1zdGF0dXM"
    by_status["attributes"]["attributes"]["title"] = "checkout-api p99 latency is back"
    by_status["attributes"]["attributes"]["status"] = "success"
    events = events_of([renotify, by_status])
    assert events[renotify["id"]]["kind"] == "alert.state"
    assert events[by_status["id"]]["kind"] == "alert.resolved"


def test_service_from_a_tag_when_the_event_names_none():
    tagged = copy.deepcopy(DEPLOY)
    tagged["attributes"]["tags"] = ["env:prod", "service:payments-settlement"]
    [event] = events_of([tagged]).values()
    assert event["service"] == "payments-settlement"


def test_a_record_without_its_timestamp_or_id_is_a_reject_naming_the_field():
    no_time = copy.deepcopy(TRIGGERED)
    del no_time["attributes"]["timestamp"]
    no_id = copy.deepcopy(WARNED)
    no_id["id"] = None
    result = normalised([no_time, no_id])
    assert result.events.num_rows == 0
    assert sorted((r["field"], r["reason"]) for r in result.rejects.to_pylist()) == \
        [("attributes.timestamp", "missing"), ("id", "missing")]
