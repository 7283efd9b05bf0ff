"""The review on fixtures/history (its README tells the story: seven related incidents from
June to October, some built only from an alias, one late draft): each figure against the
story's own table, worked out in plain Python (tests/export/review_expect.py)."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from tests.export import review_expect as expect
from tests.export.review_lakes import Item, Spec
from tests.export.snapshots import assert_snapshot
from tests.support import cli

U = timezone.utc
AS_OF = date(2026, 11, 1)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=U)


def _story(id, service, alert, sev, detected, ack_min, res_min, items=(), draft=None) -> Spec:
    """One row of fixtures/history/README.md; `draft`: when drafts.json says it was first built."""
    d = _at(detected)
    resolved = d.timestamp() + res_min * 60
    after_h = None if draft is None else (_at(draft).timestamp() - resolved) / 3600
    return Spec(id, service, sev, d, ack_min * 60, res_min * 60, alert=alert, items=tuple(items),
                draft_after_h=after_h, prefix="pagerduty")


STORY = [
    _story("P1JUNCK", "checkout-api", "checkout-api-5xx", "SEV2", "2026-06-09T09:00", 4, 40,
           [Item("OPS-1102", "Done", closed_at=_at("2026-06-20T14:00"))], "2026-06-09T15:00"),
    _story("P2JULPY", "payments-api", "payments-api-errors", "SEV2", "2026-07-14T13:00", 6, 55,
           draft="2026-07-15T09:00"),
    _story("P3AUGPY", "payments-api", "payments-api-timeouts", "SEV1", "2026-08-03T18:30", 12, 120,
           [Item("OPS-1150", "To Do", due=date(2026, 8, 17))], "2026-08-04T16:00"),
    _story("P4AUGCK", "checkout-api", "checkout-api-5xx", "SEV2", "2026-08-20T07:15", 8, 70,
           [Item("OPS-1180", "Done", closed_at=_at("2026-09-05T10:00"))], "2026-08-20T13:00"),
    _story("P5SEPCK", "checkout-api", "checkout-api-latency", "SEV3", "2026-09-18T22:10", 3, 25,
           [Item("OPS-1210", "In Progress", due=date(2027, 1, 15))], "2026-09-21T11:00"),
    _story("P6OCTCK", "checkout-api", "checkout-api-5xx", "SEV2", "2026-10-05T15:40", 15, 90,
           [Item("OPS-1250", "To Do", due=date(2026, 10, 19))], "2026-10-06T10:00"),
    _story("P7OCTPY", "payments-api", "payments-api-timeouts", "SEV1", "2026-10-22T11:05", 5, 45,
           draft="2026-10-23T09:30"),
]
PERIODS = {"2026-Q3": (_at("2026-07-01T00:00"), _at("2026-10-01T00:00")),
           "2026-Q4": (_at("2026-10-01T00:00"), _at("2027-01-01T00:00"))}


@pytest.fixture(scope="module")
def reviews(history_config, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("history-review")
    got = {}
    for label in PERIODS:
        result = cli(history_config, "review", "--period", label, "--as-of", AS_OF.isoformat(), "--format", "json,md",
                     "--out", str(out / label))
        assert result.exit_code == 0, result.output
        got[label] = json.loads((out / label / "review.json").read_text(encoding="utf-8"))
        got[label]["_files"] = {f: (out / label / f).read_text(encoding="utf-8") for f in ("review.md", "review.json")}
    return got


@pytest.mark.parametrize("label", PERIODS)
def test_every_figure_against_the_story(reviews, label):
    review, (start, end) = reviews[label], PERIODS[label]
    chosen = expect.in_period(STORY, start, end)
    # each incident once, though P4 was built only from its ticket, P5 only from its channel
    # by name, P3 and P6 from two refs each
    assert [i["incident_id"] for i in review["incidents"]] == [s.identity for s in chosen]
    assert {(r["month"], r["key"]): r["incidents"] for r in review["by_month"]["severity"]} == \
        dict(expect.by_month_severity(STORY, start, end))
    assert {(r["month"], r["key"]): r["incidents"] for r in review["by_month"]["service"]} == \
        dict(expect.by_month_service(STORY, start, end))
    want = expect.times(chosen)
    assert {k: review["times"]["overall"][k] for k in want} == pytest.approx(want)
    for r in review["times"]["service"]:
        want = expect.times([s for s in chosen if s.service == r["key"]])
        assert {k: r[k] for k in want} == pytest.approx(want)
    want = expect.repeats(STORY, start, end)
    assert {k: review["repeats"][k] for k in want} == want
    want = expect.drafts(STORY, start, end)
    assert {k: review["drafts"][k] for k in want} == want
    want = expect.action_items(STORY, start, end, AS_OF)
    oldest = want.pop("oldest_open")
    assert {k: review["action_items"][k] for k in want} == want
    assert review["action_items"]["oldest_open"]["ref"] == (f"jira:{oldest[1].key}" if oldest else None)
    assert {a["alert"]: a["incidents"] for a in review["top_alerts"]} == expect.top_alerts(STORY, start, end)


def test_the_story_in_words(reviews):
    q3, q4 = reviews["2026-Q3"], reviews["2026-Q4"]
    # P4 repeats P1's alert 72 days on, after OPS-1102 was closed; P6 repeats P4's after OPS-1180
    # was; P7 repeats P3's alert with OPS-1150 still open: not a repeat of an addressed issue
    assert [(x["incident_id"], x["earlier_incident_id"]) for x in q3["repeats"]["after_fix"]] == \
        [("pagerduty:P4AUGCK", "pagerduty:P1JUNCK")]
    assert [(x["incident_id"], x["earlier_incident_id"]) for x in q4["repeats"]["after_fix"]] == \
        [("pagerduty:P6OCTCK", "pagerduty:P4AUGCK")]
    # P5's draft came 60 hours after it was resolved
    assert [(d["incident_id"], d["draft"]) for d in q3["drafts"]["incidents"] if d["draft"] != "within"] == \
        [("pagerduty:P5SEPCK", "late")]
    # Q4 against Q3: fewer incidents, every draft within 48 h
    changes = {c["metric"]: c for c in q4["changes"]}
    assert (changes["incidents"]["now"], changes["incidents"]["before"], changes["incidents"]["verdict"]) == \
        (2, 4, "better")
    assert changes["drafts_within_rate"]["before"] == 0.75 and changes["drafts_within_rate"]["now"] == 1.0
    assert q4["previous"] == q3["headline"]


@pytest.mark.parametrize("label", PERIODS)
def test_repeats_after_the_fix_are_what_each_draft_says(reviews, history_config, label):
    """The review and the drafts' History section ("repeat of") apply one rule."""
    from incident_timeline.export.report import load, to_contract
    from incident_timeline.lake import catalog_store
    from incident_timeline.config import load_config
    from incident_timeline.lake.layout import Lake
    con = catalog_store.read_only_catalog(Lake.for_config(load_config(history_config)))
    try:
        drafts = {i["incident_id"]: to_contract(load(con, i["incident_id"], today=AS_OF))["history"]["repeat_of"]
                  for i in reviews[label]["incidents"]}
    finally:
        con.close()
    said = sorted((incident, r["incident"], tuple(r["alerts"])) for incident, rs in drafts.items() for r in rs)
    assert said, "the story has a repeat of an addressed issue in each quarter"
    assert sorted((x["incident_id"], x["earlier_incident_id"], tuple(x["alerts"]))
                  for x in reviews[label]["repeats"]["after_fix"]) == said


@pytest.mark.parametrize("name", ["review.md", "review.json"])
def test_the_q3_review_matches_its_snapshot(reviews, name):
    assert_snapshot(f"history.2026-Q3.{name}", reviews["2026-Q3"]["_files"][name])
