"""Teams beyond the conformance suite: Graph's links followed exactly, replies past the inline
ones, the delta query (filtered on `since`, then from the stored delta link on the next cursor
run), the token refreshed once on a 401, and one clear line for a missing permission."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import pytest

from incident_timeline.config import ConfigInvalid, load_config
from incident_timeline.ingest.base import Window
from incident_timeline.ingest.errors import AuthError, ConfigError, RetriesExhausted, SourceError
from incident_timeline.ingest.msgraph import SCOPE
from incident_timeline.ingest.teams import TeamsConnector, channels
from incident_timeline.lake.layout import Lake
from incident_timeline.lake.state import read_cursor_links
from tests.ingest.fakes.teams import CHANNEL, TEAM, TeamsFake
from tests.ingest.lakeview import ingest, lake_table
from tests.support import write_config

START = datetime(2026, 3, 9, 22, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
WHOLE = Window(START - timedelta(days=1), START + timedelta(days=2))
MESSAGES = f"/v1.0/teams/{TEAM}/channels/{CHANNEL}/messages"


@pytest.fixture
def fake(httpserver, monkeypatch, sleeps) -> TeamsFake:
    api = TeamsFake(httpserver)
    for var, value in api.environment().items():
        monkeypatch.setenv(var, value)
    api.populate(START, 8, HOUR)
    return api


def _connector(fake, tmp_path, now=None, **entry) -> TeamsConnector:
    settings = load_config(write_config(tmp_path, [{**fake.source_entry(), **entry}])).sources[0]
    return TeamsConnector(settings, now=now) if now else TeamsConnector(settings)


def _fetch(connector, window):
    try:
        return [r for p in connector.partitions() for r in connector.fetch(p, window)]
    finally:
        connector.close()


def _keys(records) -> Counter:
    return Counter((r.stream, r.native_id) for r in records)


def _graph(fake) -> list:
    return [r for r in fake.served if r.path.startswith("/v1.0/")]


def test_next_links_are_followed_exactly_and_long_threads_page_their_replies(fake, tmp_path):
    records = _fetch(_connector(fake, tmp_path), WHOLE)
    assert _keys(records) == Counter((e.stream, e.native_id) for e in fake.expected(WHOLE))
    first, *rest = [r for r in _graph(fake) if r.path == MESSAGES]
    assert parse_qs(first.query_string.decode()) == {"$top": ["3"], "$expand": ["replies"]}
    # what followed is the server's link as it gave it: its query, nothing of ours added
    assert rest and all(set(parse_qs(r.query_string.decode())) == {"$expand", "$skiptoken"} for r in rest)
    replies = [r for r in _graph(fake) if r.path.endswith("/replies")]
    assert replies, "a thread longer than the inline replies must be read on by replies@odata.nextLink"
    # the raw message is the message as Graph gives it unexpanded; replies are records of their own
    assert not any("replies" in r.payload for r in records if r.stream == "messages")
    assert sum(r.stream == "replies" for r in records) == sum(len(v) for v in fake.replies.values())


def test_a_recent_window_is_a_delta_round_filtered_on_since(fake, tmp_path):
    window = Window(START + 2 * HOUR, START + 5 * HOUR)
    records = _fetch(_connector(fake, tmp_path, now=lambda: START + timedelta(days=30)), window)
    assert _keys(records) == Counter((e.stream, e.native_id) for e in fake.expected(window))
    asked = [parse_qs(r.query_string.decode()) for r in _graph(fake) if r.path == f"{MESSAGES}/delta"]
    assert asked[0]["$filter"] == ["lastModifiedDateTime gt 2026-03-09T23:59:59.999Z"]
    assert not any(r.path == MESSAGES for r in _graph(fake)), "a recent window needs no full list"


def test_a_cursor_run_stores_the_delta_link_and_the_next_run_starts_from_it(fake, tmp_path):
    first = ingest(tmp_path, [fake.source_entry()])
    assert first.exit_code == 0, first.output
    assert [r for r in _graph(fake) if r.path == f"{MESSAGES}/delta"], "a cursor run ends with a delta round"
    lake = Lake.for_config(load_config(tmp_path / "connectors.yaml"))
    [(partition, link)] = read_cursor_links(lake, fake.name).items()
    assert partition == CHANNEL and "$deltatoken=" in link
    before = len(fake.served)
    # later, one new thread and an edit of an old message
    fake.now = datetime(2026, 12, 3, tzinfo=timezone.utc)
    root = fake.add_root(datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc), "new: payments 5xx OPS-77", replies=1)
    edited = fake.roots[0]
    edited["body"] = {"contentType": "html", "content": "<p>update 0: rolled back</p>"}
    edited["lastModifiedDateTime"] = edited["lastEditedDateTime"] = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)

    second = ingest(tmp_path, [fake.source_entry()])
    assert second.exit_code == 0, second.output
    asked = [r for r in fake.served[before:] if r.path.startswith("/v1.0/")]
    assert asked[0].url == link, "the stored link is asked exactly as Graph gave it"
    assert not any(r.path == MESSAGES for r in asked), "the second run lists only what changed"
    events = {e["native_id"]: e for e in lake_table(tmp_path, "events").to_pylist()}
    assert f"{CHANNEL}/{root['id']}" in events
    assert events[f"{CHANNEL}/{edited['id']}"]["body"] == "update 0: rolled back"
    assert not lake_table(tmp_path, "rejects").num_rows


def test_an_expired_delta_link_falls_back_to_the_time_cursor(fake, tmp_path):
    connector = _connector(fake, tmp_path, now=lambda: START + timedelta(days=30))
    stale = fake.url(f"{MESSAGES}/delta") + "?$deltatoken=bm90LWEtdG9rZW4"
    connector.graph._ensure_token()
    fake.fail_next(400, body={"error": {"code": "BadRequest", "message": "Invalid delta token"}})
    connector.resume({CHANNEL: stale})
    window = Window(START + 2 * HOUR, START + 5 * HOUR)
    records = _fetch(connector, window)
    assert {(e.stream, e.native_id) for e in fake.expected(window)} <= set(_keys(records))
    assert any("$filter" in parse_qs(r.query_string.decode()) for r in _graph(fake))


def test_a_refused_token_is_fetched_again_once(fake, tmp_path):
    fake.expire_next_token = True
    records = _fetch(_connector(fake, tmp_path), WHOLE)
    assert records and fake.tokens_issued == 2


def test_a_missing_permission_is_one_line_naming_it(fake, tmp_path):
    connector = _connector(fake, tmp_path)
    connector.graph._ensure_token()
    fake.fail_next(403, body={"error": {"code": "Forbidden", "message": "Missing role permissions on the request. "
                                        "API requires one of 'ChannelMessage.Read.All, Group.Read.All'."}})
    with pytest.raises(AuthError) as err:
        _fetch(connector, WHOLE)
    text = str(err.value)
    assert "\n" not in text and fake.name in text and "ChannelMessage.Read.All" in text and "403" in text


def test_a_bad_secret_is_one_line_and_never_quoted(fake, tmp_path):
    fake.break_auth()
    with pytest.raises(AuthError) as err:
        _fetch(_connector(fake, tmp_path), WHOLE)
    text = str(err.value)
    assert "\n" not in text and "invalid_client" in text and "AADSTS7000215" in text
    assert all(secret not in text for secret in fake.secrets())


def test_the_token_request_is_the_client_credentials_flow(fake, tmp_path):
    _fetch(_connector(fake, tmp_path), Window(START, START + HOUR))
    [token] = [r for r in fake.served if r.path.endswith("/oauth2/v2.0/token")]
    assert token.method == "POST" and token.form["scope"] == SCOPE
    assert token.form["grant_type"] == "client_credentials"


def test_server_errors_that_persist_end_in_a_clear_error(fake, tmp_path, sleeps):
    connector = _connector(fake, tmp_path)
    connector.graph._ensure_token()
    fake.fail_next(503, {"Retry-After": "2"}, times=10)
    with pytest.raises(RetriesExhausted) as err:
        _fetch(connector, WHOLE)
    assert "HTTP 503" in str(err.value) and fake.name in str(err.value)
    assert min(sleeps) >= 2


def test_a_link_to_another_host_is_not_followed(fake, tmp_path):
    connector = _connector(fake, tmp_path)
    connector.graph._ensure_token()
    fake.fail_next(200, body={"value": [], "@odata.nextLink": "https://graph.example.net/v1.0/teams/x?$skiptoken=1"})
    with pytest.raises(SourceError) as err:
        _fetch(connector, WHOLE)
    assert "another host" in str(err.value)
    assert len(fake.requests) == 2


def test_an_unknown_channel_says_which(fake, tmp_path):
    with pytest.raises(ConfigError) as err:
        _fetch(_connector(fake, tmp_path, channels=["19:nope@thread.tacv2"]), WHOLE)
    assert "19:nope@thread.tacv2" in str(err.value)


def test_an_unset_secret_variable_is_one_line_naming_it(fake, tmp_path, monkeypatch):
    monkeypatch.delenv("FAKE_TEAMS_CLIENT_SECRET")
    with pytest.raises(ConfigError) as err:
        _fetch(_connector(fake, tmp_path), WHOLE)
    assert "FAKE_TEAMS_CLIENT_SECRET" in str(err.value)
    assert not fake.requests


def test_config_is_checked_up_front(fake, tmp_path):
    entry = {**fake.source_entry(), "channels": [], "client_secret_env": "${TEAMS_SECRET}"}
    with pytest.raises(ConfigInvalid) as err:
        load_config(write_config(tmp_path, [entry]))
    text = str(err.value)
    assert "channels: needs at least one channel id" in text and "client_secret_env" in text
    missing = {k: v for k, v in fake.source_entry().items() if k != "tenant_id"}
    with pytest.raises(ConfigInvalid, match="tenant_id is required"):
        load_config(write_config(tmp_path, [missing]))


def test_channels_may_be_listed_with_or_without_names():
    assert channels(["19:a@thread.tacv2", {"19:b@thread.tacv2": "inc"}, {"id": "19:c@thread.skype", "name": "ops"}]) \
        == {"19:a@thread.tacv2": None, "19:b@thread.tacv2": "inc", "19:c@thread.skype": "ops"}
    assert channels({"19:a@thread.tacv2": "inc"}) == {"19:a@thread.tacv2": "inc"}
