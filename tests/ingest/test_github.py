"""GitHub beyond the conformance suite: its own rate-limit answers, `since` stopping the
newest-first lists early, the environment filter, and the demo's recorded pages as events."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from incident_timeline.ingest.base import Window
from tests.ingest.fakes.github import GitHubFake
from tests.ingest.lakeview import ingest, lake_table
from tests.ingest.test_conformance import fetch_entry
from tests.support import FIXTURES

START = datetime(2026, 3, 9, 22, 0, tzinfo=timezone.utc)
UTC = timezone.utc


def _fake(httpserver, monkeypatch) -> GitHubFake:
    fake = GitHubFake(httpserver)
    for var, value in fake.environment().items():
        monkeypatch.setenv(var, value)
    fake.populate(START, 12, timedelta(hours=1))
    return fake


def _fetch(fake, tmp_path, window, **entry):
    return fetch_entry({**fake.source_entry(), **entry}, tmp_path, window)


def test_primary_rate_limit_403_waits_until_the_reset(httpserver, monkeypatch, tmp_path, sleeps):
    fake = _fake(httpserver, monkeypatch)
    reset = int((datetime.now(UTC) + timedelta(seconds=20)).timestamp())
    fake.fail_next(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
                   {"message": "API rate limit exceeded for user ID 1."})
    fake.fail_next(403, {"Retry-After": "9"}, {"message": "You have exceeded a secondary rate limit."})
    records = _fetch(fake, tmp_path, Window(START, START + timedelta(days=1)))
    assert len([r for r in records if r.stream == "deployments"]) == 12
    assert sleeps[0] >= 15 and sleeps[1] >= 9


def test_a_403_that_is_no_rate_limit_is_a_permission_error(httpserver, monkeypatch, tmp_path):
    fake = _fake(httpserver, monkeypatch)
    fake.fail_next(403, {}, {"message": "Resource not accessible by personal access token"})
    result = ingest(tmp_path, [fake.source_entry()], "--since", START.isoformat())
    assert result.exit_code != 0
    assert "permission denied" in result.output and "Resource not accessible" in result.output


def test_since_stops_the_newest_first_lists_at_older_pages(httpserver, monkeypatch, tmp_path):
    fake = _fake(httpserver, monkeypatch)
    window = Window(START + timedelta(hours=10), START + timedelta(days=1))
    records = _fetch(fake, tmp_path, window)
    assert sorted(r.native_id for r in records if r.stream == "deployments") == \
        [f"acme/checkout-api/deployments/{900000 + i}" for i in (10, 11)]
    asked = [(r.path, r.args.get("page", "1")) for r in fake.served if r.path.endswith("/pulls")]
    assert asked == [("/repos/acme/checkout-api/pulls", "1")]          # 13 pulls, 5 pages: one was enough
    # deployments created within a day before the window are asked for their statuses
    status_paths = {r.path for r in fake.served if r.path.endswith("/statuses")}
    assert len(status_paths) == 12


def test_environments_filter_keeps_only_those_deploys(httpserver, monkeypatch, tmp_path):
    fake = _fake(httpserver, monkeypatch)
    fake.deployments[0]["environment"] = "staging"
    records = _fetch(fake, tmp_path, Window(START, START + timedelta(days=1)), environments=["production"],
                     streams=["deployments"])
    ids = {r.native_id for r in records if r.stream == "deployments"}
    assert len(ids) == 11 and "acme/checkout-api/deployments/900000" not in ids
    assert all(r.args.get("environment") == "production" for r in fake.served if r.path.endswith("/deployments"))


def test_the_demo_pages_give_the_deploy_its_rollback_and_their_facts(tmp_path):
    source = {"name": "github", "type": "github", "token": "${GITHUB_TOKEN}", "path": str(FIXTURES / "github"),
              "repositories": {"acme/checkout-api": "checkout-api", "acme/search-indexer": "search-indexer"}}
    result = ingest(tmp_path, [source], "--since", "2026-10-14T12:00:00Z", "--until", "2026-10-14T16:00:00Z")
    assert result.exit_code == 0, result.output
    events = {e["native_id"]: e for e in lake_table(tmp_path, "events").to_pylist()}
    assert not lake_table(tmp_path, "rejects").num_rows
    deploy = events["acme/checkout-api/deployments/911201"]
    assert (deploy["kind"], deploy["ts"], deploy["service"]) == \
        ("change.deploy_started", datetime(2026, 10, 14, 13, 55, tzinfo=UTC), "checkout-api")
    attrs = json.loads(deploy["attrs"])
    assert (attrs["version"], attrs["environment"], attrs["author"], attrs["commit"][:7]) == \
        ("v2.31.0", "production", "alice-chen", "9f3c2a1")
    rollback = events["acme/checkout-api/deployments/911217"]
    assert rollback["kind"] == "change.rollback" and json.loads(rollback["attrs"])["version"] == "v2.30.4"
    finished = events["acme/checkout-api/deployments/911201/statuses/7730288"]
    assert finished["kind"] == "change.deploy_finished" and finished["actor_type"] == "bot"
    assert json.loads(finished["attrs"])["deployment_id"] == "acme/checkout-api/deployments/911201"
    assert events["acme/checkout-api/pulls/1187"]["kind"] == "change.merge"
    assert events["acme/checkout-api/releases/180031"]["kind"] == "change.release"
    assert events["acme/search-indexer/deployments/911199"]["service"] == "search-indexer"
    assert "acme/checkout-api/deployments/911188" not in events          # 11:30, before the window
