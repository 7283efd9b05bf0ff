"""Opsgenie alerts, activity logs and notes -> alert.* events.

The alert itself gives alert.triggered (createdAt), and a closed one also an alert.resolved
derived from `report.closeTime` (see derived_close). Its activity log gives what people and
the system did next; the log's wording is the only hint of the action, so it is matched
against a small ordered table. The log's own "alert created" and "note added" lines are
skipped: the alert record and the notes endpoint already stand for them.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from incident_timeline.contract.links import DEDUP

from ..sql import unique_sql
from ..mapping import SourceSpec
from ..transforms import TRANSFORMS, Transform, of_type, encode_json
from . import Check, Const, Field, Json, Mapping, Or, Parent, Present, Rule, Time, Value, attrs, call

# first match wins: "unacknowledged" must be tried before "acknowledged"
LOG_KINDS = (
    (re.compile(r"\bcreated\b|\bcreate alert", re.I), None),
    (re.compile(r"\bnote\b", re.I), None),
    (re.compile(r"unacknowledg", re.I), "alert.unacknowledged"),
    (re.compile(r"acknowledg", re.I), "alert.acknowledged"),
    (re.compile(r"\bclosed?\b|\bresolved\b", re.I), "alert.resolved"),
    (re.compile(r"escalat", re.I), "alert.escalated"),
    (re.compile(r"\bsnoozed?\b", re.I), "alert.snoozed"),
    (re.compile(r"\bassigned\b|\bownership\b|\btook ownership\b", re.I), "alert.assigned"),
    (re.compile(r"\bviewed\b|\bseen\b", re.I), "alert.viewed"),
    (re.compile(r"\bnotif|\bsent\b|\bcalled\b|\bemail(ed)?\b", re.I), "alert.notified"),
)
DERIVED_CLOSE = "createdAt + report.closeTime"


def opsgenie_mapping(spec: SourceSpec) -> Mapping:
    return Mapping(source_type="opsgenie", time=Time(field="createdAt"), knows_emails=True,
                   rules=(_alert(closed=False), _alert(closed=True), _activity("logs"), _activity("notes")))


def _fields(*columns: str) -> tuple[Field, ...]:
    return tuple(Field(c.replace(".", "_"), c, required=False) for c in columns)


def _alert(closed: bool) -> Rule:
    """The alert's trigger, or (`closed`) its resolution derived from report.closeTime."""
    alert_id, message = Value("id"), Or((Value("message", "truthy"), Const("")))
    description = Or((Value("description", "truthy"), Const("")))
    tags = Value("tags", "object")
    title = Or((message, call("concat", Const("Opsgenie alert "), Or((Value("tinyId", "truthy"), alert_id)))))
    service = Or((Value("entity", "truthy"), call("nonempty_string", Value("details_service", "json")),
                  call("og_tag_service", tags), Const(None)))
    fields = _fields("id", "message", "description", "tags", "tinyId", "entity", "details.service", "createdAt",
                     "source", "owner", "priority", "alias", "status", "count", "lastOccurredAt", "responders",
                     "teams", "report.closeTime", "report.closedBy")
    checks = (Check(alert_id, "id", "missing"), Check(Value("createdAt"), "createdAt", "missing"))
    if not closed:
        draft = {
            "kind": Const("alert.triggered"), "ts_raw": Value("createdAt"),
            "actor": Or((Value("source", "truthy"), Const("Opsgenie"))), "actor_type": Const("system"),
            "subject": Or((Value("owner", "truthy"), Const(None))), "title": title, "body": description,
            "severity": call("to_sev", Value("priority")), "service": service,
            # the alias is the key the sender deduplicates by (Alertmanager: its group key's hash)
            "refs": call("og_refs", alert_id, message, description, Value("alias", "json")),
            "native_id": alert_id,
            # the incident an alert stands for is titled with its message (correlate reads it)
            "attrs": attrs(incident_title=Or((Value("message", "truthy"), Const(None))),
                           **{k: Json(Value(c, "json")) for k, c in (
                               ("tiny_id", "tinyId"), ("alias", "alias"), ("status", "status"),
                               ("priority", "priority"), ("count", "count"), ("last_occurred_at", "lastOccurredAt"))},
                           tags=Json(call("og_tags_json", tags)),
                           teams=Json(call("og_teams_json", Value("responders", "object"), Value("teams", "object")))),
        }
        return Rule(streams=("alerts",), fields=fields, checks=checks, draft=draft, time_field="createdAt")
    closed_at = call("og_closed_at", Value("status"), Value("createdAt"), Value("report_closeTime", "json"))
    closed_by = call("nonempty_string", Value("report_closedBy", "json"))
    human = call("og_human", Const(""), closed_by)
    draft = {
        "kind": Const("alert.resolved"), "ts_raw": closed_at,
        "actor": Or((closed_by, Const("Opsgenie"))), "actor_type": Present(human, Const("human"), Const("system")),
        "actor_id": Present(human, closed_by, Const(None)),
        "title": call("concat", Const("Closed: "), title, Const(" (time from report.closeTime)")),
        "body": Const(""), "service": service,
        "refs": call("as_list", call("concat", Const("opsgenie:"), alert_id)),
        "native_id": call("concat", alert_id, Const("/closed")),
        "attrs": attrs(alert_id=alert_id, derived_from=Const(DERIVED_CLOSE),
                       close_time_ms=Json(Value("report_closeTime", "json"))),
    }
    # the oracle reads the alert's own fields first: a record both rules reject is rejected alike
    return Rule(streams=("alerts",), fields=fields, checks=checks, draft=draft, keep=closed_at)


def _activity(stream: str) -> Rule:
    alert_id, owner = Parent(), Value("owner", "truthy")
    if stream == "notes":
        text, kind = call("str_or_none", Value("note")), Const("alert.annotated")
        title = call("concat", Const("Note: "), call("first_line", text, Const(100)))
    else:
        text = Or((Value("log", "truthy"), Const("")))
        kind = call("og_log_kind", text, Value("type"))
        title = Or((call("first_line", text, Const(120)), kind))
    human = call("og_owner_human", kind, owner, Value("owner", "type"), Value("owner", "json"))
    draft = {
        "kind": kind, "ts_raw": Value("createdAt"),
        # the owner of a notification log is its recipient
        "actor": Or((Present(call("if_equal", kind, Const("alert.notified"), kind), Const(None), owner),
                     Const("Opsgenie"))),
        "actor_type": Present(human, Const("human"), Const("system")),
        "actor_id": Present(human, Value("owner"), Const(None)),
        "subject": call("if_equal", kind, Const("alert.notified"), Value("owner")),
        "title": title, "body": text,
        "refs": call("own_and_found_refs", call("concat", Const("opsgenie:"), alert_id), text),
        "native_id": call("concat", alert_id, Const(f"/{stream}/"),
                          Or((Value("offset", "truthy"), Value("createdAt")))),
        "attrs": attrs(log_type=Json(Value("type", "json")), alert_id=alert_id),
    }
    return Rule(streams=(stream,), fields=_fields("log", "note", "type", "owner", "offset", "createdAt"), draft=draft,
                keep=kind if stream == "logs" else None,
                checks=(Check(alert_id, "parent_id", f"{stream} entry without its alert id"),
                        # a log line that stands for no event needs no time
                        Check(Present(kind, Value("createdAt"), Const("-")), "createdAt", "missing")))


# ------------------------------------------------------------------ transforms
def log_kind(text: str, log_type: str | None) -> str | None:
    for pattern, kind in LOG_KINDS:
        if pattern.search(text):
            return kind
    return "alert.notified" if log_type == "alertRecipient" else "alert.updated"


def _tags(value: Any) -> list[str]:
    return [str(t) for t in value or []]


def _tag_service(tags: Any) -> str | None:
    """The first `service:NAME` or `service=NAME` tag."""
    for tag in _tags(tags):
        if tag[:8] in ("service:", "service=") and len(tag) > 8:
            return tag[8:]
    return None


def alert_teams(responders: Any, teams: Any) -> list[str]:
    """The teams an alert is routed to: `responders` of type team (the REST API: their id, a name
    where given) and `teams` (webhook payloads: names; some API shapes: `{id, name}`), as names where
    known. The config's `services:` may name a service by them."""
    names: set[str] = set()
    for items, only_teams in ((responders, True), (teams, False)):
        for item in items if isinstance(items, list) else ():
            if isinstance(item, str):
                if item and not only_teams:
                    names.add(item)
                continue
            if not isinstance(item, dict) or only_teams and item.get("type") != "team":
                continue
            name, team_id = item.get("name"), item.get("id")
            if isinstance(name, str) and name:
                names.add(name)
            elif isinstance(team_id, str) and team_id:
                names.add(team_id)
    return sorted(names)


def _refs(ctx, alert_id: str | None, message: str, description: str, alias_json: str | None) -> list[str]:
    alias = None if alias_json is None else json.loads(alias_json)
    return ([f"opsgenie:{alert_id}"] + ctx.refs.find(message, description)
            + ([DEDUP + alias] if isinstance(alias, str) and alias else []))


def derived_close(status: str | None, created_at: str | None, close_json: str | None) -> str | None:
    """A closed alert's resolution time, from `report.closeTime` (milliseconds from createdAt),
    for when its log holds no close line (an alert closed by a policy, a log not fetched, a
    recording without logs). `attrs.derived_from` says it was derived; correlate keeps it only
    when the same alert has no resolution from its log."""
    close_ms = None if close_json is None else json.loads(close_json)
    if status != "closed" or isinstance(close_ms, bool) or not isinstance(close_ms, (int, float)):
        return None
    try:
        created = datetime.fromisoformat(str(created_at))
        closed = created + timedelta(milliseconds=close_ms)
    except (ValueError, OverflowError):
        return None   # the trigger's own time is rejected with its reason
    if created.tzinfo is None or close_ms < 0:
        return None
    return closed.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _nonempty_string(value_json: str | None) -> str | None:
    value = None if value_json is None else json.loads(value_json)
    return value if isinstance(value, str) and value else None


def _owner_human(kind: str | None, owner: str | None, owner_type: str | None, owner_json: str | None) -> str | None:
    if kind is None:   # a log line that gives no event: its owner was never read
        return None
    value = json.loads(owner_json) if owner_type in ("array", "object") else \
        None if owner is None else of_type(owner, owner_type)
    human = bool(value) and "@" in value
    return "human" if human and kind != "alert.notified" else None


def _human_sql(_ctx, kind: str, owner: str) -> str:
    return f"CASE WHEN {kind} IS DISTINCT FROM 'alert.notified' AND contains({owner}, '@') THEN 'human' END"


TRANSFORMS.update({
    "og_log_kind": Transform(log_kind),
    "og_tag_service": Transform(_tag_service, sql=lambda _c, _t: "NULL::VARCHAR", exact=lambda _c, t: f"{t} IS NULL"),
    "og_tags_json": Transform(lambda tags: encode_json(_tags(tags)), sql=lambda _c, _t: "'[]'",
                              exact=lambda _c, t: f"{t} IS NULL"),
    "og_teams_json": Transform(lambda r, t: encode_json(alert_teams(r, t)), sql=lambda _c, _r, _t: "'[]'",
                               exact=lambda _c, r, t: f"{r} IS NULL AND {t} IS NULL"),
    "og_refs": Transform(_refs, returns="VARCHAR[]", with_ctx=True, post=unique_sql("{col}")),
    "og_closed_at": Transform(derived_close, sql=lambda *_a: "NULL::VARCHAR",
                              exact=lambda _c, status, *_a: f"{status} IS DISTINCT FROM 'closed'"),
    # an owner with an e-mail is a person (not the recipient of a notification log)
    "og_human": Transform(lambda kind, owner: None if kind == "alert.notified" or not owner or "@" not in owner
                          else "human", exact=lambda *_a: "true", sql=lambda c, k, o: _human_sql(c, k, o)),
    "nonempty_string": Transform(_nonempty_string, distinct=True),
    # an owner that is not a string: "@" in it as the mapper asked (a number fails, as it did)
    "og_owner_human": Transform(_owner_human, sql=lambda c, k, o, _y, _j: _human_sql(c, k, o),
                                exact=lambda _c, _k, _o, y, _j: f"coalesce({y}, 'null') IN ('string', 'null')"),
})
