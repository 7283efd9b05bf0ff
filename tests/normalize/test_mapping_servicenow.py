"""ServiceNow's mapping (normalize/mappings/servicenow.py): the compiled query gives exactly
its per-record oracle's events and rejects, on the fake Table API's records, on awkward
records and on any JSON in any field; and what the events say, field by field."""
import json
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline.ingest.base import Window
from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec

NOW = datetime(2026, 10, 15, tzinfo=timezone.utc)
INC = "INC0010042"
SYS_ID = "9d385017c611228701d22104cc95c371"
SPECS = [SourceSpec("snow", "servicenow", timezone="Europe/Berlin"),
         SourceSpec("snow", "servicenow", timezone="Europe/Berlin",
                    options={"base_url": "https://acme.service-now.com/"})]


def incident(**fields) -> dict:
    return {"sys_id": SYS_ID, "number": INC, "short_description": "Checkout 5xx after deploy",
            "description": "Error rate above 5%, see OPS-1240", "priority": "1", "state": "6",
            "cmdb_ci": "a9c0c8d2c6112276018f7705562f9cb0", "cmdb_ci.name": "checkout-api",
            "assignment_group": "8a4dde73c6112278017a6a4baf547aa7", "assigned_to": "carol.diaz",
            "opened_by": "alice.chen", "caller_id": "", "opened_at": "2026-10-14 09:00:00",
            "sys_created_on": "2026-10-14 08:59:00", "resolved_at": "2026-10-14 10:30:00", "closed_at": "",
            "close_notes": "Rolled back the pool size\nsecond line", "resolved_by": "", **fields}


def journal(i: int, **fields) -> dict:
    return {"sys_id": f"j{i:031x}", "element": "comments", "element_id": SYS_ID, "sys_created_by": "alice.chen",
            "sys_created_on": f"2026-10-14 10:{i % 60:02d}:00", "value": f"update {i}", **fields}


def audit(i: int, field: str, old, new, **fields) -> dict:
    return {"sys_id": f"a{i:031x}", "fieldname": field, "oldvalue": old, "newvalue": new, "user": "bob.martin",
            "documentkey": SYS_ID, "sys_created_on": f"2026-10-14 11:{i % 60:02d}:00", **fields}


def raw_table(rows: list) -> pa.Table:
    """(stream, parent_id, payload dict or verbatim text) -> a raw batch."""
    return pa.Table.from_pylist([{
        "run_id": "r", "source": "snow", "source_type": "servicenow", "stream": stream, "partition": "",
        "native_id": str(i), "parent_id": parent, "payload": p if isinstance(p, str) else json.dumps(p),
        "fetched_at": NOW} for i, (stream, parent, p) in enumerate(rows)], schema=RAW_SCHEMA)


def outputs(raw: pa.Table, spec: SourceSpec, vectorized: bool = True) -> tuple[list, list]:
    out = normalize_raw(raw, spec, entities={}, jira_projects=["OPS"], ingested_at=NOW, run_id="r",
                        vectorized=vectorized)
    return out.events.sort_by([("event_id", "ascending")]).to_pylist(), out.rejects.to_pylist()


def agree(raw: pa.Table, spec: SourceSpec) -> tuple[list, list]:
    compiled, oracle = outputs(raw, spec), outputs(raw, spec, vectorized=False)
    assert compiled == oracle
    return compiled


AWKWARD = [
    ("incident", None, incident()),
    ("incident", None, incident(number="INC0010043", resolved_at="", closed_at="2026-10-14 11:00:00",
                                close_notes="", resolved_by={"link": "x", "value": "dan.ops"})),
    ("incident", None, incident(number="INC0010044", resolved_at="", closed_at="", opened_at="",
                                priority={"display_value": "2 - High", "value": "2"}, cmdb_ci={"value": 7},
                                **{"cmdb_ci.name": "", "business_service.name": "payments"})),
    ("incident", None, incident(number=10045, short_description=5, description="[code]<p>see <b>OPS-1</b></p>[/code]",
                                state={"value": "2"}, sys_id="a b/c", opened_by=None, caller_id={"value": ""})),
    ("incident", None, incident(number="INC0010046", description="nbsp\u00a0éOPS-1 INC0010001", resolved_at=0,
                                closed_at="bad", business_service={"name": "nested, not read"})),
    ("incident", None, incident(number="")),                                  # rejected: no number
    ("incident", None, incident(number="INC0010047", opened_at=None, sys_created_on=False)),   # no time
    ("incident", None, incident(number="INC0010048", opened_at="yesterday")),  # its time rejected
    ("sys_journal_field", INC, journal(0)),
    ("sys_journal_field", INC, journal(1, element="work_notes", value="  Failover done, see OPS-1240 and "
                                                                       "INC0010001\nsecond line")),
    ("sys_journal_field", INC, journal(2, element="", value="", sys_created_by="")),
    ("sys_journal_field", INC, journal(3, value="x" * 150, element_id="")),
    ("sys_journal_field", INC, journal(4, element_id={"link": "x", "value": "y"}, element=5)),
    ("sys_journal_field", INC, journal(5, value="nbsp\u00a0end\u2028")),
    ("sys_journal_field", INC, journal(6, value="éOPS-1", sys_created_by={"name": "x"})),
    ("sys_journal_field", INC, '{"sys_id": "j23", "sys_id": "j24", "sys_created_on": "2026-10-14 10:00:00"}'),
    ("sys_journal_field", INC, journal(7, value="[code]<p>a &amp; b</p><script>x</script>[/code] tail")),
    ("sys_journal_field", INC, journal(8, element_id="a b/c")),
    ("sys_audit", INC, audit(10, "state", "1", "2")),
    ("sys_audit", INC, audit(11, "incident_state", "2", "", user="system")),
    ("sys_audit", INC, audit(12, "assigned_to", "", "Carol Diaz")),
    ("sys_audit", INC, audit(13, "priority", "3 - Moderate", "1 - Critical")),
    ("sys_audit", INC, audit(14, "short_description", "db slow", "db \"down\" é")),
    ("sys_audit", INC, audit(15, "work_notes", "", "a note", sys_id="")),    # the journal holds it: nothing
    ("sys_audit", INC, audit(16, "category", None, "network", documentkey="")),
    ("sys_audit", INC, audit(17, "state", 1, {"value": "7"}, user=5)),
    ("sys_audit", INC, audit(18, 7, [1], {})),
    # rejected
    ("sys_journal_field", None, journal(30)),
    ("sys_journal_field", INC, journal(31, sys_id="")),
    ("sys_journal_field", INC, journal(32, sys_created_on="")),
    ("sys_audit", INC, audit(33, "", "a", "b")),
    ("sys_audit", None, audit(34, "state", "1", "2")),
    ("sys_audit", INC, audit(35, "state", "1", "2", sys_created_on=None)),
    ("sys_journal_field", INC, "{broken"),
    ("sys_audit", INC, "[1, 2]"),
    ("problem", None, {"number": "PRB0000001"}),
]


@pytest.mark.parametrize("spec", SPECS, ids=["no base_url", "base_url"])
def test_awkward_records_agree(spec):
    events, rejects = agree(raw_table(AWKWARD), spec)
    assert len(rejects) == 13
    assert {(r["field"], r["reason"]) for r in rejects} >= {
        ("number", "missing"), ("opened_at", "missing"), ("element_id", "the incident it belongs to was not found"),
        ("documentkey", "the incident it belongs to was not found"), ("sys_id", "missing"),
        ("sys_created_on", "missing"), ("fieldname", "missing"),
        ("stream", "stream 'problem' is not known to the servicenow mapper")}
    by_id = {e["native_id"]: e for e in events}
    assert journal(15)["sys_id"] not in by_id and audit(15, "", "", "")["sys_id"] not in by_id


def test_an_incident_and_its_resolution_field_by_field():
    events, rejects = agree(raw_table([("incident", None, incident())]), SPECS[1])
    assert rejects == []
    created, resolved = sorted(events, key=lambda e: e["native_id"])
    url = f"https://acme.service-now.com/nav_to.do?uri=incident.do%3Fsys_id%3D{SYS_ID}"
    assert {k: created[k] for k in ("kind", "ts_raw", "actor", "actor_type", "subject", "title", "body", "severity",
                                    "service", "url", "native_id")} == {
        "kind": "ticket.created", "ts_raw": "2026-10-14 09:00:00", "actor": "alice.chen", "actor_type": "human",
        "subject": "carol.diaz", "title": f"{INC} opened: Checkout 5xx after deploy",
        "body": "Error rate above 5%, see OPS-1240", "severity": "SEV1", "service": "checkout-api", "url": url,
        "native_id": INC}
    assert created["refs"] == [f"servicenow:{INC}", "jira:OPS-1240", f"servicenow:{SYS_ID}"]
    assert created["ts"] == datetime(2026, 10, 14, 7, 0, tzinfo=timezone.utc)   # Berlin, summer time
    assert json.loads(created["attrs"]) == {"key": INC, "summary": "Checkout 5xx after deploy", "status": "Resolved",
                                            "priority": "1", "assignment_group": "8a4dde73c6112278017a6a4baf547aa7"}
    assert (resolved["kind"], resolved["native_id"], resolved["actor"], resolved["subject"]) == (
        "ticket.resolved", f"{INC}/resolved", "carol.diaz", None)
    assert resolved["title"] == f"{INC} resolved: Rolled back the pool size"
    assert resolved["ts_raw"] == "2026-10-14 10:30:00"


def test_journal_and_audit_rows_read_as_the_incident_history():
    rows = [("sys_journal_field", INC, journal(1, element="work_notes", value="Failover done, see OPS-1240")),
            ("sys_audit", INC, audit(2, "state", "1", "2")), ("sys_audit", INC, audit(3, "priority", "3", "1 - Critical")),
            ("sys_audit", INC, audit(4, "assigned_to", "", "Carol Diaz", user="system")),
            ("sys_audit", INC, audit(5, "comments", "", "a comment"))]
    events, rejects = agree(raw_table(rows), SPECS[0])
    assert rejects == []
    by_id = {e["native_id"]: e for e in events}
    note = by_id[journal(1)["sys_id"]]
    assert (note["kind"], note["title"]) == ("ticket.comment", f"{INC} work note: Failover done, see OPS-1240")
    assert note["refs"] == [f"servicenow:{INC}", "jira:OPS-1240"]
    assert json.loads(note["attrs"]) == {"key": INC, "element": "work_notes"}
    state = by_id[audit(2, "", "", "")["sys_id"]]
    assert (state["kind"], state["title"]) == ("ticket.status", f"{INC} state: New → In Progress")
    assert by_id[audit(3, "", "", "")["sys_id"]]["severity"] == "SEV1"
    assigned = by_id[audit(4, "", "", "")["sys_id"]]
    assert (assigned["kind"], assigned["subject"], assigned["actor_type"]) == ("ticket.assigned", "Carol Diaz", "system")
    assert len(events) == 4    # the audit of a comment: the journal holds it


def test_a_time_reject_names_the_field_the_time_came_from():
    rows = [("incident", None, incident(number="INC1", opened_at="bad", resolved_at="", closed_at="worse")),
            ("incident", None, incident(number="INC2", opened_at="", sys_created_on="bad", resolved_at="bad too"))]
    _events, rejects = agree(raw_table(rows), SPECS[0])
    assert sorted((r["native_id"], r["field"]) for r in rejects) == [
        ("INC1", "opened_at"), ("INC1/resolved", "closed_at"), ("INC2", "sys_created_on"), ("INC2/resolved", "resolved_at")]


def test_the_fake_table_apis_records_are_events(httpserver, monkeypatch, tmp_path):
    from tests.ingest.fakes.servicenow import ServiceNowFake
    from tests.ingest.lakeview import fetch, serve

    fake = serve(ServiceNowFake, httpserver, monkeypatch, datetime(2026, 10, 14, tzinfo=timezone.utc), 3,
                 timedelta(hours=1))
    records = fetch(tmp_path, fake.source_entry(), Window())
    raw = raw_table([(r.stream, r.parent_id, r.payload_json()) for r in records])
    spec = SourceSpec("snow", "servicenow", options={"base_url": fake.url("/")})
    events, rejects = agree(raw, spec)
    assert rejects == []
    assert {e["native_id"] for e in events} == set(fake.event_times(Window()))


# any JSON value (the robustness tests' leaves, smaller) in any of the mapped fields
_leaves = (st.none() | st.booleans() | st.integers(min_value=-10**20, max_value=10**20)
           | st.floats(allow_nan=False) | st.sampled_from(["", "0", "1", "6", "work_notes", "comments", "state",
                                                            "priority", "assigned_to", "system", "2 - High",
                                                            "2026-10-14 10:00:00", "a b", "[code]<b>x</b>[/code]",
                                                            "see OPS-12 INC0010001", "\u00a0é OPS-1"])
           | st.text(max_size=5))
_values = st.recursive(_leaves, lambda inner: st.lists(inner, max_size=2)
                       | st.dictionaries(st.sampled_from(["value", "display_value", "link", "name", "x"]), inner,
                                         max_size=2), max_leaves=4)
_STREAMS = {"incident": incident(), "sys_journal_field": journal(0), "sys_audit": audit(0, "state", "1", "2")}
_COLUMNS = {"incident": [*incident(), "business_service", "business_service.name", "cmdb_ci.name"],
            "sys_journal_field": list(journal(0)), "sys_audit": list(audit(0, "", "", ""))}


@st.composite
def _record(draw) -> tuple:
    stream = draw(st.sampled_from(sorted(_STREAMS)))
    payload = dict(_STREAMS[stream])
    for column in draw(st.lists(st.sampled_from(_COLUMNS[stream]), max_size=4, unique=True)):
        if draw(st.booleans()):
            payload[column] = draw(_values)
        else:
            payload.pop(column, None)
    parent = draw(st.sampled_from([INC, INC, "", None])) if stream != "incident" else None
    return stream, parent, payload


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_record(), min_size=1, max_size=6), st.sampled_from(SPECS))
def test_any_json_in_any_field_agrees(rows, spec):
    agree(raw_table(rows), spec)
