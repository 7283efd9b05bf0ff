"""Alertmanager alerts without a `fingerprint`: each gets the one Alertmanager computes from
its labels, in ingest (the native id) and in normalize (the `alert:` ref), on both paths."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_timeline.contract.alertmanager import alert_fingerprint, label_fingerprint
from tests.ingest.lakeview import by_kind, ingest, lake_table
from tests.normalize.test_fast_alerts import AM, assert_same, raw_table, taken_ids

# Label sets and the fingerprints real Alertmanagers sent with them, read from webhook
# bodies other projects recorded (a kube-state-metrics deployment alert, an OpenShift
# Watchdog, a site-offline alert); the last is FNV-1a 64's offset basis, which Alertmanager
# gives the empty label set.
VECTORS = [
    ({"alertname": "Deployment", "app_kubernetes_io_instance": "eric-oss-common-base",
      "app_kubernetes_io_managed_by": "Helm", "app_kubernetes_io_name": "eric-pm-kube-state-metrics",
      "app_kubernetes_io_version": "2.1.0_10", "chart": "eric-pm-kube-state-metrics-2.1.0_10",
      "deployment": "eric-log-transformer", "instance": "192.168.69.53:8080", "job": "eric-pm-kube-state-metrics",
      "kubernetes_name": "eric-pm-kube-state-metrics", "kubernetes_namespace": "eric-eo-cm-ci406",
      "namespace": "eric-eo-cm-ci406", "severity": "Warning"}, "fbab788ec4c1018b"),
    ({"openshift_io_alert_source": "platform", "alertname": "Watchdog",
      "managed_cluster": "1e867401-f870-4251-b463-31db706f5744", "severity": "none",
      "namespace": "openshift-monitoring", "prometheus": "openshift-monitoring/k8s"}, "cbe3d2f66dfdb788"),
    ({"acc_id": "130", "acn_id": "0007", "alertname": "V2 Sites offline metric", "consumer": "axcess",
      "severity": "critical", "team": "hit"}, "f0c999b2bd0ee34c"),
    ({}, "cbf29ce484222325"),
]


@pytest.mark.parametrize("labels, fingerprint", VECTORS)
def test_the_fingerprint_is_the_one_alertmanager_sent(labels, fingerprint):
    assert label_fingerprint(labels) == fingerprint
    # the order the labels came in does not matter (Alertmanager sorts them)
    assert label_fingerprint(dict(reversed(list(labels.items())))) == fingerprint


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), min_size=1, max_size=6))
def test_a_fingerprint_is_16_hex_digits_and_a_sent_one_wins(labels):
    computed = label_fingerprint(labels)
    assert len(computed) == 16 and int(computed, 16) >= 0
    assert alert_fingerprint({"labels": labels}) == (computed, True)
    assert alert_fingerprint({"labels": labels, "fingerprint": "00000000000000aa"}) == ("00000000000000aa", False)


@pytest.mark.parametrize("labels", [None, {}, "alertname=A", {"alertname": "A", "severity": 2}])
def test_no_labels_to_compute_from_gives_none(labels):
    assert alert_fingerprint({"labels": labels, "fingerprint": ""}) == (None, False)


def _alert(i: int, status: str = "firing", sent: bool = False, **fields) -> dict:
    alert = {"status": status, "labels": {"alertname": "DiskFull", "instance": f"db-{i}:9100", "job": "node",
                                          "severity": "warning", "service": "orders-db"},
             "annotations": {"summary": f"disk on db-{i} above 90%"},
             "startsAt": "2026-10-14T14:01:43.417362891Z",
             "endsAt": "2026-10-14T14:31:43Z" if status == "resolved" else "0001-01-01T00:00:00Z",
             "generatorURL": "http://prometheus.acme.example:9090/graph?g0.expr=disk_used"}
    if sent:
        alert["fingerprint"] = label_fingerprint(alert["labels"])
    return {**alert, **fields}


def _payload(alerts: list[dict], status: str = "firing") -> dict:
    # an older Alertmanager's payload: no fingerprint, no truncatedAlerts
    return {"receiver": "sre", "status": status, "alerts": alerts, "groupLabels": {"alertname": "DiskFull"},
            "commonLabels": {"alertname": "DiskFull", "job": "node"}, "commonAnnotations": {},
            "externalURL": "http://alertmanager.acme.example:9093", "version": "4",
            "groupKey": '{}:{alertname="DiskFull"}'}


def _ingested(tmp_path, lines: list[dict]):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "webhook.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = ingest(tmp_path, [{"name": "am", "type": "alertmanager", "path": str(path)}])
    assert result.exit_code == 0, result.output
    return by_kind(lake_table(tmp_path, "events")), lake_table(tmp_path, "rejects").to_pylist()


def test_a_group_without_fingerprints_keeps_every_alert(tmp_path):
    group = [_alert(i) for i in range(5)]
    resolved = [_alert(i, "resolved") for i in range(2)]
    events, rejects = _ingested(tmp_path, [_payload(group), _payload(resolved, "resolved")])
    assert rejects == []
    triggered = events["alert.triggered"]
    assert len(triggered) == 5 and len(events["alert.resolved"]) == 2
    want = {f"alert:{label_fingerprint(a['labels'])}" for a in group}
    assert {e["refs"][0] for e in triggered} == want
    assert all(json.loads(e["attrs"])["fingerprint_computed"] is True for e in triggered)
    # a resolution joins its own alert's trigger, as with a sent fingerprint
    assert {e["refs"][0] for e in events["alert.resolved"]} <= want


def test_a_computed_fingerprint_gives_the_events_a_sent_one_gives(tmp_path):
    bare, _ = _ingested(tmp_path / "bare", [_payload([_alert(1)])])
    sent, _ = _ingested(tmp_path / "sent", [_payload([_alert(1, sent=True)])])
    (b,), (s,) = bare["alert.triggered"], sent["alert.triggered"]
    assert (b["event_id"], b["native_id"], b["refs"]) == (s["event_id"], s["native_id"], s["refs"])
    assert "fingerprint_computed" not in json.loads(s["attrs"])


def test_alerts_with_nothing_to_compute_from_are_each_a_reject(tmp_path):
    nameless = [_alert(i, labels={}) for i in range(3)]
    events, rejects = _ingested(tmp_path, [_payload(nameless)])
    assert events == {}
    assert len(rejects) == 3 and {r["field"] for r in rejects} == {"fingerprint"}
    assert len({r["native_id"] for r in rejects}) == 3
    assert "labels" in rejects[0]["reason"]


def test_both_paths_agree_on_missing_fingerprints():
    def row(i, alert):
        return ("notifications", f"n{i}", "group", {**_payload([]), "alert": alert})
    with_fp = [row(i, _alert(i, sent=True)) for i in range(3)]
    without = [row(10 + i, _alert(i)) for i in range(3)] + [row(20, _alert(4, "resolved", fingerprint=None)),
                                                          row(21, _alert(5, fingerprint="")),
                                                          row(22, _alert(6, labels={}))]
    raw = raw_table("alertmanager", with_fp + without)
    events = assert_same(raw, AM)
    assert taken_ids(raw, AM) == {r[1] for r in with_fp + without}   # one query takes them all
    # the same alert with and without a sent fingerprint: one event id
    assert len({e["event_id"] for e in events if e["kind"] == "alert.triggered"}) == 5
