"""Datadog events (Events API v2) -> alert.* for monitor alerts, note.event for the rest.

An event is `{id, type, attributes: {timestamp, message, tags, attributes: {...}}}`; the
inner attributes of a monitor alert carry monitor_id, monitor_groups, title
(`[P2] [Triggered on {host:web-1}] CPU high`), status (error, warning, success, ...),
priority and `monitor: {id, name, transition: {transition_type, destination_state},
result: {alert_url}}`. The alert's state is read from the first of these that names one:
the transition's type, its destination state, the title's `[Triggered]`-style prefix,
then the status. Triggered and warn (and their repeats, renotify) are `alert.triggered`,
recovered is `alert.resolved`, no data and anything else of a monitor `alert.state`.

One alert is its monitor and group: `alert:datadog/<monitor id>[/<groups>]`, the first ref
of its triggers and its recovery alike. Severity is the monitor's priority (`[P1]` in the
title, or `monitor.priority`), else the state's (triggered SEV2, warn SEV3); an event's own
`priority` (normal, low) is not a severity and is kept in attrs.
"""
from __future__ import annotations

import json
import re
from typing import Any

from ..severity import to_sev
from ..mapping import SourceSpec
from ..transforms import TRANSFORMS, Transform
from . import Check, Const, Field, Json, Mapping, Or, Rule, Time, Value, attrs, call

INNER = "attributes.attributes."
FIELDS = ("id", "attributes.timestamp", "attributes.message", "attributes.tags",
          *(INNER + f for f in ("title", "status", "priority", "monitor_id", "monitor_groups", "service", "tags",
                                "sourcecategory", "source_type_name", "aggregation_key", "evt.type", "monitor.id",
                                "monitor.name", "monitor.priority", "monitor.tags", "monitor.transition.transition_type",
                                "monitor.transition.destination_state", "monitor.result.alert_url")))

TRIGGERED, WARN, RECOVERED, NO_DATA, RENOTIFY = "triggered", "warn", "recovered", "no_data", "renotify"
KINDS = {TRIGGERED: "alert.triggered", WARN: "alert.triggered", RENOTIFY: "alert.triggered",
         RECOVERED: "alert.resolved", NO_DATA: "alert.state"}
STATE_SEVERITY = {TRIGGERED: "SEV2", RENOTIFY: "SEV2", WARN: "SEV3"}
OTHER_EVENT = "note.event"
MONITOR_STATE = "alert.state"      # a monitor's event whose state no field names

# transition types and destination states, lower-cased; recovery is tried first
_TRANSITION_WORDS = ((re.compile(r"recover|\bok\b|resolved"), RECOVERED), (re.compile(r"no[ _-]?data"), NO_DATA),
                     (re.compile(r"renotif"), RENOTIFY), (re.compile(r"warn"), WARN),
                     (re.compile(r"alert|trigger"), TRIGGERED))
_TITLE = re.compile(r"^\s*(?:\[P([1-5])\]\s*)?\[(?:Re-)?(Triggered|Warn|Recovered|No Data|Renotify)\b", re.I)
_TITLE_STATES = {"triggered": TRIGGERED, "warn": WARN, "recovered": RECOVERED, "no data": NO_DATA,
                 "renotify": RENOTIFY}
_STATUS_STATES = {"error": TRIGGERED, "failure": TRIGGERED, "warning": WARN, "success": RECOVERED}


def datadog_mapping(spec: SourceSpec) -> Mapping:
    def v(name: str, as_: str = "text") -> Value:
        return Value(name.replace(".", "_"), as_)

    def inner(name: str, as_: str = "text") -> Value:
        return v(INNER + name, as_)

    title = Or((inner("title", "truthy"), inner("monitor.name", "truthy"), Const("Datadog event")))
    monitor_id = call("dd_monitor_id", inner("monitor_id", "json"), inner("monitor.id", "json"))
    state = call("dd_state", inner("monitor.transition.transition_type", "truthy"),
                 inner("monitor.transition.destination_state", "truthy"), inner("title", "truthy"),
                 inner("status", "truthy"))
    kind = call("dd_kind", monitor_id, state, inner("title", "truthy"), inner("sourcecategory", "truthy"),
                inner("source_type_name", "truthy"))
    message = Or((v("attributes.message", "truthy"), Const("")))
    draft = {
        "kind": kind, "ts_raw": v("attributes.timestamp"),
        "actor": Const("Datadog"), "actor_type": Const("system"),
        "title": title, "body": call("dd_body", message),
        "severity": call("dd_severity", inner("title", "truthy"), inner("monitor.priority", "json"), state),
        "service": Or((call("dd_plain", inner("service", "json")),
                       call("dd_tag_service", v("attributes.tags", "object"), inner("tags", "object"),
                            inner("monitor.tags", "object")), Const(None))),
        "refs": call("dd_refs", monitor_id, inner("monitor_groups", "object"), title, message),
        "url": call("dd_plain", inner("monitor.result.alert_url", "json")),
        "native_id": Value("id"),
        "attrs": attrs(monitor_id=monitor_id, monitor_name=Json(inner("monitor.name", "json")),
                       monitor_groups=Json(inner("monitor_groups", "json")), state=state,
                       status=Json(inner("status", "json")), priority=Json(inner("priority", "json")),
                       tags=Json(v("attributes.tags", "json")), aggregation_key=Json(inner("aggregation_key", "json")),
                       event_source=Json(inner("source_type_name", "json")), event_type=Json(inner("evt.type", "json")),
                       # the incident an alert stands for is titled with its monitor's name (correlate reads it)
                       incident_title=Or((inner("monitor.name", "truthy"), Const(None)))),
    }
    fields = tuple(Field(c.replace(".", "_"), c, required=False) for c in FIELDS)
    checks = (Check(Value("id"), "id", "missing"), Check(v("attributes.timestamp"), "attributes.timestamp", "missing"))
    return Mapping(source_type="datadog", time=Time(field="attributes.timestamp"),
                   rules=(Rule(streams=("events",), fields=fields, checks=checks, draft=draft),))


# ------------------------------------------------------------------ transforms
def monitor_id(*values_json: str | None) -> str | None:
    """The monitor's id: the first that is a whole number (or its digits as a string)."""
    for text in values_json:
        value = None if text is None else json.loads(text)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return str(value)
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 30:
            return value
    return None


def alert_state(transition_type: str | None, destination: str | None, title: str | None,
                status: str | None) -> str | None:
    for text in (transition_type, destination):
        for pattern, state in _TRANSITION_WORDS:
            if text and pattern.search(text.lower()):
                return state
    m = _TITLE.match(title or "")
    if m:
        return _TITLE_STATES[m[2].lower()]
    return _STATUS_STATES.get((status or "").lower())


def event_kind(monitor: str | None, state: str | None, title: str | None, category: str | None,
               source: str | None) -> str:
    """A monitor's event (it names its monitor, Datadog files it under monitors or alerts, or
    its title reads as a transition) is an alert; anything else a note."""
    named = " ".join(t.lower() for t in (category, source) if t)
    if monitor or "monitor" in named or "alert" in named or _TITLE.match(title or ""):
        return KINDS.get(state or "", MONITOR_STATE)
    return OTHER_EVENT


def severity(title: str | None, priority_json: str | None, state: str | None) -> str | None:
    m = _TITLE.match(title or "")
    if m and m[1]:
        return to_sev(f"p{m[1]}")
    priority = None if priority_json is None else json.loads(priority_json)
    if isinstance(priority, int) and not isinstance(priority, bool) and 1 <= priority <= 5:
        return to_sev(f"p{priority}")
    return STATE_SEVERITY.get(state or "")


def _plain(value_json: str | None) -> str | None:
    """A non-empty string value, else None."""
    value = None if value_json is None else json.loads(value_json)
    return value if isinstance(value, str) and value.strip() else None


def tag_service(*tag_lists: Any) -> str | None:
    """The first `service:NAME` tag of the event's tags, its inner tags, then its monitor's."""
    for tags in tag_lists:
        for tag in tags if isinstance(tags, list) else ():
            if isinstance(tag, str) and tag.startswith("service:") and tag[8:].strip():
                return tag[8:].strip()
    return None


def body(message: str) -> str:
    """The message without the `%%%` fences Datadog wraps Markdown in."""
    text = message.strip()
    if text.startswith("%%%"):
        text = text[3:]
    if text.endswith("%%%"):
        text = text[:-3]
    return text.strip()


def _groups(value: Any) -> str:
    if not isinstance(value, list):
        return ""
    names = sorted({g for g in value if isinstance(g, str) and g and g != "*"})
    return ",".join(names)


def _refs(ctx, monitor: str | None, groups: Any, title: str, message: str) -> list[str]:
    own = []
    if monitor:
        group = _groups(groups)
        own = [f"alert:datadog/{monitor}" + (f"/{group}" if group else "")]
    return list(dict.fromkeys(own + ctx.refs.find(title, message)))


TRANSFORMS.update({
    "dd_monitor_id": Transform(monitor_id, distinct=True),
    "dd_state": Transform(alert_state, distinct=True),
    "dd_kind": Transform(event_kind, distinct=True),
    "dd_severity": Transform(severity, distinct=True),
    "dd_plain": Transform(_plain, distinct=True),
    "dd_tag_service": Transform(tag_service),
    "dd_body": Transform(body),
    "dd_refs": Transform(_refs, returns="VARCHAR[]", with_ctx=True),
})
