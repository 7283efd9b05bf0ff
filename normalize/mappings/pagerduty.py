"""PagerDuty log entries and alerts -> alert.* events; incidents are context (title,
priority, urgency, service, url), read from the fetched incidents, else (log entries)
from the incident the entry embeds (`include[]=incidents`).

A log entry's kind is its type without `_log_entry`; its actor is its agent, a person or
"PagerDuty"; a note (`annotate`) is its text and its title. An alert is its trigger
(PagerDuty gives no time for an alert's resolution: resolutions come from log entries).
"""
from __future__ import annotations

import json
from typing import Any, Mapping as TMapping

from incident_timeline.contract.links import DEDUP

from ..sql import unique_sql
from ..mapping import Context, SourceSpec
from ..severity import to_sev
from ..transforms import TRANSFORMS, Transform, encode_json, render
from . import Check, Const, Field, Json, Mapping, Or, Parent, Present, Rule, Time, Value, attrs, call

_HUMAN_AGENTS = {"user_reference", "user"}
# log entry type (without _log_entry) -> event kind
KINDS = {
    "trigger": "alert.triggered", "acknowledge": "alert.acknowledged",
    "unacknowledge": "alert.unacknowledged", "annotate": "alert.annotated",
    "assign": "alert.assigned", "delegate": "alert.delegated", "escalate": "alert.escalated",
    "exhaust_escalation_path": "alert.escalation_exhausted", "notify": "alert.notified",
    "reach_ack_limit": "alert.ack_limit_reached", "reach_trigger_limit": "alert.trigger_limit_reached",
    "repeat_escalation_path": "alert.escalation_repeated", "resolve": "alert.resolved",
    "snooze": "alert.snoozed", "urgency_change": "alert.urgency_changed",
    "priority_change": "alert.priority_changed", "link": "alert.linked", "unlink": "alert.unlinked",
}
# what the mappings read of an incident (the fetched one, else the embedded one)
_INCIDENT = ("priority.summary", "urgency", "service.summary", "service.id", "html_url", "incident_number", "title",
             "incident_key")


def pagerduty_mapping(spec: SourceSpec) -> Mapping:
    return Mapping(source_type="pagerduty", time=Time(field="created_at"), entity_streams=("incidents",),
                   rules=(_log_entries(), _alerts()))


def _fields(*names: str, json_: tuple[str, ...] = ()) -> tuple[Field, ...]:
    return tuple(Field(n.replace(".", "_"), n, required=False) for n in names + json_)


def _objects(*names: str):
    """None, or (a transform that raises) a reject when one of these fields holds a value
    that is neither an object nor falsy: the fields read through it are then unreadable."""
    return call("pd_objects", *(arg for n in names for arg in (Const(n), Value(n, "type"), Value(n, "truthy"))))


def _incident(path: str, incident_id, embedded: bool, as_: str = "text"):
    """The incident's value at `path`: JSON text (`json`), a ref of its dedup key (`key`), else text."""
    args = (Value("incident_type"), Value(f"incident_{path.replace('.', '_')}", "json")) if embedded else \
        (Const(None), Const(None))
    return call(f"pd_incident_{as_}", incident_id, Const(path), *args)


def _log_entries() -> Rule:
    incident_id = Or((Value("incident_id", "truthy"), Parent()))
    action = call("pd_action", Value("type"))
    human = call("pd_person", *(Value(f"agent_{k}", "truthy") for k in ("type", "email", "html_url", "self", "id",
                                                                           "summary", "name")),
                 Value("service_id", "truthy"))
    annotate = call("if_equal", action, Const("annotate"), Const("annotate"))
    note = Value("note", "truthy")
    body = Present(annotate, Or((note, Value("channel_summary", "truthy"), Const(""))),
                   Or((note, Value("event_details_description", "truthy"), Const(""))))
    title = Present(annotate, Present(body, call("concat", Const("Note: "), body), Or((Value("summary", "truthy"),
                                                                                        action))),
                    Or((Value("summary", "truthy"), action)))
    service = Value("service", "truthy")
    agent_name = Or((Value("agent_summary", "truthy"), Value("agent_name", "truthy"), Value("agent_email", "truthy")))
    # the JSON types of the values body and title were taken from: a body or title that is
    # not a string is a reject, as the mapper's search for refs in it failed
    summary_type = _type_if("summary", Const("string"))
    body_type = _type_if("note", Present(annotate, _type_if("channel_summary"), _type_if("event_details_description")))
    title_type = Present(annotate, Present(body, Const("string"), summary_type), summary_type)
    found_in = Or((call("refuse_unsearchable", body, body_type, title, title_type), body))
    draft = {
        "kind": call("pd_kind", action), "ts_raw": Value("created_at"),
        "actor": Or((_objects("incident", "agent", "channel", "service", "event_details"), agent_name,
                     Present(human, Const(None), Const("PagerDuty")))),
        "actor_type": Present(human, Const("human"), Const("system")),
        "actor_id": Present(human, Or((Value("agent_id", "truthy"), Value("agent_email", "truthy"), Const(None))),
                            Const(None)),
        "subject": Or((Value("user_summary", "truthy"), Value("user_name", "truthy"), Value("user_email", "truthy"),
                       call("pd_names", Value("assignees", "object")), Const(None))),
        "title": title, "body": body,
        "severity": call("pd_severity", _incident("priority.summary", incident_id, True),
                         _incident("urgency", incident_id, True)),
        "service": Present(service, Value("service_summary"), _incident("service.summary", incident_id, True)),
        "refs": call("pd_refs", incident_id, found_in, title, _incident("incident_key", incident_id, True, "key")),
        "url": Or((Value("incident_html_url", "truthy"), _incident("html_url", incident_id, True))),
        "native_id": Value("id"),
        "attrs": attrs(channel=Json(Value("channel_type", "json")),
                       incident_number=Json(_incident("incident_number", incident_id, True, "json")),
                       incident_title=Json(call("json_or", _incident("title", incident_id, True, "json"),
                                                Value("incident_summary", "json"))),
                       service_id=Json(Present(service, Value("service_id", "json"),
                                               _incident("service.id", incident_id, True, "json")))),
    }
    fields = _fields("type", "id", "created_at", "summary", "note", "event_details.description", "incident.id",
                     "incident.type", "incident.html_url", "agent.type", "agent.email", "agent.html_url", "agent.self",
                     "agent.id", "agent.summary", "agent.name", "channel.summary", "service", "service.summary",
                     "user.summary", "user.name", "user.email", "assignees", "incident", "agent", "channel",
                     "event_details",
                     json_=("channel.type", "incident.summary", "service.id",
                            *(f"incident.{p}" for p in _INCIDENT if p != "html_url")))
    return Rule(streams=("log_entries",), fields=fields, draft=draft,
                checks=(Check(Value("type"), "type", "missing"),
                        Check(incident_id, "incident.id", "log entry names no incident"),
                        Check(Value("created_at"), "created_at", "missing"), Check(Value("id"), "id", "missing")))


def _type_if(name: str, otherwise=Const(None)):
    """The field's JSON type when it holds a true value, else `otherwise`."""
    return Present(Value(name, "truthy"), Value(name, "type"), otherwise)


def _alerts() -> Rule:
    incident_id = Or((Value("incident_id", "truthy"), Parent()))
    key = Value("alert_key", "json")
    title = Or((Value("summary", "truthy"), Value("body_details_summary", "truthy")))
    title_type = _type_if("summary", _type_if("body_details_summary"))
    found_in = Or((call("refuse_unsearchable", title, title_type), title))
    service = Value("service", "truthy")
    draft = {
        "kind": Const("alert.triggered"), "ts_raw": Value("created_at"),
        "actor": Or((Value("integration_summary", "truthy"), Const("PagerDuty"))), "actor_type": Const("system"),
        "title": Or((title, call("pd_alert_title", key, Value("id", "json")))), "body": Const(""),
        "severity": call("pd_severity", call("to_sev", Value("severity")), _incident("urgency", incident_id, False)),
        "service": Present(service, Value("service_summary"), _incident("service.summary", incident_id, False)),
        "refs": call("pd_alert_refs", incident_id, key, found_in, Value("id", "json")),
        "url": Value("html_url"),
        "native_id": call("concat", Const("alert/"), Value("id")),
        "attrs": attrs(alert_key=Json(key), status=Json(Value("status", "json")),
                       suppressed=Json(Value("suppressed", "json")),
                       service_id=Json(Present(service, Value("service_id", "json"),
                                               _incident("service.id", incident_id, False, "json")))),
    }
    fields = _fields("id", "created_at", "summary", "body.details.summary", "incident.id", "integration.summary",
                     "severity", "service", "service.summary", "html_url",
                     json_=("alert_key", "status", "suppressed", "service.id"))
    return Rule(streams=("alerts",), fields=fields, draft=draft,
                checks=(Check(Value("created_at"), "created_at", "missing"), Check(Value("id"), "id", "missing")))


# ------------------------------------------------------------------ transforms
def _object(value: Any) -> TMapping[str, Any]:
    return value if isinstance(value, TMapping) else {}


def _lookup(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = _object(value).get(part)
    return value


def incident_value(ctx: Context, incident_id: str | None, path: str, embedded_type: str | None,
                   embedded_json: str | None) -> Any:
    """The fetched incident's value, else (an entry embedding the whole incident) the embedded one."""
    fetched = _object(ctx.entity("incidents", incident_id))
    if fetched:
        return _lookup(fetched, path)
    return json.loads(embedded_json) if embedded_type == "incident" and embedded_json is not None else None


def is_person(agent: TMapping[str, Any], service_id: Any = None) -> bool:
    """Whether a log entry's agent is a person. Its `type` says so when it has one
    (user_reference, or user for a full user object); an agent without one (older accounts,
    other tools' recordings) is a person when it has an e-mail or a link to /users/, and
    otherwise when it carries a name and neither a link to /services/ or /integrations/
    nor the entry's service id marks it as a service."""
    kind = agent.get("type")
    if kind:
        return kind in _HUMAN_AGENTS
    if agent.get("email"):
        return True
    links = f"{agent.get('html_url') or ''} {agent.get('self') or ''}"
    if "/users/" in links:
        return True
    if "/services/" in links or "/integrations/" in links:
        return False
    agent_id = agent.get("id")
    return bool(agent.get("summary") or agent.get("name")) and not (agent_id and agent_id == service_id)


def _person(kind, email, html_url, self_url, agent_id, summary, name, service_id) -> str | None:
    agent = {"type": kind, "email": email, "html_url": html_url, "self": self_url, "id": agent_id,
             "summary": summary, "name": name}
    return "human" if is_person(agent, service_id) else None


def _names(assignees: Any) -> str | None:
    names = [render(a.get("summary") or a.get("name") or a.get("email"), "truthy")
             for a in assignees if isinstance(a, TMapping)] if isinstance(assignees, list) else []
    return ", ".join(n for n in names if n) or None


def _key_refs(value: Any, prefix: str = DEDUP) -> list[str]:
    """An incident_key / alert_key (the Events API's dedup_key) as a ref."""
    return [prefix + value] if isinstance(value, str) and value else []


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _alert_refs(ctx: Context, incident_id: str | None, key_json: str | None, title: str | None,
                id_json: str | None) -> list[str]:
    key = _loads(key_json)
    return (([f"pagerduty:{incident_id}"] if incident_id else []) + ([f"alert:{key}"] if key else [])
            + ctx.refs.find(title) + _key_refs(_loads(id_json), "pagerduty:") + _key_refs(key))


def _check_objects(*triples):
    for i in range(0, len(triples), 3):
        name, kind, truthy = triples[i:i + 3]
        if kind not in (None, "object", "null") and truthy is not None:
            raise TypeError(f"{name} is a {kind}, not an object")
    return None


def _objects_exact(_ctx, *args) -> str:
    return " AND ".join(f"(coalesce({kind} IN ('object', 'null'), true) OR {truthy} IS NULL)"
                        for _name, kind, truthy in zip(args[::3], args[1::3], args[2::3])) or "true"


TRANSFORMS.update({
    "pd_objects": Transform(_check_objects, sql=lambda _c, *_a: "NULL::VARCHAR", exact=_objects_exact),
    "pd_incident_text": Transform(lambda *a: render(incident_value(*a), "text"), with_ctx=True, distinct=True),
    "pd_incident_json": Transform(lambda *a: encode_json(incident_value(*a)), with_ctx=True, distinct=True),
    "pd_incident_key": Transform(lambda *a: "".join(_key_refs(incident_value(*a))) or None, with_ctx=True,
                                 distinct=True),
    "pd_action": Transform(lambda t: None if t is None else t.removesuffix("_log_entry"), distinct=True),
    "pd_kind": Transform(lambda action: KINDS.get(action, f"alert.{action}"), distinct=True),
    "pd_person": Transform(_person, distinct=True),
    "pd_names": Transform(_names, sql=lambda _c, _a: "NULL::VARCHAR", exact=lambda _c, a: f"{a} IS NULL"),
    "pd_severity": Transform(lambda sev, urgency: to_sev(sev) or {"high": "SEV2", "low": "SEV3"}.get(urgency or ""),
                             distinct=True),
    "pd_refs": Transform(lambda ctx, incident_id, body, title, key: [f"pagerduty:{incident_id}"]
                         + ctx.refs.find(body, title) + ([key] if key else []), returns="VARCHAR[]", with_ctx=True,
                         post=unique_sql("{col}")),
    "pd_alert_refs": Transform(_alert_refs, returns="VARCHAR[]", with_ctx=True, post=unique_sql("{col}")),
    "pd_alert_title": Transform(lambda key, alert_id: f"Alert {_loads(key) or _loads(alert_id)}"),
    "json_or": Transform(lambda a, b: encode_json(_loads(a) or _loads(b)), distinct=True),
})
