"""PagerDuty change events beyond the conformance suite: the REST reference's own example
shapes, and what CI tools put in custom_details, as change.* events."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow as pa

from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.normalize.schema import RAW_SCHEMA

UTC = timezone.utc
# shaped as the API reference's example answer of GET /change_events (a build tool)
REFERENCE = {"summary": "Build Success - Increase snapshot create timeout to 30 seconds",
             "id": "01BBYA6PEVW6A852BUO6QYUE7O", "timestamp": "2020-07-17T08:42:58Z", "type": "change_event",
             "source": "acme-build-pipeline-tool-default-i-9999",
             "integration": {"id": "PEYSGVF", "type": "inbound_integration_reference"},
             "services": [{"id": "PEYSGRV", "type": "service_reference"}],
             "custom_details": {"build_state": "passed", "build_number": "2", "run_time": "1236s"},
             "links": [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}]}
# an Argo CD notification template and a feature-flag tool, as teams configure them
ARGO_ROLLBACK = {"id": "01C0ROLLBACK0000000000001", "summary": "Rollback checkout-api to v2.30.4",
                 "timestamp": "2026-10-14T10:21:00-04:00", "type": "change_event", "source": "argocd",
                 "services": [{"id": "PSVC001", "type": "service_reference", "summary": "checkout-api"}],
                 "custom_details": {"revision": "4b1e77c0aa", "environment": "production", "user": "bob-martin",
                                    "tag": "v2.30.4", "status": "Succeeded"}, "links": []}
FLAG = {"id": "01C0FLAG00000000000000001", "summary": "Flag new-pool-impl turned ON in production",
        "timestamp": "2026-10-14T13:50:00Z", "type": "change_event", "source": "launchdarkly",
        "services": [{"id": "PSVC001", "type": "service_reference", "summary": "checkout-api"}],
        "custom_details": {"environment": "production", "author": "carol@acme.example"}}
ODD = [{"id": "x1", "timestamp": "2026-10-14T13:50:00Z", "services": "PSVC001", "links": {"href": 3},
        "custom_details": ["deploy"], "summary": None},
       {"id": "x2", "timestamp": None, "summary": "Deployed"}, {"timestamp": "2026-10-14T13:50:00Z"}]


def _normalize(payloads: list[dict]):
    raw = pa.Table.from_pylist([{"run_id": "r", "source": "pdc", "source_type": "pagerduty_changes",
                                 "stream": "change_events", "partition": "", "native_id": str(p.get("id")),
                                 "parent_id": None, "payload": json.dumps(p),
                                 "fetched_at": datetime(2026, 11, 1, tzinfo=UTC)} for p in payloads], schema=RAW_SCHEMA)
    spec = SourceSpec(name="pdc", type="pagerduty_changes")
    kw = dict(entities={}, jira_projects=[], ingested_at=datetime(2026, 11, 1, tzinfo=UTC))
    compiled, oracle = normalize_raw(raw, spec, **kw), normalize_raw(raw, spec, vectorized=False, **kw)
    assert compiled.events.to_pylist() == oracle.events.to_pylist()
    assert compiled.rejects.to_pylist() == oracle.rejects.to_pylist()
    return {e["native_id"]: e for e in compiled.events.to_pylist()}, compiled.rejects.to_pylist()


def test_the_reference_example_and_ci_shapes_become_change_events():
    events, rejects = _normalize([REFERENCE, ARGO_ROLLBACK, FLAG])
    assert not rejects
    build = events[REFERENCE["id"]]
    # a build that passed is a change, not a deploy: nothing in it says which
    assert (build["kind"], build["service"], build["actor"], build["actor_type"]) == \
        ("change.other", "PEYSGRV", "acme-build-pipeline-tool-default-i-9999", "system")
    assert build["url"] == "https://acme.pagerduty.dev/build/2"
    assert json.loads(build["attrs"])["service_id"] == "PEYSGRV"
    rollback = events[ARGO_ROLLBACK["id"]]
    assert rollback["kind"] == "change.rollback" and rollback["ts"] == datetime(2026, 10, 14, 14, 21, tzinfo=UTC)
    attrs = json.loads(rollback["attrs"])
    assert (attrs["version"], attrs["commit"], attrs["environment"], attrs["author"]) == \
        ("v2.30.4", "4b1e77c0aa", "production", "bob-martin")
    assert (rollback["service"], rollback["actor_type"]) == ("checkout-api", "human")
    assert events[FLAG["id"]]["kind"] == "change.config_change"


def test_odd_shapes_are_events_or_rejects_naming_the_field():
    events, rejects = _normalize(ODD)
    assert events["x1"]["kind"] == "change.other" and events["x1"]["service"] is None and events["x1"]["url"] is None
    assert {(r["native_id"], r["field"]) for r in rejects} == {("x2", "timestamp"), ("None", "id")}
