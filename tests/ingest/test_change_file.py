"""The `change_file` connector: a CI system's change log (CSV or JSON lines) with a field map
becomes change.* events carrying service, version, commit, environment and author; a row it
cannot place is a reject naming the field, never lost."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.normalize.schema import RAW_SCHEMA
from tests.ingest.lakeview import ingest, lake_table

DATA = Path(__file__).parent / "data" / "change_file"
UTC = timezone.utc
ARGO = {"name": "argocd", "type": "change_file", "path": str(DATA / "argocd-history.csv"),
        "fields": {"ts": "finished_at", "service": "app", "kind": "event", "status": "phase", "commit": "revision",
                   "version": "tag", "environment": "env", "author": "initiated_by", "id": "id", "text": "message"}}
# Jenkins build records as a post-build step writes them: nested JSON, Jenkins' result words
JENKINS = {"name": "jenkins", "type": "change_file", "path": str(DATA / "jenkins-deploys.jsonl"),
           "service": "checkout-api", "kind": "deploy",
           "fields": {"ts": "timestamp", "status": "result", "commit": "params.GIT_COMMIT", "version": "params.VERSION",
                      "environment": "params.TARGET_ENV", "author": "user", "id": "job.build", "text": "cause"}}


def _lake(tmp_path, source):
    result = ingest(tmp_path, [source])
    assert result.exit_code == 0, result.output
    events = {e["native_id"]: e for e in lake_table(tmp_path, "events").to_pylist()}
    rejects = {r["native_id"]: r for r in lake_table(tmp_path, "rejects").to_pylist()}
    return events, rejects


def test_argo_cd_history_rows_become_change_events(tmp_path):
    events, rejects = _lake(tmp_path, ARGO)
    assert sorted(events) == ["argo-1181", "argo-1182", "argo-1183", "argo-1184"]
    deploy = events["argo-1181"]
    assert (deploy["kind"], deploy["category"], deploy["service"]) == ("change.deploy_finished", "change", "checkout-api")
    assert deploy["ts"] == datetime(2026, 10, 14, 13, 55, tzinfo=UTC)
    assert (deploy["actor"], deploy["actor_type"]) == ("alice@acme.example", "human")
    assert deploy["title"] == "Deployed checkout-api v2.31.0 to production"
    attrs = json.loads(deploy["attrs"])
    assert (attrs["version"], attrs["commit"], attrs["environment"], attrs["author"]) == \
        ("v2.31.0", "9f3c2a1d7e", "production", "alice@acme.example")
    assert events["argo-1182"]["kind"] == "change.rollback"          # its kind wins over "Running"
    assert events["argo-1183"]["kind"] == "change.deploy_failed"
    assert events["argo-1183"]["actor_type"] == "bot"
    assert events["argo-1183"]["ts"] == datetime(2026, 10, 14, 14, 40, tzinfo=UTC)   # naive: the source's zone
    config = events["argo-1184"]
    assert config["kind"] == "change.config_change" and config["title"] == "Config change checkout-api in production"
    assert json.loads(config["attrs"])["version"] is None
    assert list(rejects) == ["argo-1185"] and rejects["argo-1185"]["field"] == "finished_at"


def test_jenkins_json_lines_with_nested_fields_and_defaults(tmp_path):
    events, rejects = _lake(tmp_path, JENKINS)
    assert sorted(events) == ["412", "413"]
    first = events["412"]
    assert (first["kind"], first["service"], first["ts"]) == \
        ("change.deploy_finished", "checkout-api", datetime(2026, 10, 14, 13, 54, 12, tzinfo=UTC))
    assert json.loads(first["attrs"])["commit"] == "9f3c2a1d7e"
    # Jenkins' ABORTED is a deploy that did not finish; nobody is named (a timer started it)
    assert events["413"]["kind"] == "change.deploy_failed" and events["413"]["actor_type"] == "system"
    assert list(rejects) == ["414"] and rejects["414"]["field"] == "timestamp"


def _raw(rows: list) -> pa.Table:
    return pa.Table.from_pylist([{"run_id": "r", "source": "ci", "source_type": "change_file", "stream": "rows",
                                  "partition": "", "native_id": f"ci.jsonl:{i}", "parent_id": f"ci.jsonl:{i}",
                                  "payload": json.dumps(row), "fetched_at": datetime(2026, 11, 1, tzinfo=UTC)}
                                 for i, row in enumerate(rows, start=1)], schema=RAW_SCHEMA)


def test_the_compiled_mapping_and_the_oracle_agree_on_odd_rows():
    rows = [{"at": "2026-10-14T13:55:00Z", "svc": "api", "what": "Rolled Back", "v": 7, "by": None},
            {"at": "2026-10-14T13:56:00Z", "svc": {"name": "api"}, "what": ["deploy"], "v": True, "by": "x[bot]"},
            {"at": 17, "what": "", "v": "", "by": ""}, {"svc": "api"}, {"at": "", "svc": "api"}]
    spec = SourceSpec(name="ci", type="change_file", options={"fields": {
        "ts": "at", "service": "svc", "kind": "what", "version": "v", "author": "by"}})
    kw = dict(entities={}, jira_projects=[], ingested_at=datetime(2026, 11, 1, tzinfo=UTC))
    compiled, oracle = normalize_raw(_raw(rows), spec, **kw), normalize_raw(_raw(rows), spec, vectorized=False, **kw)
    assert compiled.events.to_pylist() == oracle.events.to_pylist()
    assert compiled.rejects.to_pylist() == oracle.rejects.to_pylist()
    kinds = [e["kind"] for e in compiled.events.to_pylist()]
    assert kinds[:2] == ["change.rollback", "change.deploy_finished"]   # a list names no kind: the default
    assert {r["field"] for r in compiled.rejects.to_pylist()} == {"at"}
