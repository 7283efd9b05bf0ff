"""Opsgenie alerts, activity logs and notes -> alert.* events.

The alert itself gives alert.triggered (createdAt), and a closed one also an alert.resolved
derived from `report.closeTime` (see _derived_close). Its activity log gives what people and
the system did next; the log's wording is the only hint of the action, so it is matched
against a small ordered table. The log's own "alert created" and "note added" lines are
skipped: the alert record and the notes endpoint already stand for them.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from contract.links import DEDUP

from ..mapping import Context, Mapper, RecordError, require
from ..severity import to_sev
from ..text import first_line

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


def log_kind(text: str, log_type: str | None) -> str | None:
    for pattern, kind in LOG_KINDS:
        if pattern.search(text):
            return kind
    return "alert.notified" if log_type == "alertRecipient" else "alert.updated"


def _detail_service(details: Any) -> str | None:
    """`details.service` (Alertmanager's Opsgenie notifier copies the common labels there)."""
    value = details.get("service") if isinstance(details, dict) else None
    return value if isinstance(value, str) and value else None


def _tag_service(tags: list[str]) -> str | None:
    """The first `service:NAME` or `service=NAME` tag."""
    for tag in tags:
        if tag[:8] in ("service:", "service=") and len(tag) > 8:
            return tag[8:]
    return None


def alert_teams(alert: Mapping[str, Any]) -> list[str]:
    """The teams an alert is routed to: `responders` of type team (the REST API: their id, a name
    where given) and `teams` (webhook payloads: names; some API shapes: `{id, name}`), as names where
    known. The config's `services:` may name a service by them."""
    names: set[str] = set()
    for field, only_teams in (("responders", True), ("teams", False)):
        items = alert.get(field)
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


def _actor(owner: str | None) -> tuple[str, str]:
    if owner and "@" in owner:
        return owner, "human"
    return owner or "Opsgenie", "system"


class OpsgenieMapper(Mapper):
    source_type = "opsgenie"
    time_format = "iso8601"
    time_fields = {"alerts": ("createdAt",), "logs": ("createdAt",), "notes": ("createdAt",)}
    knows_emails = True

    def map(self, stream: str, payload: Mapping[str, Any], parent_id: str | None,
            ctx: Context) -> Iterable[dict]:
        if stream == "alerts":
            triggered = self._triggered(payload, ctx)
            closed = _derived_close(payload, triggered)
            return [triggered] + ([closed] if closed else [])
        if stream in ("logs", "notes"):
            if not parent_id:
                raise RecordError("parent_id", f"{stream} entry without its alert id")
            return self._activity(stream, payload, parent_id, ctx)
        return super().map(stream, payload, parent_id, ctx)

    def _triggered(self, alert: Mapping[str, Any], ctx: Context) -> dict:
        alert_id = str(require(alert, "id"))
        message = str(alert.get("message") or "")
        description = str(alert.get("description") or "")
        tags = [str(t) for t in alert.get("tags") or []]
        alias = alert.get("alias")
        return {
            "kind": "alert.triggered", "ts_raw": require(alert, "createdAt"),
            "actor": alert.get("source") or "Opsgenie", "actor_type": "system",
            "subject": alert.get("owner") or None,
            "title": message or f"Opsgenie alert {alert.get('tinyId') or alert_id}",
            "body": description, "severity": to_sev(alert.get("priority")),
            "service": alert.get("entity") or _detail_service(alert.get("details")) or _tag_service(tags),
            # the alias is the key the sender deduplicates by (Alertmanager: its group key's hash)
            "refs": [f"opsgenie:{alert_id}"] + ctx.refs.find(message, description)
            + ([DEDUP + alias] if isinstance(alias, str) and alias else []),
            "url": None, "native_id": alert_id,
            # the incident an alert stands for is titled with its message (correlate reads it)
            "attrs": {"incident_title": message or None,
                      "tiny_id": alert.get("tinyId"), "alias": alert.get("alias"), "status": alert.get("status"),
                      "priority": alert.get("priority"), "count": alert.get("count"), "tags": tags,
                      "teams": alert_teams(alert), "last_occurred_at": alert.get("lastOccurredAt")},
        }

    def _activity(self, stream: str, item: Mapping[str, Any], alert_id: str, ctx: Context) -> list[dict]:
        text = str(item.get("note") if stream == "notes" else item.get("log") or "")
        if stream == "notes":
            kind = "alert.annotated"
        else:
            kind = log_kind(text, item.get("type"))
            if kind is None:
                return []
        actor, actor_type = _actor(item.get("owner"))
        subject = None
        if kind == "alert.notified":   # the owner of a notification log is its recipient
            subject, actor, actor_type = item.get("owner"), "Opsgenie", "system"
        title = f"Note: {first_line(text, 100)}" if kind == "alert.annotated" else first_line(text, 120)
        return [{
            "kind": kind, "ts_raw": require(item, "createdAt"),
            "actor": actor, "actor_type": actor_type, "actor_id": item.get("owner") if actor_type == "human" else None,
            "subject": subject, "title": title or kind, "body": text, "severity": None, "service": None,
            "refs": [f"opsgenie:{alert_id}"] + ctx.refs.find(text), "url": None,
            "native_id": f"{alert_id}/{stream}/{item.get('offset') or item.get('createdAt')}",
            "attrs": {"log_type": item.get("type"), "alert_id": alert_id},
        }]


DERIVED_CLOSE = "createdAt + report.closeTime"


def _derived_close(alert: Mapping[str, Any], triggered: dict) -> dict | None:
    """A closed alert's resolution, from `report.closeTime` (milliseconds from createdAt),
    for when its log holds no close line (an alert closed by a policy, a log not fetched,
    a recording without logs). `attrs.derived_from` says it was derived; correlate keeps it
    only when the same alert has no resolution from its log."""
    report = alert.get("report")
    close_ms = report.get("closeTime") if isinstance(report, dict) else None
    if alert.get("status") != "closed" or isinstance(close_ms, bool) or not isinstance(close_ms, (int, float)):
        return None
    try:
        created = datetime.fromisoformat(str(alert.get("createdAt")))
        closed = created + timedelta(milliseconds=close_ms)
    except (ValueError, OverflowError):
        return None   # the trigger's own time is rejected with its reason
    if created.tzinfo is None or close_ms < 0:
        return None
    closed_by = report.get("closedBy") if isinstance(report.get("closedBy"), str) else None
    actor, actor_type = _actor(closed_by)
    return {
        **triggered, "kind": "alert.resolved",
        "ts_raw": closed.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "actor": actor, "actor_type": actor_type, "actor_id": closed_by if actor_type == "human" else None,
        "subject": None, "title": f"Closed: {triggered['title']} (time from report.closeTime)", "body": "", "severity": None,
        "refs": triggered["refs"][:1], "native_id": f"{triggered['native_id']}/closed",
        "attrs": {"alert_id": triggered["native_id"], "derived_from": DERIVED_CLOSE, "close_time_ms": close_ms},
    }
