"""The History section of a draft, rule by rule, on fixtures/history (its README tells the
story): earlier incidents on the same service or alert within the window, their action
items as the lake holds them today, times against the service's median, and "repeat of"."""
from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pytest

from incident_timeline.export.report import load, to_contract
from incident_timeline.lake import catalog_store
from incident_timeline.config import ConfigInvalid, load_config
from incident_timeline.lake.layout import Lake
from tests.support import HISTORY, REPO, build_history, cli, demo_sources, query_rows, write_config

TODAY = date(2026, 11, 1)     # the day the drafts below are read on (what "overdue" is against)


def _history(cfg: Path, incident: str, window: timedelta = timedelta(days=90), today: date = TODAY) -> dict:
    """The JSON export's `history` of a built incident, as the draft would say it on `today`."""
    con = catalog_store.read_only_catalog(Lake.for_config(load_config(cfg)))
    try:
        return to_contract(load(con, incident, window, today))["history"]
    finally:
        con.close()


def test_earlier_incidents_share_a_service_or_an_alert_and_fall_in_the_window(history_config):
    h = _history(history_config, "pagerduty:P6OCTCK")
    # P1 (same alert) is 118 days before: outside 90; the payments-api incidents share nothing
    assert [(e["incident"], e["shared_services"], e["shared_alerts"]) for e in h["earlier"]] == [
        ("pagerduty:P4AUGCK", ["checkout-api"], ["alert:checkout-api-5xx"]),
        ("pagerduty:P5SEPCK", ["checkout-api"], [])]
    assert h["window_days"] == 90
    wider = _history(history_config, "pagerduty:P6OCTCK", timedelta(days=150))
    assert [e["incident"] for e in wider["earlier"]] == [
        "pagerduty:P1JUNCK", "pagerduty:P4AUGCK", "pagerduty:P5SEPCK"]
    # each line cites the incident's tickets; the first incident on a service has no history
    assert h["earlier"][0]["tickets"] == ["jira:OPS-1175", "jira:OPS-1180"]
    assert _history(history_config, "pagerduty:P1JUNCK")["earlier"] == []


def test_each_earlier_incident_is_counted_once_by_its_identity(history_config):
    # P4 was built only from its ticket, P6 from its page and its ticket, P3 from its page and channel
    for incident in ("pagerduty:P6OCTCK", "pagerduty:P7OCTPY"):
        ids = [e["incident"] for e in _history(history_config, incident, timedelta(days=365))["earlier"]]
        assert len(ids) == len(set(ids)) and all(i.startswith("pagerduty:P") for i in ids), ids
    repeats = query_rows(history_config, "SELECT incident_id, earlier_incident_id, reason, shared, count(*) AS n "
                                         "FROM repeat_incidents GROUP BY ALL ORDER BY ALL")
    assert {r["n"] for r in repeats} == {1}
    # the view's own window is 30 days: three pairs, once each, though P4 was built from an alias
    # and P6 from two refs
    assert [(r["incident_id"], r["earlier_incident_id"], r["reason"]) for r in repeats] == [
        ("pagerduty:P3AUGPY", "pagerduty:P2JULPY", "service"), ("pagerduty:P5SEPCK", "pagerduty:P4AUGCK", "service"),
        ("pagerduty:P6OCTCK", "pagerduty:P5SEPCK", "service")]


def test_action_items_say_whether_they_are_closed_today_and_which_are_overdue(history_config):
    [p3] = _history(history_config, "pagerduty:P7OCTPY")["earlier"]
    assert p3["incident"] == "pagerduty:P3AUGPY" and p3["action_items_closed"] is False
    assert [(i["ref"], i["status"], i["closed"], i["overdue"], i["status_from"]) for i in p3["action_items"]] == [
        ("jira:OPS-1150", "To Do", False, True, "lake")]
    p4, p5 = _history(history_config, "pagerduty:P6OCTCK")["earlier"]
    assert [(i["ref"], i["status"], i["closed"], i["closed_at"], i["overdue"]) for i in p4["action_items"]] == [
        ("jira:OPS-1180", "Done", True, "2026-09-05T12:00:00Z", False)]
    assert p4["action_items_closed"] is True
    assert [(i["ref"], i["status"], i["overdue"]) for i in p5["action_items"]] == [
        ("jira:OPS-1210", "In Progress", False)]                       # due 2027-01-15
    later = _history(history_config, "pagerduty:P6OCTCK", today=date(2027, 2, 1))["earlier"][1]
    assert later["action_items"][0]["overdue"] is True
    # an incident without action items says so (null), not "all closed"
    assert _history(history_config, "pagerduty:P3AUGPY", timedelta(days=30))["earlier"][0][
        "action_items_closed"] is None                                  # P2: none recorded


def test_times_against_the_median_of_the_earlier_incidents_on_the_service(history_config):
    assert _history(history_config, "pagerduty:P6OCTCK")["medians"] == [{
        "service": "checkout-api", "incidents": ["pagerduty:P4AUGCK", "pagerduty:P5SEPCK"],
        "time_to_acknowledge_s": 900.0, "median_time_to_acknowledge_s": 330.0,      # 8m and 3m
        "time_to_resolve_s": 5400.0, "median_time_to_resolve_s": 2850.0}]           # 70m and 25m
    [payments] = _history(history_config, "pagerduty:P7OCTPY")["medians"]
    assert (payments["incidents"], payments["median_time_to_resolve_s"]) == (["pagerduty:P3AUGPY"], 7200.0)


def test_a_repeat_is_the_same_alert_after_all_the_earlier_action_items_were_closed(history_config):
    assert _history(history_config, "pagerduty:P6OCTCK")["repeat_of"] == [{
        "incident": "pagerduty:P4AUGCK", "alerts": ["alert:checkout-api-5xx"], "action_items": ["jira:OPS-1180"],
        "closed_at": "2026-09-05T12:00:00Z", "days_after": 46.4}]
    assert [r["incident"] for r in _history(history_config, "pagerduty:P4AUGCK")["repeat_of"]] == [
        "pagerduty:P1JUNCK"]
    # same service only (P5) is not a repeat; the same alert with an item still open (P3) is not either
    assert _history(history_config, "pagerduty:P7OCTPY")["repeat_of"] == []
    assert [r["incident"] for r in _history(history_config, "pagerduty:P6OCTCK", timedelta(days=150))[
        "repeat_of"]] == ["pagerduty:P1JUNCK", "pagerduty:P4AUGCK"]


def test_every_format_carries_the_section_with_its_citations(history_config):
    reports = history_config.parent / "reports"
    contract = json.loads((reports / "jira-OPS-1245" / "postmortem.json").read_text(encoding="utf-8"))
    schema = json.loads((REPO / "export" / "postmortem.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(contract, schema)
    assert contract["incident"]["identity"] == "pagerduty:P6OCTCK"
    assert [r["incident"] for r in contract["history"]["repeat_of"]] == ["pagerduty:P4AUGCK"]
    md = (reports / "jira-OPS-1245" / "postmortem.md").read_text(encoding="utf-8")
    section = md[md.index("## History"):md.index("## Data sources")]
    assert ("- **Repeat of pagerduty:P4AUGCK**: alert:checkout-api-5xx fired again 46.4 days later, after all "
            "its action items were closed (jira:OPS-1180; the last on 2026-09-05 UTC).") in section
    assert ("time to resolve 1h 30m 00s against a median of 47m 30s (42m 30s slower); median of "
            "pagerduty:P4AUGCK, pagerduty:P5SEPCK.") in section
    assert ("| 2026-08-20 07:15 UTC | pagerduty:P4AUGCK | SEV2 | checkout-api: 5xx error rate above 5% | "
            "service checkout-api, alert:checkout-api-5xx | jira:OPS-1175, jira:OPS-1180 | "
            "all closed: jira:OPS-1180 Done (closed 2026-09-05 UTC) |") in section
    html = (reports / "pagerduty-P7OCTPY" / "postmortem.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="history">'):html.index('<section id="data">')]
    assert "open: jira:OPS-1150 To Do, due 2026-08-17, <strong class=\"warning\">overdue</strong>" in section
    assert "Repeat of" not in section


def test_the_status_is_read_from_the_lake_today_not_from_the_earlier_build(tmp_path):
    """OPS-1150 is closed after P3 was built (and after P7 fired): P7's draft says Done, read
    from the ticket's newest fetch, and still no repeat, since it was closed after P7 fired."""
    fixtures = tmp_path / "fixtures"
    shutil.copytree(HISTORY, fixtures, ignore=shutil.ignore_patterns("*.py"))
    (tmp_path / "home").mkdir()
    cfg = build_history(tmp_path / "home", fixtures)
    page = fixtures / "jira" / "rest" / "api" / "3" / "search" / "jql.json"
    data = json.loads(page.read_text(encoding="utf-8"))
    issue = next(i for i in data["issues"] if i["key"] == "OPS-1150")
    issue["fields"]["status"] = {"name": "Done", "id": "10001", "statusCategory": {"id": 3, "key": "done"}}
    issue["fields"]["resolutiondate"] = "2026-11-20T10:00:00.000+0100"
    issue["fields"]["updated"] = "2026-11-20T10:00:00.000+0100"
    page.write_text(json.dumps(data), encoding="utf-8")
    changelog = fixtures / "jira" / "rest" / "api" / "3" / "issue" / "OPS-1150" / "changelog.json"
    log = json.loads(changelog.read_text(encoding="utf-8"))
    log["values"] = [{"id": "511509", "author": {"displayName": "Carol Diaz"}, "created": "2026-11-20T10:00:00.000+0100",
                      "items": [{"field": "status", "fromString": "To Do", "toString": "Done"}]}]
    changelog.write_text(json.dumps(log), encoding="utf-8")
    result = cli(cfg, "ingest", "--source", "jira", "--since", "2026-06-01T00:00:00Z")
    assert result.exit_code == 0, result.output
    # P3's own row still says what its build saw; P7's history reads the ticket today
    assert query_rows(cfg, "SELECT status FROM action_items WHERE ref = 'jira:OPS-1150'") == [{"status": "to do"}]
    h = _history(cfg, "pagerduty:P7OCTPY")
    [item] = h["earlier"][0]["action_items"]
    assert (item["status"], item["closed"], item["closed_at"], item["overdue"]) == (
        "Done", True, "2026-11-20T09:00:00Z", False)
    assert h["earlier"][0]["action_items_closed"] is True and h["repeat_of"] == []


def test_the_window_is_history_window_in_the_config(tmp_path):
    cfg = write_config(tmp_path, demo_sources(), history={"window": "7d"})
    assert load_config(cfg).history_window == timedelta(days=7)
    out = tmp_path / "out"
    result = cli(cfg, "run", "pagerduty:Q2W3E4R", "--format", "md,json", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads((out / "postmortem.json").read_text(encoding="utf-8"))["history"]["window_days"] == 7
    assert "in the 7 days before this one" in (out / "postmortem.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("value, problem", [
    ({"window": "ninety"}, "history.window: not a duration (like 30m, 2h, 1d): 'ninety'"),
    ({"window": "0d"}, "history.window must be longer than 0 (like 90d)"),
    ({"since": "90d"}, "history: unknown key 'since'"),
    ("90d", "history must be a mapping"),
])
def test_a_bad_history_config_is_one_line_naming_the_key(tmp_path, value, problem):
    with pytest.raises(ConfigInvalid) as err:
        load_config(write_config(tmp_path, demo_sources(), history=value))
    assert problem in str(err.value)


def test_ticket_states_read_through_the_ref_index_are_those_of_the_whole_events_view(history_config):
    from incident_timeline.export import history

    refs = ["jira:OPS-1102", "jira:OPS-1150", "jira:OPS-1180", "jira:OPS-1210", "jira:OPS-1250", "jira:NOPE-1"]
    con = catalog_store.read_only_catalog(Lake.for_config(load_config(history_config)))
    try:
        files = history._files_holding(con, refs)
        live = con.execute("SELECT live_event_files()").fetchall()[0][0]
        # the index answered: the files of jira and of the slack days that name a ticket, no others
        assert files and set(files) < set(live) and not any("source=pagerduty" in f for f in files)
        whole = history._rows(con, history._TICKETS.format(events=history._EVENTS_VIEW), {"refs": refs})
        assert history._ticket_states(con, refs) == {r["ref"]: r for r in whole}
        assert sorted(history._ticket_states(con, refs)) == refs[:-1]
    finally:
        con.close()


def test_the_html_section_reads_in_a_browser_without_a_script(history_config, tmp_path):
    from tests.export.test_chromium import BROWSER, dom
    if BROWSER is None:
        pytest.skip("Chromium is not installed")
    page = history_config.parent / "reports" / "jira-OPS-1245" / "postmortem.html"
    out = dom(tmp_path, page)
    section = out[out.index('<section id="history">'):out.index('<section id="data">')]
    assert "<strong>Repeat of pagerduty:P4AUGCK</strong>" in section
    assert section.count("<tr>") == 3                  # the header and the two earlier incidents
    assert "<script" not in section.lower()
