"""GitLab beyond the conformance suite: a deployment shaped as the API docs' example becomes
its start and (once ended) its end; a rollback job; `keyset: false`; the environment filter."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pyarrow as pa

from incident_timeline.ingest.base import Window
from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.normalize.schema import RAW_SCHEMA
from tests.ingest.fakes.gitlab import GitLabFake
from tests.ingest.test_conformance import connector_for

UTC = timezone.utc
START = datetime(2026, 3, 9, 22, 0, tzinfo=UTC)
# as the Deployments API docs show one (trimmed): a running deploy of a branch, then a
# finished rollback job of a tag and a failed one
RUNNING = {"id": 42, "iid": 2, "ref": "main", "sha": "a91957a858320c0e17f3a0eca7cfacbff50ea29a", "status": "running",
           "created_at": "2016-08-11T07:36:40.222Z", "updated_at": "2016-08-11T07:38:12.414Z", "finished_at": None,
           "user": {"id": 1, "name": "Administrator", "username": "root", "state": "active"},
           "environment": {"id": 9, "name": "production", "external_url": "https://about.gitlab.com"},
           "deployable": {"id": 1278, "status": "running", "stage": "deploy", "name": "deploy", "ref": "main", "tag": False,
                          "web_url": "https://gitlab.example.com/root/app/-/jobs/1278",
                          "commit": {"id": "a91957a858320c0e17f3a0eca7cfacbff50ea29a", "title": "Merge branch 'x' into 'main'"}}}
ROLLBACK = {**RUNNING, "id": 43, "ref": "v2.30.4", "status": "success", "finished_at": "2016-08-11T08:01:00.000Z",
            "updated_at": "2016-08-11T08:01:00.000Z",
            "deployable": {**RUNNING["deployable"], "name": "rollback_production", "tag": True}}
FAILED = {**RUNNING, "id": 44, "status": "failed", "finished_at": "2016-08-11T09:00:00.000+02:00",
          "user": {"id": 3, "username": "deploy-bot", "name": None}}


def _events(payloads):
    raw = pa.Table.from_pylist([{"run_id": "r", "source": "gl", "source_type": "gitlab", "stream": "deployments",
                                 "partition": "root/app", "native_id": f"root/app/deployments/{p.get('id')}",
                                 "parent_id": "root/app", "payload": json.dumps(p),
                                 "fetched_at": datetime(2026, 11, 1, tzinfo=UTC)} for p in payloads], schema=RAW_SCHEMA)
    spec = SourceSpec(name="gl", type="gitlab", options={"projects": {"root/app": "shop"}})
    kw = dict(entities={}, jira_projects=[], ingested_at=datetime(2026, 11, 1, tzinfo=UTC))
    compiled, oracle = normalize_raw(raw, spec, **kw), normalize_raw(raw, spec, vectorized=False, **kw)
    assert compiled.events.to_pylist() == oracle.events.to_pylist()
    assert compiled.rejects.to_pylist() == oracle.rejects.to_pylist()
    assert not compiled.rejects.num_rows
    return {e["native_id"]: e for e in compiled.events.to_pylist()}


def test_the_docs_shape_a_rollback_job_and_a_failure():
    events = _events([RUNNING, ROLLBACK, FAILED])
    assert sorted(events) == ["root/app/deployments/42", "root/app/deployments/43", "root/app/deployments/43/finished",
                              "root/app/deployments/44", "root/app/deployments/44/finished"]
    running = events["root/app/deployments/42"]
    assert (running["kind"], running["service"], running["actor"], running["ts"]) == \
        ("change.deploy_started", "shop", "Administrator", datetime(2016, 8, 11, 7, 36, 40, 222000, tzinfo=UTC))
    attrs = json.loads(running["attrs"])
    assert (attrs["version"], attrs["environment"], attrs["author"], attrs["state"]) == \
        ("main", "production", "root", "running")
    assert events["root/app/deployments/43"]["kind"] == "change.rollback"
    assert events["root/app/deployments/43/finished"]["kind"] == "change.deploy_finished"
    failed = events["root/app/deployments/44/finished"]
    assert (failed["kind"], failed["actor_type"], failed["ts"]) == \
        ("change.deploy_failed", "bot", datetime(2016, 8, 11, 7, 0, tzinfo=UTC))


def _fetch(httpserver, monkeypatch, tmp_path, **entry):
    fake = GitLabFake(httpserver)
    monkeypatch.setenv("FAKE_GITLAB_TOKEN", fake.environment()["FAKE_GITLAB_TOKEN"])
    fake.populate(START, 5, timedelta(hours=1))
    connector = connector_for({**fake.source_entry(), **entry}, tmp_path)
    try:
        return fake, list(connector.fetch(connector.partitions()[0], Window(START, START + timedelta(days=1))))
    finally:
        connector.close()


def test_keyset_false_asks_without_it_and_a_405_is_one_clear_error(httpserver, monkeypatch, tmp_path):
    import pytest

    from incident_timeline.ingest.errors import SourceError

    with pytest.raises(SourceError) as err:       # this fake, like an instance without keyset, answers 405
        _fetch(httpserver, monkeypatch, tmp_path, keyset=False)
    assert "gl" in str(err.value) and "HTTP 405" in str(err.value)


def test_the_environment_filter_is_asked_and_applied(httpserver, monkeypatch, tmp_path):
    fake, records = _fetch(httpserver, monkeypatch, tmp_path, environments=["staging"])
    assert records == [] and {r.args.get("environment") for r in fake.served} == {"staging"}
