"""PagerDuty log entries -> alert.* events; incidents are context (title, priority, url)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from contract.links import DEDUP

from ..mapping import Context, Mapper, RecordError, require
from ..severity import to_sev

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


class PagerDutyMapper(Mapper):
    source_type = "pagerduty"
    time_format = "iso8601"
    entity_streams = ("incidents",)
    time_fields = {"log_entries": ("created_at",), "alerts": ("created_at",)}

    def map(self, stream: str, payload: Mapping[str, Any], parent_id: str | None,
            ctx: Context) -> Iterable[dict]:
        if stream == "alerts":
            return [self._alert(payload, parent_id, ctx)]
        if stream != "log_entries":
            return super().map(stream, payload, parent_id, ctx)
        entry_type = str(require(payload, "type"))
        incident_ref = payload.get("incident") or {}
        incident_id = incident_ref.get("id") or parent_id
        if not incident_id:
            raise RecordError("incident.id", "log entry names no incident")
        # include[]=incidents embeds the whole incident: context even when it was
        # created before the window and so is not among the fetched incidents.
        incident = ctx.entity("incidents", incident_id) or (
            incident_ref if incident_ref.get("type") == "incident" else {})
        agent = payload.get("agent") or {}
        channel = payload.get("channel") or {}
        human = is_person(agent, (payload.get("service") or {}).get("id"))
        action = entry_type.removesuffix("_log_entry")
        subject = _subject(payload)
        title = payload.get("summary") or action
        if action == "annotate":
            body = payload.get("note") or channel.get("summary") or ""
            title = f"Note: {body}" if body else title
        else:   # a resolve (or any) entry's note is what the person wrote: the text
            body = payload.get("note") or (payload.get("event_details") or {}).get("description") or ""
        priority = (incident.get("priority") or {}).get("summary") if incident else None
        service_ref = payload.get("service") or incident.get("service") or {}
        service = service_ref.get("summary")
        return [{
            "kind": KINDS.get(action, f"alert.{action}"),
            "ts_raw": require(payload, "created_at"),
            "actor": _name(agent) or ("PagerDuty" if not human else None),
            "actor_type": "human" if human else "system",
            "actor_id": (agent.get("id") or agent.get("email") or None) if human else None,
            "subject": subject,
            "title": title,
            "body": body or "",
            "severity": to_sev(priority) or _urgency_sev(incident.get("urgency")),
            "service": service,
            "refs": [f"pagerduty:{incident_id}"] + ctx.refs.find(body, title) + _key_refs(incident.get("incident_key")),
            "url": incident_ref.get("html_url") or incident.get("html_url"),
            "native_id": require(payload, "id"),
            "attrs": {"channel": channel.get("type"), "incident_number": incident.get("incident_number"),
                      "incident_title": incident.get("title") or incident_ref.get("summary"),
                      "service_id": service_ref.get("id")},   # `services:` may name a service by its id
        }]

    def _alert(self, alert: Mapping[str, Any], parent_id: str | None, ctx: Context) -> dict:
        """An alert is its trigger; PagerDuty gives no time for an alert's resolution, so
        resolutions come from the incident's log entries only."""
        incident_id = (alert.get("incident") or {}).get("id") or parent_id
        incident = (ctx.entity("incidents", incident_id) or {}) if incident_id else {}
        key = alert.get("alert_key")
        details = (alert.get("body") or {}).get("details")
        title = alert.get("summary") or (details.get("summary") if isinstance(details, dict) else None)
        refs = ([f"pagerduty:{incident_id}"] if incident_id else []) + ([f"alert:{key}"] if key else [])
        return {
            "kind": "alert.triggered", "ts_raw": require(alert, "created_at"),
            "actor": (alert.get("integration") or {}).get("summary") or "PagerDuty",
            "actor_type": "system", "actor_id": None, "subject": None,
            "title": title or f"Alert {key or alert.get('id')}", "body": "",
            "severity": to_sev(alert.get("severity")) or _urgency_sev(incident.get("urgency")),
            "service": (service_ref := alert.get("service") or incident.get("service") or {}).get("summary"),
            # the alert's own id (what an alert link names) and its dedup key
            "refs": refs + ctx.refs.find(title) + _key_refs(alert.get("id"), "pagerduty:") + _key_refs(key),
            "url": alert.get("html_url"),
            "native_id": f"alert/{require(alert, 'id')}",
            "attrs": {"alert_key": key, "status": alert.get("status"), "suppressed": alert.get("suppressed"),
                      "service_id": service_ref.get("id")},
        }


def _key_refs(value: Any, prefix: str = DEDUP) -> list[str]:
    """An incident_key / alert_key (the Events API's dedup_key) as a ref."""
    return [prefix + value] if isinstance(value, str) and value else []
def is_person(agent: Mapping[str, Any], service_id: Any = None) -> bool:
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


def _name(ref: Mapping[str, Any]) -> Any:
    """A reference's summary, else an older full object's name, else its e-mail."""
    return ref.get("summary") or ref.get("name") or ref.get("email")


def _subject(payload: Mapping[str, Any]) -> str | None:
    user = payload.get("user")
    if isinstance(user, dict) and _name(user):
        return _name(user)
    names = [_name(a) for a in payload.get("assignees") or [] if isinstance(a, dict)]
    return ", ".join(n for n in names if n) or None


def _urgency_sev(urgency: str | None) -> str | None:
    return {"high": "SEV2", "low": "SEV3"}.get(urgency or "")
