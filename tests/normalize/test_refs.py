from incident_timeline.normalize.refs import RefFinder


def test_every_kind_of_id_in_free_text():
    text = ("Paged via https://acme.pagerduty.com/incidents/Q2W3E4R, tracking in OPS-1234 and "
            "https://acme.atlassian.net/browse/PLAT-7; see <#C0INC4213|inc-4213> and "
            "https://acme.slack.com/archives/C0ALERTS01/p1791986534000100; change CHG0030001 for "
            "INC0010001; https://acme.app.opsgenie.com/alert/detail/70413a06-38d6-4c85-92b8-5ebc900d42e2/details")
    assert RefFinder(["OPS"]).find(text) == [
        "pagerduty:Q2W3E4R", "jira:PLAT-7", "jira:OPS-1234", "slack:C0INC4213", "slack:C0ALERTS01",
        "slack:C0ALERTS01:1791986534.000100", "servicenow:CHG0030001", "servicenow:INC0010001",
        "opsgenie:70413a06-38d6-4c85-92b8-5ebc900d42e2"]


def test_bare_keys_only_for_known_projects():
    finder = RefFinder(["OPS"])
    assert finder.find("UTF-8 and SEV-1 are not tickets; OPS-12 is") == ["jira:OPS-12"]
    assert RefFinder().find("OPS-12") == []


def test_refs_are_unique_in_first_seen_order():
    assert RefFinder(["OPS"]).find("OPS-2 then OPS-1", "OPS-2 again") == ["jira:OPS-2", "jira:OPS-1"]


# Each tool's own link and id shapes, as they are pasted into chat and tickets.
REAL_SHAPES = [
    # Opsgenie alert ids are <uuid>-<epoch ms>; EU accounts live on app.eu.opsgenie.com
    ("https://acme.app.opsgenie.com/alert/detail/909993c0-72e7-4433-9e9e-30a2196e8f87-1698695490940/details",
     ["opsgenie:909993c0-72e7-4433-9e9e-30a2196e8f87-1698695490940"]),
    ("<https://acme.app.eu.opsgenie.com/alert/detail/0d2f6a51-8c3e-4b7a-9f10-2b6c5d4e3f21-1791986530123/details|P2 checkout>",
     ["opsgenie:0d2f6a51-8c3e-4b7a-9f10-2b6c5d4e3f21-1791986530123"]),
    ("incident: https://acme.app.opsgenie.com/incident/detail/5be0c7a4-1d2e-4f3a-8b9c-0a1b2c3d4e5f/timeline",
     ["opsgenie:5be0c7a4-1d2e-4f3a-8b9c-0a1b2c3d4e5f"]),
    ("old UI: https://app.opsgenie.com/alert/V2#/show/909993c0-72e7-4433-9e9e-30a2196e8f87-1698695490940/details",
     ["opsgenie:909993c0-72e7-4433-9e9e-30a2196e8f87-1698695490940"]),
    # PagerDuty incidents (also on the EU service region) and alerts
    ("https://acme.eu.pagerduty.com/incidents/Q0RIJJZL24RC6W/timeline", ["pagerduty:Q0RIJJZL24RC6W"]),
    ("alert https://acme.pagerduty.com/alerts/PQ1AB2C", ["pagerduty:PQ1AB2C"]),
    # Jira: browse links, board and project issue views, REST links
    ("https://acme.atlassian.net/browse/PAY-88", ["jira:PAY-88"]),
    ("https://acme.atlassian.net/jira/software/c/projects/PAY/issues/PAY-88?filter=all", ["jira:PAY-88"]),
    ("https://acme.atlassian.net/jira/software/projects/PAY/boards/3?selectedIssue=PAY-89", ["jira:PAY-89"]),
    ("https://acme.atlassian.net/rest/api/3/issue/PAY-90", ["jira:PAY-90"]),
    # ServiceNow: classic and encoded nav_to links, the form URL, portal and workspace links, numbers
    ("https://acme.service-now.com/nav_to.do?uri=incident.do?sys_id=9d385017c611228701d22104cc95c371",
     ["servicenow:9d385017c611228701d22104cc95c371"]),
    ("https://acme.service-now.com/nav_to.do?uri=incident.do%3Fsys_id%3D9d385017c611228701d22104cc95c371",
     ["servicenow:9d385017c611228701d22104cc95c371"]),
    ("https://acme.service-now.com/now/nav/ui/classic/params/target/incident.do%3Fsys_id%3D9d385017c611228701d22104cc95c371",
     ["servicenow:9d385017c611228701d22104cc95c371"]),
    ("https://acme.service-now.com/incident.do?sys_id=9d385017c611228701d22104cc95c371&sysparm_view=ess",
     ["servicenow:9d385017c611228701d22104cc95c371"]),
    ("https://acme.service-now.com/sp?id=ticket&table=incident&sys_id=9d385017c611228701d22104cc95c371",
     ["servicenow:9d385017c611228701d22104cc95c371"]),
    ("https://acme.service-now.com/now/sow/record/incident/9d385017c611228701d22104cc95c371",
     ["servicenow:9d385017c611228701d22104cc95c371"]),
    ("INC0010023 and CHG0030001 (RITM0012345)",
     ["servicenow:INC0010023", "servicenow:CHG0030001", "servicenow:RITM0012345"]),
    # Slack: a message permalink names the channel and the message (ts with its dot back)
    ("https://acme.slack.com/archives/C05ALERTS1/p1791986534000100",
     ["slack:C05ALERTS1", "slack:C05ALERTS1:1791986534.000100"]),
    ("https://acme.slack.com/archives/C05INC4213/p1791987270001000?thread_ts=1791987200.000200&cid=C05INC4213",
     ["slack:C05INC4213", "slack:C05INC4213:1791987270.001000"]),
    ("https://app.slack.com/client/T01ACME/C05INC4213", ["slack:C05INC4213"]),
    # Grafana alert rules and Statuspage incidents
    ("https://grafana.acme.io/alerting/grafana/fe3k9x2lmq8w0a/view?orgId=1", ["grafana:fe3k9x2lmq8w0a"]),
    ("Silence: https://grafana.acme.io/alerting/silence/new?alertmanager=grafana&matcher=__alert_rule_uid__%3Dfe3k9x2lmq8w0a"
     "&matcher=instance%3Dweb-1", ["grafana:fe3k9x2lmq8w0a"]),
    ("https://manage.statuspage.io/pages/x1y2z3w4v5u6/incidents/p8s0wqr2mb7c", ["statuspage:p8s0wqr2mb7c"]),
]


import pytest  # noqa: E402


@pytest.mark.parametrize("text,refs", REAL_SHAPES)
def test_each_tools_own_link_shapes(text, refs):
    assert RefFinder(["OPS"]).find(text) == refs


def test_the_vectorised_finder_finds_the_same_refs():
    import duckdb

    from incident_timeline.normalize.sql import refs_sql
    finder = RefFinder(["OPS", "PAY"])
    texts = [t for t, _ in REAL_SHAPES] + [" ".join(t for t, _ in REAL_SHAPES), "no ref here", ""]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, text VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    got = con.execute(f"SELECT {refs_sql(finder, 'text')} FROM t ORDER BY i").fetchall()
    from incident_timeline.normalize.refs import unique
    assert [unique(r) for (r,) in got] == [finder.find(t) for t in texts]
