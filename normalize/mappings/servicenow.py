"""ServiceNow incidents, journal entries and audit rows -> ticket.* events.

An incident is `ticket.created` (opened_at, else sys_created_on) and, once resolved or
closed, `ticket.resolved`; a journal entry (comment, work note) is `ticket.comment`; an
audit row is a status, assignment or priority change, or `ticket.updated` for any other
field (comments and work notes in the audit are skipped: the journal holds them). Journal
and audit rows belong to the incident their parent names. Times are naive
("2016-01-19 04:52:04"), placed in the source's `timezone:` (UTC unless configured).
Every key is read as written (`business_service.name` is the dot-walked key the connector
asks for, not a walk into `business_service`); a reference field may be an object
({"link": ..., "value": ...}, or a display_value), read as its display value or value.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..mapping import SourceSpec
from ..sql import lit, odd_ref_text_sql, refs_sql, unique_sql
from ..text import HAS_CODE_BLOCK, servicenow_to_text
from ..transforms import TRANSFORMS, Transform
from . import Check, Const, Field, Json, Mapping, Or, Parent, Present, Rule, Time, Value, attrs, call

STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed", "8": "Canceled"}
AUDIT_KINDS = {"state": "ticket.status", "incident_state": "ticket.status", "assigned_to": "ticket.assigned",
               "priority": "ticket.priority"}
JOURNAL_AUDIT = ("work_notes", "comments")   # the journal already holds these
_INCIDENT = ("number", "short_description", "description", "priority", "business_service.name", "business_service",
             "cmdb_ci.name", "cmdb_ci", "sys_id", "state", "assignment_group", "opened_at", "sys_created_on",
             "opened_by", "caller_id", "assigned_to", "resolved_at", "closed_at", "close_notes", "resolved_by")
_JOURNAL = ("sys_id", "element", "element_id", "sys_created_by", "sys_created_on", "value")
_AUDIT = ("sys_id", "fieldname", "oldvalue", "newvalue", "user", "documentkey", "sys_created_on")


def servicenow_mapping(spec: SourceSpec) -> Mapping:
    return Mapping(source_type="servicenow", time=Time(field="sys_created_on", format="naive", zone=spec.timezone),
                   rules=(*_incident(), _journal(), _audit()))


def _fields(columns: tuple[str, ...]) -> tuple[Field, ...]:
    return tuple(Field(_name(c), c, required=False, flat=True) for c in columns)


def _name(column: str) -> str:
    return column.replace(".", "_")


def _value(column: str):
    """A plain value as text, or a reference object's display value or value (None for empty)."""
    name = _name(column)
    return call("sn_value", Value(name, "object"), Value(name), Value(name, "type"))


def _named(field: str):
    """A reference field by its name: the dot-walked `<field>.name`, else what it holds."""
    return Or((_value(f"{field}.name"), _value(field)))


def _text(column: str):
    return call("sn_text", Or((Value(column, "truthy"), Const(""))))


def _first_present(*columns: str, as_: str = "text"):
    """The name of the first of `columns` the record holds (as_ "truthy": a true value),
    else the first's."""
    named = Const(columns[0])
    for column in reversed(columns):
        named = Present(Value(column, as_), Const(column), named)
    return named


def _incident() -> tuple[Rule, Rule]:
    number = Value("number")
    summary = Or((Value("short_description", "truthy"), Const("")))
    description = _text("description")
    opened = Or((Value("opened_at", "truthy"), Value("sys_created_on", "truthy")))
    resolved = Or((Value("resolved_at", "truthy"), Value("closed_at", "truthy")))
    sys_id = _value("sys_id")
    base = {
        "actor_type": Const("human"), "severity": call("to_sev", _value("priority")),
        "service": Or((_named("business_service"), _named("cmdb_ci"))),
        # the record's sys_id too: what a pasted record link (incident.do?sys_id=...) names
        "refs": call("sn_incident_refs", number, summary, description, sys_id),
        "url": call("sn_url", sys_id),
        "attrs": attrs(key=number, summary=summary, status=call("sn_state", _value("state")),
                       priority=_value("priority"), assignment_group=_value("assignment_group")),
    }
    created = {**base, "kind": Const("ticket.created"), "ts_raw": opened,
               "actor": Or((_value("opened_by"), _value("caller_id"))), "subject": _value("assigned_to"),
               "title": call("concat", number, Const(" opened: "), summary), "body": description,
               "native_id": number}
    notes = _text("close_notes")
    closed = {**base, "kind": Const("ticket.resolved"), "ts_raw": resolved,
              "actor": Or((_value("resolved_by"), _value("assigned_to"))),
              "title": call("concat", number, Const(" resolved: "),
                            Or((call("first_line", notes, Const(100)), summary))),
              "body": notes, "native_id": call("concat", number, Const("/resolved"))}
    checks = (Check(number, "number", "missing"), Check(opened, "opened_at", "missing"))
    return (Rule(streams=("incident",), fields=_fields(_INCIDENT), checks=checks, draft=created,
                 time_field=_first_present("opened_at", "sys_created_on")),
            Rule(streams=("incident",), fields=_fields(_INCIDENT), checks=checks, draft=closed, keep=resolved,
                 time_field=_first_present("resolved_at", "closed_at", as_="truthy")))


def _journal() -> Rule:
    number, text = Parent(), _text("value")
    label = Or((call("if_equal", Value("element"), Const("work_notes"), Const("work note")), Const("comment")))
    draft = {
        "kind": Const("ticket.comment"), "ts_raw": Value("sys_created_on"),
        "actor": Value("sys_created_by"), "actor_type": Const("human"),
        "title": call("concat", number, Const(" "), label, Const(": "), call("first_line", text, Const(100))),
        "body": text,
        "refs": call("own_and_found_refs", call("concat", Const("servicenow:"), number), text),
        "url": call("sn_url", _value("element_id")), "native_id": Value("sys_id"),
        "attrs": attrs(key=number, element=Json(Present(Value("element", "truthy"), Value("element", "json"),
                                                        Const('"comments"')))),
    }
    checks = (Check(Parent(), "element_id", "the incident it belongs to was not found"),
              Check(Value("sys_created_on"), "sys_created_on", "missing"), Check(Value("sys_id"), "sys_id", "missing"))
    return Rule(streams=("sys_journal_field",), fields=_fields(_JOURNAL), checks=checks, draft=draft,
                time_field="sys_created_on")


def _audit() -> Rule:
    number, field = Parent(), Value("fieldname")
    kind = call("sn_audit_kind", field)   # None: a journal field, which gives no event

    def changed(column: str):
        value = _value(column)
        return Present(call("if_equal", kind, Const("ticket.status"), Const("yes")), call("sn_state", value), value)
    before, after = changed("oldvalue"), changed("newvalue")
    draft = {
        "kind": kind, "ts_raw": Value("sys_created_on"), "actor": Value("user"),
        "actor_type": Or((call("if_equal", Value("user"), Const("system"), Const("system")), Const("human"))),
        "subject": call("if_equal", kind, Const("ticket.assigned"), after),
        "title": call("concat", number, Const(" "), field, Const(": "), Or((before, Const("(none)"))), Const(" → "),
                      Or((after, Const("(none)")))),
        "body": Const(""), "severity": call("if_equal", kind, Const("ticket.priority"), call("to_sev", after)),
        "refs": call("as_list", call("concat", Const("servicenow:"), number)),
        "url": call("sn_url", _value("documentkey")), "native_id": Value("sys_id"),
        "attrs": attrs(key=number, field=field, **{"from": before, "to": after}),
    }
    # a journal field's row is skipped before its time and id are read
    checks = (Check(Parent(), "documentkey", "the incident it belongs to was not found"),
              Check(field, "fieldname", "missing"),
              Check(Present(kind, Value("sys_created_on"), Const("-")), "sys_created_on", "missing"),
              Check(Present(kind, Value("sys_id"), Const("-")), "sys_id", "missing"))
    return Rule(streams=("sys_audit",), fields=_fields(_AUDIT), checks=checks, draft=draft, keep=kind,
                time_field="sys_created_on")


# ------------------------------------------------------------------ transforms
def value_of(field: Any) -> str | None:
    """A plain value, or the value of a reference field ({"link": ..., "value": ...})."""
    if isinstance(field, dict):
        field = field.get("display_value") or field.get("value")
    return None if field in (None, "") else str(field)


def incident_refs(ctx, number: str, summary: str, description: str, sys_id: str | None) -> list[str]:
    return [f"servicenow:{number}"] + ctx.refs.find(summary, description) + (
        [f"servicenow:{sys_id}"] if sys_id else [])


def _incident_refs_sql(ctx, number: str, summary: str, description: str, sys_id: str) -> str:
    return (f"list_concat(['servicenow:' || {number}], {refs_sql(ctx.refs, summary, description)}, "
            f"CASE WHEN {sys_id} IS NULL THEN []::VARCHAR[] ELSE ['servicenow:' || {sys_id}] END)")


def record_url(ctx, sys_id: str | None) -> str | None:
    base = ctx.spec.options.get("base_url")
    if not base or not sys_id:
        return None
    return f"{str(base).rstrip('/')}/nav_to.do?uri={quote(f'incident.do?sys_id={sys_id}', safe='')}"


def _url_sql(ctx, sys_id: str) -> str:
    base = ctx.spec.options.get("base_url")
    if not base:
        return "NULL::VARCHAR"
    prefix = lit(f"{str(base).rstrip('/')}/nav_to.do?uri=incident.do%3Fsys_id%3D")
    return f"CASE WHEN coalesce({sys_id}, '') <> '' THEN {prefix} || {sys_id} END"


def _state_sql(_ctx, value: str) -> str:
    return f"CASE {value} " + " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in STATES.items()) + f" ELSE {value} END"


def audit_kind(field: str) -> str | None:
    return None if field in JOURNAL_AUDIT else AUDIT_KINDS.get(field, "ticket.updated")


def _audit_kind_sql(_ctx, field: str) -> str:
    kinds = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in AUDIT_KINDS.items())
    skipped = ", ".join(lit(f) for f in JOURNAL_AUDIT)
    return f"CASE WHEN {field} IN ({skipped}) THEN NULL ELSE CASE {field} {kinds} ELSE 'ticket.updated' END END"


TRANSFORMS.update({
    # (the field's value, its text, its JSON type): an object is read in Python
    "sn_value": Transform(lambda value, _text, _type: value_of(value), sql=lambda _c, _v, t, _y: f"nullif({t}, '')",
                          exact=lambda _c, _v, _t, y: f"coalesce({y}, 'null') <> 'object'"),
    "sn_state": Transform(lambda v: STATES.get(v or "", v), sql=_state_sql, exact=lambda *_a: "true"),
    # [code]…[/code] is HTML, turned into text in Python; any other text is as written
    "sn_text": Transform(servicenow_to_text, sql=lambda _c, t: f"coalesce({t}, '')",
                         exact=lambda _c, t: f"NOT coalesce(regexp_matches({t}, {lit(HAS_CODE_BLOCK)}), false)"),
    "sn_incident_refs": Transform(incident_refs, returns="VARCHAR[]", with_ctx=True, sql=_incident_refs_sql,
                                  exact=lambda c, _n, s, d, _i: f"NOT {odd_ref_text_sql(c.refs, s)} "
                                                                f"AND NOT {odd_ref_text_sql(c.refs, d)}",
                                  post=unique_sql("{col}")),
    # quote() leaves these alone: a sys_id made of them goes into the URL as it is
    "sn_url": Transform(record_url, with_ctx=True, sql=_url_sql,
                        exact=lambda _c, s: f"coalesce(regexp_full_match({s}, '[A-Za-z0-9_.~-]*'), true)"),
    "sn_audit_kind": Transform(audit_kind, sql=_audit_kind_sql, exact=lambda *_a: "true"),
})
