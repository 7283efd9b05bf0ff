"""PagerDuty log entries as older accounts and other tools record them: an agent that is a
person without a `type`, a user object with `name` and no `summary`, a resolve entry's
note. A person is a person, the note is the text; both paths agree."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from incident_timeline.normalize.mappings.pagerduty import is_person
from incident_timeline.normalize.mapping import SourceSpec
from tests.normalize.test_fast_paths import _both, _pd_raw

PD = SourceSpec("pd", "pagerduty")
SERVICE = {"id": "PSVC001", "type": "service_reference", "summary": "Checkout",
           "html_url": "https://acme.pagerduty.com/services/PSVC001"}
INCIDENT = {"id": "Q2W3E4R", "type": "incident", "title": "checkout-api 5xx", "incident_number": 4213,
            "urgency": "high", "service": SERVICE, "html_url": "https://acme.pagerduty.com/incidents/Q2W3E4R"}
# A user as GET /users/{id} (and older log entries) write one: name and email, no summary
ANA = {"id": "PANA001", "type": "user", "name": "Ana Ops", "email": "ana@acme.example",
       "html_url": "https://acme.pagerduty.com/users/PANA001"}


def _entry(n: int, kind: str, agent, **fields) -> dict:
    return {"id": f"R{kind[:3].upper()}{n}", "type": f"{kind}_log_entry",
            "summary": f"{kind.title()}d by someone", "created_at": f"2026-10-14T14:{10 + n:02d}:00Z",
            "agent": agent, "channel": {"type": "website"}, "service": {"id": SERVICE["id"], "type": "service_reference"},
            "incident": {"id": INCIDENT["id"], "type": "incident_reference"}, **fields}


ENTRIES = [
    _entry(0, "acknowledge", {"id": "PANA001", "summary": "Ana Ops"}),                 # a reference with no type
    _entry(1, "acknowledge", {k: v for k, v in ANA.items() if k != "type"}),           # an older user object
    _entry(2, "annotate", {"name": "Ana Ops", "email": "ana@acme.example"}, channel={"type": "note"},
           note="checking the pool"),
    _entry(3, "resolve", {**ANA}, note="rolled back checkout-api to v41"),
    _entry(4, "trigger", {"id": "PSVC001", "summary": "Checkout"}, channel={"type": "api"},
           event_details={"description": "5xx above 5%"}),                              # the service itself
    _entry(5, "trigger", {"id": "PINT9", "summary": "Prometheus",
                          "html_url": "https://acme.pagerduty.com/services/PSVC001/integrations/PINT9"}),
    _entry(6, "notify", {"id": "PSVC001", "type": "service_reference", "summary": "Checkout"},
           user={"id": "PBOB002", "type": "user", "name": "Bob Martin", "email": "bob@acme.example"}),
    _entry(7, "notify", {"id": "PSVC001", "type": "service_reference"},
           user={"id": "PBOB002", "type": "user_reference", "email": "bob@acme.example"}),
    _entry(8, "acknowledge", {"id": "PANA001", "type": "user_reference", "summary": "Ana Ops"}),   # today's shape
    _entry(9, "resolve", {"id": "PSVC001", "type": "service_reference", "summary": "Checkout"}, note=""),
]


def _events():
    raw = _pd_raw([("incidents", None, INCIDENT)] + [("log_entries", "", e) for e in ENTRIES])
    fast, slow, fo, so = _both(raw, PD)
    assert fast == slow and fo.rejects.to_pylist() == so.rejects.to_pylist() == []
    assert sorted(events["native_id"] for events in fast) == sorted(e["id"] for e in ENTRIES)
    return {e["native_id"]: e for e in fast}


def test_a_person_without_a_type_is_a_person():
    events = _events()
    for native in ("RACK0", "RACK1", "RANN2", "RRES3", "RACK8"):
        assert (events[native]["actor_type"], events[native]["actor"]) == ("human", "Ana Ops"), native
    # one person: the e-mail an older entry carries names her in every entry
    assert {events[n]["actor_id"] for n in ("RACK0", "RACK1", "RANN2", "RRES3", "RACK8")} == {"ana@acme.example"}
    # what names a service or an integration stays the system
    for native in ("RTRI4", "RTRI5", "RNOT6", "RRES9"):
        assert events[native]["actor_type"] == "system", native
    assert events["RTRI4"]["actor"] == "Checkout" and events["RNOT7"]["actor"] == "PagerDuty"


def test_an_older_user_shape_names_the_subject():
    events = _events()
    assert events["RNOT6"]["subject"] == "Bob Martin"
    assert events["RNOT7"]["subject"] == "bob@acme.example"


def test_a_resolve_entrys_note_is_its_text():
    events = _events()
    assert events["RRES3"]["kind"] == "alert.resolved" and events["RRES3"]["body"] == "rolled back checkout-api to v41"
    assert events["RRES3"]["title"] == "Resolved by someone"
    assert events["RTRI4"]["body"] == "5xx above 5%" and events["RRES9"]["body"] == ""
    assert json.loads(events["RRES3"]["attrs"])["incident_title"] == "checkout-api 5xx"


def test_the_reference_types_of_pagerdutys_openapi():
    # AgentReference's type is one of user_reference, service_reference, integration_reference
    assert is_person({"type": "user_reference", "id": "P1"})
    assert not is_person({"type": "service_reference", "summary": "Ana Ops"})
    assert not is_person({"type": "integration_reference", "summary": "Ana Ops", "email": "x@y"})
    assert not is_person({}) and not is_person({"id": "P1"})


_TEXT = st.sampled_from([None, "", "Ana Ops", "PSVC001", "ana@acme.example", "é"])
_LINK = st.sampled_from([None, "", "https://acme.pagerduty.com/users/PANA001",
                         "https://acme.pagerduty.com/services/PSVC001", "https://x.example/integrations/P9"])
_AGENT = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["", "PANA001", "PSVC001"]), "type": st.sampled_from([None, "", "user", "user_reference",
                                                                                 "service_reference"]),
    "summary": _TEXT, "name": _TEXT, "email": _TEXT, "html_url": _LINK, "self": _LINK})
_USER = st.one_of(st.none(), st.fixed_dictionaries({}, optional={"summary": _TEXT, "name": _TEXT, "email": _TEXT,
                                                                  "type": st.just("user")}))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["acknowledge", "resolve", "annotate", "notify"]), _AGENT, _USER, _TEXT),
                min_size=1, max_size=5))
def test_generated_agents_and_users_agree_on_both_paths(entries):
    rows = [("incidents", None, INCIDENT)]
    for n, (kind, agent, user, note) in enumerate(entries):
        extra = {"note": note} if note is not None else {}
        if user is not None:
            extra["user"] = user
        rows.append(("log_entries", "", _entry(n, kind, agent, **extra)))
    fast, slow, fo, so = _both(_pd_raw(rows), PD)
    assert fast == slow
    assert fo.rejects.to_pylist() == so.rejects.to_pylist()
