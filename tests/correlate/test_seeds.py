"""Seeds: a prefixed ref, a chat channel (by id or name), a service in a window."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from incident_timeline.correlate.expand import IncidentNotFound
from incident_timeline.correlate.seed import SeedInvalid, parse_seed
from tests.correlate.lakes import build, lake_config, load_scenario, scenario_events, write_events

CLEAN = load_scenario("clean")


def test_parse_every_seed_form():
    assert parse_seed("jira:OPS-123").kind == "ref"
    assert (parse_seed("slack:C0123").kind, parse_seed("slack:C0123").ref) == ("channel", "slack:C0123")
    assert parse_seed("slack:#inc-4213-checkout").channel_name == "inc-4213-checkout"
    seed = parse_seed("service:checkout-api@2026-10-14T14:00Z/2026-10-14T16:00+01:00")
    assert (seed.kind, seed.service, seed.start, seed.end) == (
        "service_window", "checkout-api", datetime(2026, 10, 14, 14, tzinfo=timezone.utc),
        datetime(2026, 10, 14, 15, tzinfo=timezone.utc))


@pytest.mark.parametrize("text, message", [
    ("Q2W3E4R", "not a prefixed ref"),
    ("service:api@2026-10-14T14:00/2026-10-14T15:00Z", "has no zone"),
    ("service:api@yesterday/2026-10-14T15:00Z", "not an ISO 8601 time"),
    ("service:api@2026-10-14T15:00Z/2026-10-14T14:00Z", "ends before it starts"),
])
def test_a_bad_seed_is_one_clear_error(text, message):
    with pytest.raises(SeedInvalid, match=message):
        parse_seed(text)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    config = lake_config(tmp_path_factory.mktemp("seeds"))
    write_events(config.lake, scenario_events(CLEAN))
    return config


def _members(config, seed: str) -> set[str]:
    return {r["event_id"] for r in build(config, seed)["incident_events"]}


def test_channel_and_service_window_seeds_find_the_same_incident(config):
    by_ref = _members(config, CLEAN["seed"])
    assert _members(config, "slack:CPAY") == by_ref
    assert _members(config, "slack:#inc-payments") == by_ref
    assert _members(config, "service:payments-api@2026-09-02T09:55Z/2026-09-02T10:30Z") == by_ref


def test_a_window_of_another_service_is_that_incident(config):
    members = _members(config, "service:search-indexer@2026-09-02T10:00Z/2026-09-02T10:10Z")
    # the payments ticket names og-2 in passing, so it is evidence here too; og-1 stays out
    assert members == {"og/n-trigger", "slack/n-bot", "og/n-ack", "slack/n-chat", "og/n-resolve", "jira/PAY-7"}


@pytest.mark.parametrize("seed, message", [
    ("jira:NOPE-1", "no event in the lake references jira:NOPE-1"),
    ("slack:#nowhere", "no chat channel named #nowhere"),
    ("service:payments-api@2026-09-03T09:00Z/2026-09-03T10:00Z", "no event of service 'payments-api'"),
])
def test_an_unknown_seed_says_what_is_missing(config, seed, message):
    with pytest.raises(IncidentNotFound, match=message):
        build(config, seed)


def test_a_window_seed_keeps_its_own_events_even_without_refs(tmp_path):
    from datetime import date

    from tests.correlate.lakes import _event

    day = date(2026, 9, 30)
    config = lake_config(tmp_path)
    write_events(config.lake, [
        _event(day, {"id": "n1", "at": "02:00:00", "source": "notes", "type": "file", "kind": "note.added",
                     "actor": "Ola", "actor_type": "human", "service": "batch", "title": "batch job stuck"}),
        _event(day, {"id": "n2", "at": "02:40:00", "source": "notes", "type": "file", "kind": "note.added",
                     "actor": "Ola", "actor_type": "human", "service": "batch", "title": "restarted, recovered"}),
        _event(day, {"id": "n3", "at": "02:10:00", "source": "notes", "type": "file", "kind": "note.added",
                     "actor": "Ola", "actor_type": "human", "service": "web", "title": "unrelated"}),
    ])
    built = build(config, "service:batch@2026-09-30T01:00Z/2026-09-30T03:00Z")
    assert [r["event_ids"] for r in built["timeline"]] == [["notes/n1"], ["notes/n2"]]
    marks = {m["name"]: m["event_id"] for m in built["milestones"]}
    assert marks == {"detected": "notes/n1", "first_response": "notes/n1", "mitigated": "notes/n2"}
