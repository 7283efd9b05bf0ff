"""ServiceNow journal and audit rows: the vectorised path gives exactly the mapper's events."""
import json
from datetime import datetime, timezone

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.schemas import RAW_SCHEMA
from normalize.engine import normalize_raw
from normalize.fast import FAST_PATHS
from normalize.mapping import Context, SourceSpec
from normalize.refs import RefFinder

NOW = datetime(2026, 10, 15, tzinfo=timezone.utc)
INC = "INC0010042"
SPECS = [SourceSpec("snow", "servicenow", timezone="Europe/Berlin"),
         SourceSpec("snow", "servicenow", timezone="Europe/Berlin",
                    options={"base_url": "https://acme.service-now.com/"})]


def _journal(i: int, **fields) -> dict:
    return {"sys_id": f"j{i:031x}", "element": "comments", "element_id": "9d385017c611228701d22104cc95c371",
            "sys_created_by": "alice.chen", "sys_created_on": f"2026-10-14 10:{i % 60:02d}:00",
            "value": f"update {i}", **fields}


def _audit(i: int, field: str, old, new, **fields) -> dict:
    return {"sys_id": f"a{i:031x}", "fieldname": field, "oldvalue": old, "newvalue": new, "user": "bob.martin",
            "documentkey": "9d385017c611228701d22104cc95c371", "sys_created_on": f"2026-10-14 11:{i % 60:02d}:00",
            **fields}


def _raw(rows: list) -> pa.Table:
    return pa.Table.from_pylist([{
        "run_id": "r", "source": "snow", "source_type": "servicenow", "stream": stream, "partition": "",
        "native_id": str(i), "parent_id": parent, "payload": p if isinstance(p, str) else json.dumps(p),
        "fetched_at": NOW} for i, (stream, parent, p) in enumerate(rows)], schema=RAW_SCHEMA)


def _both(raw: pa.Table, spec: SourceSpec):
    kw = dict(entities={}, jira_projects=["OPS"], ingested_at=NOW, run_id="r")
    fast, slow = (normalize_raw(raw, spec, vectorized=v, **kw) for v in (True, False))
    order = [("event_id", "ascending")]
    assert fast.events.sort_by(order).to_pylist() == slow.events.sort_by(order).to_pylist()
    assert fast.rejects.to_pylist() == slow.rejects.to_pylist()
    return fast


def _taken(raw: pa.Table, spec: SourceSpec) -> set[str]:
    _drafts, declined = FAST_PATHS["servicenow"](raw, Context(spec, RefFinder(["OPS"]), {}))
    return set(raw["native_id"].to_pylist()) - set(declined["native_id"].to_pylist())


TAKEN = [
    ("sys_journal_field", INC, _journal(0)),
    ("sys_journal_field", INC, _journal(1, element="work_notes", value="  Failover done, see OPS-1240 and INC0010001\n"
                                                                        "second line")),
    ("sys_journal_field", INC, _journal(2, element="", value="", sys_created_by="")),
    ("sys_journal_field", INC, _journal(3, value="x" * 150, element_id="")),
    ("sys_audit", INC, _audit(4, "state", "1", "2")),
    ("sys_audit", INC, _audit(5, "incident_state", "2", "", user="system")),
    ("sys_audit", INC, _audit(6, "assigned_to", "", "Carol Diaz")),
    ("sys_audit", INC, _audit(7, "priority", "3 - Moderate", "1 - Critical")),
    ("sys_audit", INC, _audit(8, "short_description", "db slow", "db \"down\" é")),
    ("sys_audit", INC, _audit(9, "work_notes", "", "a note"),),          # the journal already holds it: no event
    ("sys_audit", INC, _audit(10, "category", None, "network", documentkey="")),
]
DECLINED = [
    ("incident", None, {"number": INC, "opened_at": "2026-10-14 09:00:00", "sys_id": "i1"}),
    ("sys_journal_field", INC, _journal(20, element_id={"link": "x", "value": "y"})),   # a reference object
    ("sys_journal_field", INC, _journal(21, value="nbsp\u00a0end")),
    ("sys_journal_field", INC, _journal(22, value="éOPS-1")),
    ("sys_journal_field", INC, '{"sys_id": "j23", "sys_id": "j24", "sys_created_on": "2026-10-14 10:00:00"}'),
    ("sys_audit", INC, _audit(25, "state", 1, 2)),                                       # numbers, not strings
    # rejected by the mapper
    ("sys_journal_field", None, _journal(30)),
    ("sys_journal_field", INC, _journal(31, sys_id="")),
    ("sys_journal_field", INC, _journal(32, sys_created_on="")),
    ("sys_audit", INC, _audit(33, "", "a", "b")),
    ("sys_journal_field", INC, "{broken"),
]


@pytest.mark.parametrize("spec", SPECS, ids=["no base_url", "base_url"])
def test_journal_and_audit_rows_agree_and_go_the_right_way(spec):
    raw = _raw(TAKEN + DECLINED)
    out = _both(raw, spec)
    assert _taken(raw, spec) == {str(i) for i in range(len(TAKEN))}
    events = {e["native_id"]: e for e in out.events.to_pylist()}
    assert events[_journal(1)["sys_id"]]["title"].startswith(f"{INC} work note: Failover done")
    assert set(events[_journal(1)["sys_id"]]["refs"]) == {f"servicenow:{INC}", "jira:OPS-1240", "servicenow:INC0010001"}
    assert events[_audit(4, "", "", "")["sys_id"]]["title"] == f"{INC} state: New → In Progress"
    assert events[_audit(7, "", "", "")["sys_id"]]["severity"] == "SEV1"
    assert _audit(9, "", "", "")["sys_id"] not in events
    assert out.rejects.num_rows == 5
    if spec.options:
        assert events[_journal(0)["sys_id"]]["url"] == ("https://acme.service-now.com/nav_to.do?uri=incident.do"
                                                        "%3Fsys_id%3D9d385017c611228701d22104cc95c371")


def test_a_code_wrapped_journal_value_is_html_turned_into_text():
    # how a rich-text work note reaches the Table API: HTML inside [code]...[/code]
    value = ('[code]<p>Rolled back the pool&nbsp;size &amp; restarted <b>checkout</b>.<br/>'
             'Runbook: <a href="https://kb.acme.example/KB0012">KB0012</a></p>'
             '<ul><li>see OPS-1240</li><li>p99 &lt; 300ms</li></ul><script>alert(1)</script>[/code]')
    raw = _raw([("sys_journal_field", INC, _journal(0, element="work_notes", value=value)),
                ("sys_journal_field", INC, _journal(1, value="a <b>plain</b> [code comment"))])
    out = _both(raw, SPECS[1])
    assert _taken(raw, SPECS[1]) == {"1"}          # [code] rows go to the mapper
    events = {e["native_id"]: e for e in out.events.to_pylist()}
    note = events[_journal(0)["sys_id"]]
    assert note["body"] == ("Rolled back the pool size & restarted checkout.\n"
                            "Runbook: KB0012 (https://kb.acme.example/KB0012)\n\n- see OPS-1240\n- p99 < 300ms")
    assert note["title"] == f"{INC} work note: Rolled back the pool size & restarted checkout."
    assert "jira:OPS-1240" in note["refs"]
    assert events[_journal(1)["sys_id"]]["body"] == "a <b>plain</b> [code comment"   # no [code]: left as written


def test_a_sys_id_url_quoting_would_change_is_left_to_the_mapper():
    raw = _raw([("sys_journal_field", INC, _journal(0, element_id="a b/c")), ("sys_journal_field", INC, _journal(1))])
    _both(raw, SPECS[1])
    assert _taken(raw, SPECS[1]) == {"1"}
    assert _taken(raw, SPECS[0]) == {"0", "1"}      # no base_url: no URL to build


_text = st.lists(st.sampled_from(["Failover", " ", "\n", "\t", "é", "OPS-12", "INC0010001", "/browse/OPS-3",
                                  "\u2028", "x" * 120, "\"", "\\", "&amp;", "[code]", "[/code]", "<p>",
                                  "<br>", "<a href=\"https://kb.acme.example/KB7\">KB7</a>"]), max_size=8).map("".join)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["comments", "work_notes", ""]), _text), min_size=1, max_size=5),
       st.lists(st.tuples(st.sampled_from(["state", "priority", "assigned_to", "comments", "x"]),
                          st.one_of(st.none(), _text, st.sampled_from(["1", "6", "2 - High"])),
                          st.one_of(st.none(), _text, st.sampled_from(["7", "1 - Critical"]))), max_size=5))
def test_generated_rows_agree(journal, audit):
    rows = [("sys_journal_field", INC, _journal(i, element=e, value=v)) for i, (e, v) in enumerate(journal)]
    rows += [("sys_audit", INC, _audit(100 + i, f, o, n)) for i, (f, o, n) in enumerate(audit)]
    _both(_raw(rows), SPECS[1])
