"""Alertmanager webhook notifications and v2 API alerts -> alert.triggered / .resolved.

One alert instance is its fingerprint plus its startsAt: every notification of it (the
first, each repeat, the resolution) maps to the same two event ids, so repeats collapse.
`endsAt: "0001-01-01T00:00:00Z"` means the alert has not ended. An alert without a
fingerprint gets the one Alertmanager computes from its labels (contract.alertmanager),
used exactly as a sent one, and `attrs.fingerprint_computed` says so.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from contract.links import DEDUP, group_key_hash
from contract.alertmanager import alert_fingerprint

from ..mapping import Context, Mapper, RecordError, require
from ..severity import to_sev

NOT_ENDED_PREFIX = "0001-"


class AlertmanagerMapper(Mapper):
    source_type = "alertmanager"
    time_format = "iso8601"

    def time_field(self, stream: str, kind: str, payload: Any, ctx: Context) -> str:
        name = "endsAt" if kind == "alert.resolved" else "startsAt"
        return f"alert.{name}" if stream == "notifications" else name

    def map(self, stream: str, payload: Mapping[str, Any], parent_id: str | None,
            ctx: Context) -> Iterable[dict]:
        if stream == "notifications":
            alert = payload.get("alert")
            if not isinstance(alert, dict):
                raise RecordError("alert", "notification without its alert")
            return _events(alert, payload, ctx)
        if stream == "alerts":
            return _events({**payload, "status": "firing"}, {}, ctx)
        return super().map(stream, payload, parent_id, ctx)


def _group_refs(group_key: Any) -> list[str]:
    """The key Alertmanager's Opsgenie and PagerDuty notifiers send for this group (alias,
    dedup_key): the SHA-256 of the group key the webhook carries."""
    return [DEDUP + group_key_hash(group_key)] if isinstance(group_key, str) and group_key else []


def _events(alert: Mapping[str, Any], group: Mapping[str, Any], ctx: Context) -> list[dict]:
    fingerprint, computed = alert_fingerprint(alert)
    if fingerprint is None:
        raise RecordError("fingerprint", "missing, and the alert has no labels (an object of strings) "
                                         "to compute it from")
    starts = str(require(alert, "startsAt"))
    labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
    notes = alert.get("annotations") if isinstance(alert.get("annotations"), dict) else {}
    name = labels.get("alertname") or "alert"
    summary = str(notes.get("summary") or notes.get("message") or "")
    description = str(notes.get("description") or "")
    base = {
        "actor": "Alertmanager", "actor_type": "system", "subject": group.get("receiver"),
        "body": description or summary, "severity": to_sev(labels.get("severity")),
        "service": labels.get("service") or labels.get("job"),
        "refs": [f"alert:{fingerprint}"] + ctx.refs.find(summary, description, notes.get("runbook_url"))
        + _group_refs(group.get("groupKey")),
        "url": alert.get("generatorURL") or None, "native_id": f"{fingerprint}@{starts}",
        "attrs": {"alertname": name, "labels": labels, "fingerprint": fingerprint,
                  "group_key": group.get("groupKey"), "receiver": group.get("receiver"),
                  "external_url": group.get("externalURL")},
    }
    if computed:   # said, so that a reader knows Alertmanager did not send it
        base["attrs"]["fingerprint_computed"] = True
    label = f"{name}: {summary}" if summary else name
    events = [{**base, "kind": "alert.triggered", "ts_raw": starts, "title": f"Firing: {label}"}]
    ends = str(alert.get("endsAt") or "")
    if alert.get("status") == "resolved":
        if not ends or ends.startswith(NOT_ENDED_PREFIX):
            raise RecordError("endsAt", "a resolved alert without an end time")
        events.append({**base, "kind": "alert.resolved", "ts_raw": ends, "title": f"Resolved: {label}"})
    return events
