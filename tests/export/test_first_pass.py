"""The first pass written from the data with no model (issue 18): a cited summary, an interview
guide per responder, and the statements about cause as candidates. On the demo incident as
the CLI builds it, and on small incidents crafted from its report."""
from __future__ import annotations

import copy
import json
import re
from datetime import timedelta

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_timeline.export.firstpass import first_pass
from incident_timeline.export.render import render_html, render_json, render_markdown
from incident_timeline.export.publish.draft import summary_sentences

TOPICS = {"information", "communication", "decision-making", "resources"}
# Wording that judges the person instead of asking about the system and the situation.
BLAME = re.compile(r"(?i)\b(why did(n't| not)? you|should(n't)? have|could have|fail(ed|ure)? to|your (mistake|fault|error)"
                   r"|mistake|fault|blame|careless|neglig|too (slow|late)|you missed|you forgot|performance)\b")


def _json(demo_build) -> dict:
    return json.loads((demo_build["out"] / "postmortem.json").read_text(encoding="utf-8"))


def _sentences(contract: dict) -> list[dict]:
    return (contract["summary"]["sentences"] + contract["root_cause_candidates"]
            + [q for person in contract["interview_guide"] for q in person["questions"]])


def _record_names(contract: dict) -> dict[str, str]:
    """event id -> `source:native_id`, from the export's own timeline."""
    out = {}
    for row in contract["timeline"]:
        for event_id, record in zip(row["event_ids"], row.get("records") or []):
            out[event_id] = f"{record['source']}:{record['native_id']}"
    return out


def _row(report: dict, event_id: str) -> dict:
    (row,) = [r for r in report["timeline"] if event_id in r["event_ids"]]
    return row


def _with_rows(report: dict, *rows: dict) -> dict:
    """A copy of the report with rows added to its timeline, kept in time order."""
    crafted = copy.deepcopy(report)
    crafted["timeline"] = sorted(crafted["timeline"] + list(rows),
                                 key=lambda r: (r["ts"], r["source"], r["event_ids"][0]))
    return crafted


def _chat(report: dict, event_id: str, minutes: float, actor: str, text: str, *, kind: str = "chat.message",
          actor_type: str = "human", category: str = "chat") -> dict:
    """A Slack row shaped as load() gives it, `minutes` after detection."""
    ts = report["incident"]["detected"] + timedelta(minutes=minutes)
    return {"incident_id": report["incident"]["incident_id"], "seq": 900, "ts": ts, "last_ts": None, "source": "slack",
            "sources": ["slack"], "category": category, "kind": kind, "actor": actor, "actor_type": actor_type,
            "title": text, "body": text, "count": 1, "span_s": None, "url": None, "event_ids": [event_id],
            "records": [{"source": "slack", "native_id": f"C05INC4213:{event_id}"}]}


@pytest.fixture(scope="module")
def report(demo_build) -> dict:
    return demo_build["report"]


# --- The summary -------------------------------------------------------------------------

def test_the_demo_summary_tells_the_response_from_the_data(demo_build):
    texts = [s["text"] for s in _json(demo_build)["summary"]["sentences"]]
    expected = [
        "The alert “checkout-api: 5xx error rate above 5%” (pagerduty) fired on checkout-api and was detected at 14:02:11 UTC.",
        "Its severity is SEV1, the highest its alerts carry.",
        "Alice Chen acknowledged it at 14:06:40 UTC, 4m 29s after detection.",
        "Alice Chen escalated it to level 2 (Bob Martin) at 14:12:11 UTC, 10m 00s after detection.",
        "Bob Martin reported the impact stopped at 14:26:45 UTC, 24m 34s after detection: "
        "“Rollback complete, 5xx back under 0.5%. Mitigated.”",
        "Alice Chen resolved it at 14:31:10 UTC; 28m 59s from detection to resolution.",
        "2 people were paged (Alice Chen at 14:02:13 UTC and Bob Martin at 14:12:12 UTC); 2 answered.",
        "Alice Chen answered the page after 4m 27s, at 14:06:40 UTC: “Acknowledged by Alice Chen.”",
        "Bob Martin answered the page after 2m 18s, at 14:14:30 UTC: "
        "“Error rate tracks the v2.31.0 deploy. Rolling back to v2.30.4.”",
        "Follow-up filed: “Add canary analysis to checkout-api deploys” (jira:OPS-1240, owner Bob Martin, due 2026-10-28).",
    ]
    assert texts == expected


def test_each_milestone_sentence_cites_the_event_that_set_the_milestone(demo_build, report):
    sentences = _json(demo_build)["summary"]["sentences"]
    detection = report["milestones"]["detected"]["event_id"]
    for milestone, start in (("detected", "The alert"), ("acknowledged", "Alice Chen acknowledged"),
                             ("mitigated", "Bob Martin reported the impact stopped"), ("resolved", "Alice Chen resolved")):
        (sentence,) = [s for s in sentences if s["text"].startswith(start)]
        # the milestone's own event, and the detection that its "after detection" rests on
        assert sentence["event_ids"] == list(dict.fromkeys([report["milestones"][milestone]["event_id"], detection]))
    (escalation,) = [s for s in sentences if " escalated it " in s["text"]]
    assert _row(report, escalation["event_ids"][0])["kind"] == "alert.escalated"
    assert escalation["event_ids"][1:] == [detection]
    for answer in [s for s in sentences if " answered the page after " in s["text"]]:
        assert [_row(report, e)["kind"] for e in answer["event_ids"]][-1] == "alert.notified"
    (pages,) = [s for s in sentences if " paged (" in s["text"]]
    kinds = [_row(report, e)["kind"] for e in pages["event_ids"]]
    assert kinds.count("alert.notified") == 2 and len(kinds) == 4     # two pages and the two answers
    (follow_up,) = [s for s in sentences if s["text"].startswith("Follow-up filed")]
    assert follow_up["records"] == ["jira:OPS-1240"]


@pytest.mark.parametrize("name", ["postmortem.json"])
def test_every_sentence_cites_events_of_this_incident_and_names_their_records(demo_build, name):
    contract = _json(demo_build)
    records = _record_names(contract)
    sentences = _sentences(contract)
    assert len(sentences) >= 20
    for s in sentences:
        assert s["text"].strip() and s["event_ids"], s
        assert set(s["event_ids"]) <= set(records), s
        assert s["records"] == [records[e] for e in s["event_ids"]], s


def test_the_other_incident_cites_only_its_own_events(demo_lake, tmp_path):
    from tests.export.conftest import build
    build(demo_lake, tmp_path, "pagerduty:Q9Z8Y7X", command="build")
    contract = json.loads((tmp_path / "postmortem.json").read_text(encoding="utf-8"))
    own = set(_record_names(contract))
    assert contract["summary"]["sentences"]
    assert all(set(s["event_ids"]) <= own for s in _sentences(contract))


def test_the_summary_is_marked_as_drafted_from_the_data(demo_build):
    assert _json(demo_build)["summary"]["drafted_from"] == "data"
    markdown = (demo_build["out"] / "postmortem.md").read_text(encoding="utf-8")
    summary = markdown[markdown.index("## Summary"):markdown.index("## Key metrics")]
    assert "drafted from the data (no model)" in summary
    assert "_TO COMPLETE: two or three sentences" not in summary
    assert summary.count("_(records: ") == 10
    page = (demo_build["out"] / "postmortem.html").read_text(encoding="utf-8")
    block = page[page.index('<section id="summary">'):page.index('<section id="metrics">')]
    assert 'data-drafted-from="data"' in block
    # each citation links to the timeline row that holds the record
    anchors = re.findall(r'<a href="#(row-\d+)">([^<]+)</a>', block)
    assert ("row-5", "pagerduty:ROMY1RMPCCG8BG6P2WF0XA469V") in anchors   # after the deploy's two rows
    assert all(f'id="{a}"' in page for a, _ in anchors)


def test_a_fact_without_an_event_in_this_incident_is_left_out(report):
    crafted = copy.deepcopy(report)
    crafted["action_items"].append({"title": "Rotate the keys", "owner": None, "due": None, "ref": None,
                                    "status": "to do", "origin": "no-such-event"})
    crafted["milestones"]["acknowledged"] = {**crafted["milestones"]["acknowledged"], "event_id": "elsewhere"}
    texts = [s["text"] for s in first_pass(crafted)["summary"]["sentences"]]
    assert not any("Rotate the keys" in t for t in texts)
    assert not any(" acknowledged it at " in t for t in texts)
    assert any(" resolved it at " in t for t in texts)


def test_an_incident_with_no_milestones_keeps_the_summary_to_complete(report):
    bare = copy.deepcopy(report)
    bare["milestones"], bare["responders"], bare["action_items"], bare["escalations"] = {}, [], [], {"rows": []}
    bare["incident"]["severity"] = None
    (alerts,) = first_pass(bare)["summary"]["sentences"]
    assert alerts["text"] == "Alerts that fired: “checkout-api: 5xx error rate above 5%” at 14:02:11 UTC."
    bare["timeline"] = [r for r in bare["timeline"] if r["category"] != "alert"]
    assert first_pass(bare)["summary"]["sentences"] == []
    assert "_TO COMPLETE: two or three sentences on what happened" in render_markdown(bare)


def test_a_page_nobody_answered_is_said_and_counted(report):
    page = _chat(report, "page-carol", 1, "PagerDuty", "Notified Carol Diaz by SMS.", kind="alert.notified",
                 actor_type="system", category="alert")
    crafted = _with_rows(report, page)
    crafted["responders"].append({"name": "Carol Diaz", "paged": True, "paged_at": page["ts"], "answered": False,
                                  "acknowledged": False, "spoke": False, "first_seen": page["ts"],
                                  "first_action": None, "response_delay_s": None})
    sentences = first_pass(crafted)["summary"]["sentences"]
    (count,) = [s for s in sentences if " paged (" in s["text"]]
    assert count["text"].startswith("3 people were paged (") and count["text"].endswith("; 2 answered.")
    assert "page-carol" in count["event_ids"]
    (silence,) = [s for s in sentences if "Carol Diaz" in s["text"] and s is not count]
    assert silence["text"] == "No answer from Carol Diaz to the page is recorded."
    assert silence["event_ids"] == ["page-carol"]


def test_the_publish_step_reads_the_cited_summary(demo_build):
    contract = _json(demo_build)
    assert summary_sentences(contract, {}) == [s["text"] for s in contract["summary"]["sentences"]]


# --- The interview guide -----------------------------------------------------------------

def _theirs(report: dict, name: str, event_id: str) -> bool:
    row = _row(report, event_id)
    return row.get("actor") == name or (row["kind"] == "alert.notified" and name in row["title"])


def test_each_demo_responder_gets_three_to_six_questions_on_every_topic_tied_to_their_moments(demo_build, report):
    guide = _json(demo_build)["interview_guide"]
    assert [p["responder"] for p in guide] == ["Alice Chen", "Bob Martin"]
    for person in guide:
        assert 3 <= len(person["questions"]) <= 6
        assert {q["topic"] for q in person["questions"]} == TOPICS
        for q in person["questions"]:
            # the first citation is the responder's own moment: their page, their action
            assert _theirs(report, person["responder"], q["event_ids"][0]), q


def test_the_escalation_question_names_what_was_visible_then(demo_build):
    (alice,) = [p for p in _json(demo_build)["interview_guide"] if p["responder"] == "Alice Chen"]
    (escalation,) = [q for q in alice["questions"] if " you escalated " in q["text"]]
    assert escalation["text"] == (
        "At 14:12:11 UTC you escalated (“Escalated to level 2 by Alice Chen.”). "
        "Alerts firing then: 14:02:11 UTC Datadog “Triggered through the API.”; the last messages you could see: "
        "14:07:30 UTC Alice Chen “Investigating #4213 (https://acme.pagerduty.com/incidents/Q2W3E4R): checkout-api "
        "5xx at ~12%. Last …”; 14:10:20 UTC Alice Chen “Tracking in OPS-1234”. What else did you know, and what did "
        "you need?")
    assert escalation["topic"] == "decision-making"
    assert escalation["records"][0] == "pagerduty:RJSUP25NLIHFYKLM4PYAMMJVQG"
    assert "slack:C05INC4213:1791986850.000700" in escalation["records"]


def test_questions_are_blameless_questions(demo_build, hostile):
    guides = [_json(demo_build)["interview_guide"],
              json.loads((hostile["out"] / "postmortem.json").read_text(encoding="utf-8"))["interview_guide"]]
    questions = [q["text"] for guide in guides for p in guide for q in p["questions"]]
    assert len(questions) >= 10
    for text in questions:
        # the quoted words are theirs; the wording around them is ours
        ours = re.sub(r"“[^”]*”", "“…”", text)
        assert not BLAME.search(ours), text
        assert ours.rstrip().endswith("?"), text
        assert re.search(r"(?i)\b(what|how|who|where)\b", ours), text


def test_the_blame_check_would_catch_blame():
    assert BLAME.search("Why didn't you escalate sooner?")
    assert BLAME.search("You should have rolled back.")
    assert not BLAME.search("What else did you know, and what did you need?")


def test_a_responder_with_no_moment_of_their_own_gets_no_guide(report):
    join = _chat(report, "join-dan", 3, "Dan Ek", "Dan Ek joined the channel", kind="chat.join")
    crafted = _with_rows(report, join)
    for name in ("Dan Ek", "Erin Fox"):     # one only joined the channel, one left no trace at all
        crafted["responders"].append({"name": name, "paged": False, "paged_at": None, "answered": None,
                                      "acknowledged": False, "spoke": False, "first_seen": join["ts"],
                                      "first_action": None, "response_delay_s": None})
    guide = first_pass(crafted)["interview_guide"]
    assert [p["responder"] for p in guide] == ["Alice Chen", "Bob Martin"]
    assert "### Dan Ek" not in render_markdown(crafted) and "### Erin Fox" not in render_markdown(crafted)


def test_a_responder_who_only_wrote_gets_every_topic(report):
    said = _chat(report, "carol-1", 6, "Carol Diaz", "Seeing timeouts from the payments side too")
    crafted = _with_rows(report, said)
    crafted["responders"].append({"name": "Carol Diaz", "paged": False, "paged_at": None, "answered": None,
                                  "acknowledged": False, "spoke": True, "first_seen": said["ts"],
                                  "first_action": said["ts"], "response_delay_s": None})
    (carol,) = [p for p in first_pass(crafted)["interview_guide"] if p["responder"] == "Carol Diaz"]
    assert 3 <= len(carol["questions"]) <= 6
    assert {q["topic"] for q in carol["questions"]} == TOPICS
    assert all(q["event_ids"] == ["carol-1"] for q in carol["questions"])


def test_a_paged_responder_who_never_acted_is_asked_about_the_page(report):
    page = _chat(report, "page-carol", 1, "PagerDuty", "Notified Carol Diaz by SMS.", kind="alert.notified",
                 actor_type="system", category="alert")
    crafted = _with_rows(report, page)
    crafted["responders"].append({"name": "Carol Diaz", "paged": True, "paged_at": page["ts"], "answered": False,
                                  "acknowledged": False, "spoke": False, "first_seen": page["ts"],
                                  "first_action": None, "response_delay_s": None})
    (carol,) = [p for p in first_pass(crafted)["interview_guide"] if p["responder"] == "Carol Diaz"]
    assert {q["topic"] for q in carol["questions"]} == TOPICS
    assert all(q["event_ids"] == ["page-carol"] for q in carol["questions"])
    assert all(not BLAME.search(q["text"]) for q in carol["questions"])


def test_a_silence_during_their_work_becomes_the_resources_question(report):
    crafted = copy.deepcopy(report)
    before = _row(report, report["milestones"]["first_response"]["event_id"])
    after = _row(report, report["milestones"]["mitigated"]["event_id"])
    crafted["gaps"] = {"rows": [{"start_ts": before["ts"], "end_ts": after["ts"], "duration_s": 1,
                                 "before_event_id": before["event_ids"][0], "after_event_id": after["event_ids"][0]}]}
    (alice,) = [p for p in first_pass(crafted)["interview_guide"] if p["responder"] == "Alice Chen"]
    (resources,) = [q for q in alice["questions"] if q["topic"] == "resources"]
    assert resources["text"].startswith("The timeline shows no human action from 14:07:30 UTC to 14:26:45 UTC.")
    assert resources["event_ids"] == [before["event_ids"][0], after["event_ids"][0]]


def test_a_long_list_of_what_was_visible_is_cut_and_counted_before_the_question(report):
    crafted = copy.deepcopy(report)
    point = next(p for p in crafted["decision_points"]["rows"] if p["decision"] == "escalate")
    point["alerts_firing"] = [{**point["alerts_firing"][0], "text": f"alert {i}"} for i in range(40)]
    (alice,) = [p for p in first_pass(crafted)["interview_guide"] if p["responder"] == "Alice Chen"]
    (q,) = [q for q in alice["questions"] if " you escalated " in q["text"]]
    assert "“alert 2” (and 37 more);" in q["text"] and "alert 3”" not in q["text"]
    assert q["text"].endswith("What else did you know, and what did you need?")


# --- Root-cause candidates ---------------------------------------------------------------

def test_the_demo_candidates_are_the_statements_about_cause(demo_build):
    candidates = _json(demo_build)["root_cause_candidates"]
    signals = [(c["records"][0], c["signal"]) for c in candidates]
    assert ("jira:OPS-1234/comment/20517", "root cause") in signals
    assert ("slack:C05INC4213:1791987270.001000", "rollback next to a deploy") in signals
    (comment,) = [c for c in candidates if c["signal"] == "root cause"]
    assert comment["text"] == ("14:40:00 UTC, Alice Chen (jira, ticket.comment) says “root cause”: "
                               "“Root cause: the connection pool change in v2.31.0. Follow-up in OPS-1240.”")


def test_candidates_are_offered_as_candidates_never_as_the_answer(demo_build):
    markdown = (demo_build["out"] / "postmortem.md").read_text(encoding="utf-8")
    section = markdown[markdown.index("## Root cause"):markdown.index("### Five Whys")]
    assert "**candidates, not the answer**" in section
    assert "_TO COMPLETE: the root cause, in a paragraph_" in section    # the answer is still for people to write
    assert section.index("candidates, not the answer") < section.index("Root cause: the connection pool")
    for c in _json(demo_build)["root_cause_candidates"]:
        assert re.search(r" (says “[^”]+”|names a rollback next to a deploy): “", c["text"]), c["text"]


def test_candidates_come_from_words_about_cause_in_human_text_only(report):
    rows = [
        _chat(report, "c-caused", 5, "Bob Martin", "Looks caused by the pool size change"),
        _chat(report, "c-because", 6, "Alice Chen", "It broke because the pool was halved", kind="ticket.comment",
              category="ticket"),
        _chat(report, "c-revert", 7, "Bob Martin", "Reverting deploy 4411 now"),
        _chat(report, "c-rollback-only", 8, "Bob Martin", "Rollback of the feature flag"),
        _chat(report, "c-bot", 9, "deploybot", "Failed because of a timeout", actor_type="bot"),
        _chat(report, "c-plain", 10, "Alice Chen", "Checking the dashboards"),
    ]
    found = {c["event_ids"][0]: c["signal"] for c in first_pass(_with_rows(report, *rows))["root_cause_candidates"]}
    assert found.get("c-caused") == "caused by"
    assert found.get("c-because") == "because"
    assert found.get("c-revert") == "rollback next to a deploy"
    assert not {"c-rollback-only", "c-bot", "c-plain"} & set(found)


# --- Hostile text ------------------------------------------------------------------------

HOSTILE = ("Rolled back the deploy because <script>alert(1)</script> <img src=x onerror=alert(2)> "
           "**bold** _em_ [click](javascript:alert(3)) ![x](http://evil.example/p.png) | a | b\n# Heading\n- item")


def test_hostile_text_in_a_candidate_is_escaped_in_html_and_inert_in_markdown(report):
    crafted = _with_rows(report, _chat(report, "evil", 5, "Bob Martin", HOSTILE))
    (candidate,) = [c for c in first_pass(crafted)["root_cause_candidates"] if c["event_ids"] == ["evil"]]
    assert "<script>" in candidate["text"]        # the JSON holds the words as they were
    page = render_html(crafted)
    candidates = page[page.index('<ul class="candidates">'):]
    (item,) = [line for line in candidates[:candidates.index("</ul>")].splitlines() if "Rolled back the deploy" in line]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in item and "&lt;img src=x" in item
    assert "<script" not in page and "<img" not in page
    markdown = render_markdown(crafted)
    section = markdown[markdown.index("## Root cause"):markdown.index("### Five Whys")]
    (line,) = [x for x in section.splitlines() if "Rolled back the deploy" in x]
    assert "\\*\\*bold\\*\\*" in line and "\\_em\\_" in line
    assert not re.search(r"(?<!\\)\]\(", line)           # no link or image
    assert "<script" not in line and "<img" not in line
    assert len(re.findall(r"(?<!\\)\|", line)) == 0
    assert "# Heading" not in [x.strip() for x in markdown.splitlines()]
    assert line.endswith("_(records: slack:C05INC4213:evil)_")


def test_hostile_names_and_messages_in_the_guide_cannot_restyle_it(report):
    name = "Mallory <b>**x**</b> [y](http://evil.example)"
    said = _chat(report, "m-1", 6, name, "*hi* `rm -rf` <i>there</i>")
    crafted = _with_rows(report, said)
    crafted["responders"].append({"name": name, "paged": False, "paged_at": None, "answered": None,
                                  "acknowledged": False, "spoke": True, "first_seen": said["ts"],
                                  "first_action": said["ts"], "response_delay_s": None})
    markdown = render_markdown(crafted)
    heading = [x for x in markdown.splitlines() if x.startswith("### Mallory")]
    assert heading == ["### Mallory &lt;b&gt;\\*\\*x\\*\\*&lt;/b&gt; \\[y\\](http://evil.example)"]
    assert "\\*hi\\* \\`rm -rf\\` &lt;i&gt;there&lt;/i&gt;" in markdown
    page = render_html(crafted)
    assert "<h3>Mallory &lt;b&gt;**x**&lt;/b&gt; [y](http://evil.example)</h3>" in page
    assert "<i>there" not in page


def test_the_hostile_demo_guide_shows_the_pasted_markup_as_text(hostile):
    markdown = (hostile["out"] / "postmortem.md").read_text(encoding="utf-8")
    guide = markdown[markdown.index("## Interview guide"):markdown.index("## Root cause")]
    assert "\\[click me\\](javascript:alert(1)) &lt;b&gt;bold&lt;/b&gt;" in guide
    assert "<b>" not in guide
    contract = json.loads((hostile["out"] / "postmortem.json").read_text(encoding="utf-8"))
    records = _record_names(contract)
    assert all(set(s["event_ids"]) <= set(records) for s in _sentences(contract))


# --- The JSON Schema ---------------------------------------------------------------------

def test_the_schema_refuses_uncited_sentences_and_unknown_topics(demo_build, export_schema):
    contract = _json(demo_build)
    jsonschema.validate(contract, export_schema, cls=jsonschema.Draft202012Validator)
    spoil = [
        lambda c: c["summary"]["sentences"][0].update(event_ids=[]),
        lambda c: c["summary"]["sentences"][0].pop("records"),
        lambda c: c["summary"].update(drafted_from="model"),
        lambda c: c["interview_guide"][0]["questions"][0].update(topic="performance"),
        lambda c: c["interview_guide"][0].update(questions=c["interview_guide"][0]["questions"] * 2),
        lambda c: c["root_cause_candidates"][0].pop("signal"),
    ]
    for change in spoil:
        spoiled = copy.deepcopy(contract)
        change(spoiled)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(spoiled, export_schema, cls=jsonschema.Draft202012Validator)


def test_a_crafted_incident_still_matches_the_schema(report, export_schema):
    crafted = _with_rows(report, _chat(report, "evil", 5, "Bob Martin", HOSTILE))
    contract = json.loads(render_json(crafted))
    jsonschema.validate(contract, export_schema, cls=jsonschema.Draft202012Validator)


def test_a_bot_naming_a_rollback_of_a_deploy_and_a_note_on_the_alert_are_candidates(report):
    rows = [_chat(report, "bot-rollback", 5, "deploybot", "Rolled back checkout-api release 2026.10.14-3",
                  actor_type="bot"),
            _chat(report, "note-revert", 6, "Bob Martin", "Reverted v2.31.0", kind="alert.annotated", category="alert"),
            _chat(report, "join-deploy", 7, "Bob Martin", "rollback of the deploy: joined", kind="chat.join")]
    found = {c["event_ids"][0]: c for c in first_pass(_with_rows(report, *rows))["root_cause_candidates"]}
    assert found["bot-rollback"]["signal"] == found["note-revert"]["signal"] == "rollback next to a deploy"
    assert found["bot-rollback"]["text"].startswith("14:07:11 UTC, deploybot (slack, chat.message) names a rollback")
    assert "join-deploy" not in found


def test_other_alerts_are_named_and_a_storm_is_counted(report):
    storm = copy.deepcopy(report)
    next(r for r in storm["timeline"] if r["kind"] == "alert.triggered")["count"] = 40
    others = [_chat(report, f"alert-{i}", 1 + i, "Datadog", f"checkout-db: replica lag {i}", kind="alert.triggered",
                    actor_type="system", category="alert") for i in range(5)]
    texts = {s["text"].split(" ")[0]: s for s in first_pass(_with_rows(storm, *others))["summary"]["sentences"]}
    assert texts["The"]["text"].startswith("The alert “checkout-api: 5xx error rate above 5%” (pagerduty) fired 40 times on")
    also = texts["Also"]
    assert also["text"] == ("Also fired: “checkout-db: replica lag 0” at 14:03:11 UTC, “checkout-db: replica lag 1” at "
                            "14:04:11 UTC and “checkout-db: replica lag 2” at 14:05:11 UTC; 2 more alerts.")
    assert also["event_ids"] == [f"alert-{i}" for i in range(5)]


def test_local_times_are_added_in_the_drafts_and_never_in_the_json(report):
    markdown = render_markdown(report, display_tz="Europe/Berlin")
    assert "- Alice Chen acknowledged it at 14:06:40 UTC (16:06:40 CEST), 4m 29s after detection." in markdown
    assert "1. **Information.** You were paged at 14:02:13 UTC (16:02:13 CEST)" in markdown
    assert "CEST" not in json.dumps(first_pass(report)) and "CEST" not in render_json(report)


def _first_pass_markdown(markdown: str) -> str:
    """The summary's drafted block, the interview guide and the root-cause candidates."""
    summary = markdown[markdown.index("**What happened**"):markdown.index("## Key metrics")]
    rest = markdown[markdown.index("## Interview guide"):markdown.index("### Five Whys")]
    return summary + rest


def test_a_commonmark_parser_finds_only_our_own_markup_in_the_first_pass(report):
    from markdown_it import MarkdownIt

    name = "Mallory **boss** <b>x</b>"
    said = _chat(report, "m-1", 6, name, HOSTILE)
    crafted = _with_rows(report, said)
    crafted["responders"].append({"name": name, "paged": False, "paged_at": None, "answered": None,
                                  "acknowledged": False, "spoke": True, "first_seen": said["ts"],
                                  "first_action": said["ts"], "response_delay_s": None})
    html = MarkdownIt("commonmark").enable("table").render(_first_pass_markdown(render_markdown(crafted)))
    assert html.count("Rolled back the deploy because") >= 2          # a question and a candidate
    assert not re.search(r"<(a|img|script|b|i|h1|table)\b", html)
    strong = set(re.findall(r"<strong>(.*?)</strong>", html))
    assert strong <= {"What happened", "candidates, not the answer", *(f"{t.capitalize()}." for t in TOPICS)}
    assert all(e.startswith(("(records: ", "TO COMPLETE: ")) for e in re.findall(r"<em>(.*?)</em>", html))
    assert "**bold** _em_ [click](javascript:alert(3))" in html
    assert "<h3>Mallory **boss** &lt;b&gt;x&lt;/b&gt;</h3>" in html


def test_an_incident_past_midnight_dates_every_time_it_states(report):
    late = _chat(report, "next-day", 12 * 60, "Alice Chen", "Still watching the 5xx graph")
    crafted = _with_rows(report, late)
    fp = first_pass(crafted)
    (ack,) = [s for s in fp["summary"]["sentences"] if " acknowledged it at " in s["text"]]
    assert ack["text"] == "Alice Chen acknowledged it at 2026-10-14 14:06:40 UTC, 4m 29s after detection."
    (alice,) = [p for p in fp["interview_guide"] if p["responder"] == "Alice Chen"]
    assert "2026-10-15 02:02:11 UTC" in alice["questions"][-1]["text"]     # the span of her work ends the next day


def test_a_page_titled_without_the_name_is_found_at_the_moment_correlate_saw_it(report):
    page = _chat(report, "page-og", 1, "Opsgenie", "Sent SMS notification", kind="alert.notified",
                 actor_type="system", category="alert")
    crafted = _with_rows(report, page)
    crafted["responders"].append({"name": "carol@acme.example", "paged": True, "paged_at": page["ts"],
                                  "answered": False, "acknowledged": False, "spoke": False, "first_seen": page["ts"],
                                  "first_action": None, "response_delay_s": None})
    fp = first_pass(crafted)
    (carol,) = [p for p in fp["interview_guide"] if p["responder"] == "carol@acme.example"]
    assert carol["questions"][0]["event_ids"] == ["page-og"]
    assert any(s["text"] == "No answer from carol@acme.example to the page is recorded." for s in fp["summary"]["sentences"])


def _render_parts(report: dict, fmt: str) -> str:
    """The interview guide and the root-cause candidates alone, through the built-in templates."""
    from incident_timeline.export.filters import environment
    from incident_timeline.export.view import draft

    env = environment(None, autoescape=(fmt == "html"))
    view = draft(report)
    return "".join(env.get_template(f"{part}.{fmt}.j2").render(draft=view)
                   for part in ("interview_guide", "root_cause_candidates"))


MARKUP = ["[", "]", "(", ")", "*", "**", "_", "`", "```", "<", ">", "!", "#", "|", "\\", "\n", "\n\n", "- ", "1. ",
          "=", "~", "&", "&lt;", "&#60;", ";", "a", " ", "http://evil.example", "<script>", "</b>", "javascript:",
          "<!--", "-->", ":", "    "]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=120),
                       st.lists(st.sampled_from(MARKUP), max_size=40).map("".join)))
def test_no_chat_text_adds_markup_to_the_guide_or_the_candidates(report, words):
    from markdown_it import MarkdownIt

    crafted = _with_rows(report, _chat(report, "any", 5, "Bob Martin", "because " + words))
    markdown = _render_parts(crafted, "md")
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "because" in html and html.count("<h2>") == 1 and html.count("<h3>") == 2    # the guide and its two people
    assert not re.search(r"<(a|img|script|h[1456]|table|code|pre|blockquote|hr)\b", html)
    assert set(re.findall(r"<strong>(.*?)</strong>", html)) <= \
        {"candidates, not the answer", *(f"{t.capitalize()}." for t in TOPICS)}
    assert all(e.startswith("(records: ") for e in re.findall(r"<em>(.*?)</em>", html))
    page = _render_parts(crafted, "html")
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", page))
    assert tags <= {"section", "h2", "h3", "p", "ol", "ul", "li", "strong", "span", "a"}
    assert all(href.startswith("#row-") for href in re.findall(r'href="([^"]*)"', page))


def test_a_catalog_without_the_newer_tables_still_gets_a_first_pass(report):
    older = copy.deepcopy(report)
    older["escalations"] = older["decision_points"] = older["gaps"] = None
    fp = first_pass(older)
    (escalation,) = [s for s in fp["summary"]["sentences"] if "Escalated to level 2" in s["text"]]
    assert escalation["text"] == "At 14:12:11 UTC: “Escalated to level 2 by Alice Chen.”"
    for person in fp["interview_guide"]:
        assert {q["topic"] for q in person["questions"]} == TOPICS and 3 <= len(person["questions"]) <= 6
    markdown = render_markdown(older)
    assert "### Alice Chen" in markdown and "- At 14:12:11 UTC: “Escalated to level 2 by Alice Chen.” _(records: " in markdown
