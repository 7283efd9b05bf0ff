from normalize.refs import RefFinder


def test_every_kind_of_id_in_free_text():
    text = ("Paged via https://acme.pagerduty.com/incidents/Q2W3E4R, tracking in OPS-1234 and "
            "https://acme.atlassian.net/browse/PLAT-7; see <#C0INC4213|inc-4213> and "
            "https://acme.slack.com/archives/C0ALERTS01/p1791986534000100; change CHG0030001 for "
            "INC0010001; https://acme.app.opsgenie.com/alert/detail/70413a06-38d6-4c85-92b8-5ebc900d42e2/details")
    assert RefFinder(["OPS"]).find(text) == [
        "pagerduty:Q2W3E4R", "jira:PLAT-7", "jira:OPS-1234", "slack:C0INC4213", "slack:C0ALERTS01",
        "servicenow:CHG0030001", "servicenow:INC0010001",
        "opsgenie:70413a06-38d6-4c85-92b8-5ebc900d42e2"]


def test_bare_keys_only_for_known_projects():
    finder = RefFinder(["OPS"])
    assert finder.find("UTF-8 and SEV-1 are not tickets; OPS-12 is") == ["jira:OPS-12"]
    assert RefFinder().find("OPS-12") == []


def test_refs_are_unique_in_first_seen_order():
    assert RefFinder(["OPS"]).find("OPS-2 then OPS-1", "OPS-2 again") == ["jira:OPS-2", "jira:OPS-1"]
