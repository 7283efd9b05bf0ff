"""Datadog beyond the conformance suite: paging by meta.page.after alone, Datadog's own
rate-limit headers, which key a 403 refused (or which variable is unset), the site, the
query, and a first run's lower bound."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from incident_timeline.config import ConfigInvalid, load_config
from incident_timeline.ingest.base import Window
from incident_timeline.ingest.datadog import DEFAULT_LOOKBACK
from incident_timeline.ingest.errors import AuthError
from tests.ingest.fakes.datadog import API_KEY, APP_KEY, DatadogFake, millis
from tests.ingest.test_conformance import connector_for, fetch_entry
from tests.support import write_config

UTC = timezone.utc
START = datetime(2026, 3, 9, 22, 0, tzinfo=UTC)
WINDOW = Window(START - timedelta(hours=1), START + timedelta(days=1))


def _fake(httpserver, monkeypatch, count: int = 8) -> DatadogFake:
    fake = DatadogFake(httpserver)
    for var, value in fake.environment().items():
        monkeypatch.setenv(var, value)
    fake.populate(START, count, timedelta(minutes=20))
    return fake


def _fetch(fake: DatadogFake, tmp_path, window: Window = WINDOW, **entry):
    return fetch_entry({**fake.source_entry(), **entry}, tmp_path, window)


def test_pages_by_meta_page_after_when_the_answer_has_no_next_link(httpserver, monkeypatch, tmp_path, sleeps):
    fake = _fake(httpserver, monkeypatch)
    fake.links_next = False
    records = _fetch(fake, tmp_path)
    assert [r.native_id for r in records] == [e["id"] for e in fake.events]
    cursors = [r.args.get("page[cursor]") for r in fake.served]
    assert cursors[0] is None and all(cursors[1:]) and len(set(cursors)) == len(cursors) == 3
    first = fake.served[0].args
    assert (first["filter[from]"], first["filter[to]"], first["sort"], first["page[limit]"]) == \
        (str(millis(WINDOW.since)), str(millis(WINDOW.until)), "timestamp", "3")


def test_the_next_link_is_asked_of_our_own_base_url(httpserver, monkeypatch, tmp_path, sleeps):
    fake = _fake(httpserver, monkeypatch)        # its links.next names api.datadoghq.com
    records = _fetch(fake, tmp_path)
    assert len(records) == len(fake.events) and len(fake.served) == 3
    assert all(r.host == f"{httpserver.host}:{httpserver.port}" for r in fake.requests)


def test_a_429_waits_for_datadogs_x_ratelimit_reset(httpserver, monkeypatch, tmp_path, sleeps):
    fake = _fake(httpserver, monkeypatch)
    fake.fail_next(429, {"X-RateLimit-Limit": "1000", "X-RateLimit-Period": "60", "X-RateLimit-Remaining": "0",
                         "X-RateLimit-Reset": "23", "X-RateLimit-Name": "events_list"},
                   {"errors": ["Too many requests"]})
    assert len(_fetch(fake, tmp_path)) == len(fake.events)
    assert sleeps and 23 <= sleeps[0] < 24


def test_a_refused_api_key_is_named(httpserver, monkeypatch, tmp_path, sleeps):
    fake = _fake(httpserver, monkeypatch)
    monkeypatch.setenv("FAKE_DD_API_KEY", "not-the-real-api-key-0000")
    with pytest.raises(AuthError) as err:
        _fetch(fake, tmp_path)
    message = str(err.value)
    assert message.startswith("source dd:") and "API key in FAKE_DD_API_KEY" in message
    assert "\n" not in message and "not-the-real-api-key-0000" not in message and APP_KEY not in message


def test_a_refused_application_key_is_named_with_the_permission_it_needs(httpserver, monkeypatch, tmp_path, sleeps):
    fake = _fake(httpserver, monkeypatch)
    monkeypatch.setenv("FAKE_DD_APP_KEY", "not-the-real-app-key-0000")
    with pytest.raises(AuthError) as err:
        _fetch(fake, tmp_path)
    message = str(err.value)
    assert "application key in FAKE_DD_APP_KEY" in message and "events_read" in message
    assert "API key is valid" in message and API_KEY not in message
    validate = [r for r in fake.requests if r.path == "/api/v1/validate"]
    assert validate and "DD-APPLICATION-KEY" not in validate[0].headers


def test_an_unset_key_variable_is_named_before_any_request(httpserver, monkeypatch, tmp_path):
    fake = _fake(httpserver, monkeypatch)
    monkeypatch.delenv("FAKE_DD_APP_KEY")
    with pytest.raises(AuthError) as err:
        _fetch(fake, tmp_path)
    assert "FAKE_DD_APP_KEY" in str(err.value) and "not set" in str(err.value)
    assert fake.requests == []


def test_the_query_is_sent_as_filter_query(httpserver, monkeypatch, tmp_path, sleeps):
    fake = _fake(httpserver, monkeypatch, count=2)
    _fetch(fake, tmp_path, query="source:alert service:checkout-api")
    assert {r.args.get("filter[query]") for r in fake.served} == {"source:alert service:checkout-api"}


def test_a_first_run_without_since_reads_the_default_lookback(httpserver, monkeypatch, tmp_path, sleeps):
    fake = _fake(httpserver, monkeypatch, count=2)
    until = START + timedelta(days=2)
    records = _fetch(fake, tmp_path, Window(None, until))
    assert len(records) == 2
    assert fake.served[0].args["filter[from]"] == str(millis(until - DEFAULT_LOOKBACK))


@pytest.mark.parametrize("site, base", [(None, "https://api.datadoghq.com/"), ("datadoghq.eu", "https://api.datadoghq.eu/"),
                                        ("us5.datadoghq.com", "https://api.us5.datadoghq.com/"),
                                        ("ddog-gov.com", "https://api.ddog-gov.com/")])
def test_the_site_names_the_api_host(tmp_path, site, base):
    entry = {"name": "dd", "type": "datadog", **({"site": site} if site else {})}
    assert connector_for(entry, tmp_path).base_url == base


def test_config_problems_are_reported_without_echoing_a_pasted_key(tmp_path):
    pasted = "0123456789abcdef0123456789abcdef"
    entry = {"name": "dd", "type": "datadog", "site": "datadoghq.moon", "api_key_env": pasted,
             "app_key_env": "${DD_APP_KEY}"}
    with pytest.raises(ConfigInvalid) as err:
        load_config(write_config(tmp_path, [entry]))
    problems = err.value.problems
    assert any("site:" in p and "datadoghq.moon" in p for p in problems)
    assert any(p.startswith("source dd: api_key_env: must name the environment variable") for p in problems)
    assert any(p.startswith("source dd: app_key_env: must name") for p in problems)
    assert pasted not in str(err.value)


def test_a_second_run_continues_from_the_cursor_the_first_one_left(httpserver, monkeypatch, tmp_path, sleeps):
    from click.testing import CliRunner

    from incident_timeline.cli import main

    fake = _fake(httpserver, monkeypatch)       # 8 events, START .. START + 140 min
    config = write_config(tmp_path, [fake.source_entry()])
    first_until, second_until = START + timedelta(minutes=70), START + timedelta(days=1)
    for until in (first_until, second_until):
        result = CliRunner().invoke(main, ["--config", str(config), "ingest", "--until", until.isoformat()])
        assert result.exit_code == 0, result.output
        query = CliRunner().invoke(main, ["--config", str(config), "query", "--format", "json",
                                          "SELECT value FROM cursors WHERE source = 'dd'"])
        assert query.exit_code == 0, query.output
        assert [datetime.fromisoformat(r["value"].replace("Z", "+00:00")) for r in json.loads(query.stdout)] == [until]
    froms = [int(r.args["filter[from]"]) for r in fake.served]
    assert froms[0] == millis(first_until - DEFAULT_LOOKBACK)
    assert froms[-1] == millis(first_until)      # the second run asks from where the first one stopped


def test_another_error_quotes_datadogs_own_message(httpserver, monkeypatch, tmp_path, sleeps):
    from incident_timeline.ingest.errors import SourceError

    fake = _fake(httpserver, monkeypatch, count=2)
    fake.fail_next(400, body={"errors": ["Invalid query: unbalanced parentheses"]})
    with pytest.raises(SourceError) as err:
        _fetch(fake, tmp_path, query="service:(checkout")
    assert "HTTP 400 on api/v2/events: Invalid query: unbalanced parentheses" in str(err.value)


@pytest.mark.parametrize("meta", [{"page": "after"}, {"page": ["x"]}, "done", None])
def test_a_page_whose_meta_is_of_another_shape_is_the_last_one(httpserver, tmp_path, monkeypatch, meta):
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("DD_APP_KEY", APP_KEY)
    event = {"id": "AAAA1", "type": "event", "attributes": {"timestamp": "2026-03-09T22:00:00.000Z"}}
    httpserver.expect_request("/api/v2/events").respond_with_json({"data": [event], "meta": meta})
    connector = connector_for({"name": "dd", "type": "datadog", "base_url": httpserver.url_for("/")}, tmp_path)
    assert [r.native_id for r in connector.fetch("", WINDOW)] == ["AAAA1"]


def test_recorded_monitor_events_build_an_incident_detected_by_the_first_alert_and_resolved_by_its_recovery(tmp_path):
    from click.testing import CliRunner

    from incident_timeline.cli import main
    from tests.normalize.test_mapping_datadog import RECOVERED, TRIGGERED, WARNED

    pages = tmp_path / "pages" / "api" / "v2"
    pages.mkdir(parents=True)
    (pages / "events.json").write_text(json.dumps({"data": [WARNED, TRIGGERED], "meta": {"page": {"after": "c1"}}}))
    (pages / "events.page-2.json").write_text(json.dumps({"data": [RECOVERED], "meta": {"page": {}}}))
    config = write_config(tmp_path, [{"name": "dd", "type": "datadog", "path": str(tmp_path / "pages")}])
    run = lambda *args: CliRunner().invoke(main, ["--config", str(config), *args])  # noqa: E731
    ingested = run("ingest", "--since", "2026-10-14T00:00:00Z", "--until", "2026-10-15T00:00:00Z")
    assert ingested.exit_code == 0, ingested.output
    built = run("build", "alert:datadog/7312042/env:prod", "--format", "json", "--out", str(tmp_path / "out"))
    assert built.exit_code == 0, built.output
    report = json.loads(next((tmp_path / "out").rglob("*.json")).read_text())
    assert (report["milestones"]["detected"], report["milestones"]["resolved"]) == \
        ("2026-10-14T07:58:00Z", "2026-10-14T10:40:05Z")
    assert report["incident"]["services"] == ["checkout-api"] and report["incident"]["severity"] == "SEV1"
