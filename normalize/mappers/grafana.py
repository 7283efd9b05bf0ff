"""Grafana alert state history -> alert.* events, one per state transition.

Alerting is a trigger; leaving Alerting (to Normal) is a resolution; the rest (Pending,
NoData, Error, Recovering) are kept as alert.state with the transition in the title.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..mapping import Context, Mapper, RecordError, require
from ..severity import to_sev


def _state(value: Any) -> str:
    """"Alerting (NoData)" -> "Alerting": Grafana appends the reason in brackets."""
    return str(value or "").split(" (")[0].strip()


def transition_kind(previous: str, current: str) -> str:
    if current == "Alerting":
        return "alert.triggered"
    if current == "Normal" and previous in ("Alerting", "Recovering"):
        return "alert.resolved"
    return "alert.state"


class GrafanaMapper(Mapper):
    source_type = "grafana"
    time_format = "epoch_ms"
    time_fields = {"history": ("time",)}

    def map(self, stream: str, payload: Mapping[str, Any], parent_id: str | None,
            ctx: Context) -> Iterable[dict]:
        if stream != "history":
            return super().map(stream, payload, parent_id, ctx)
        line = payload.get("line")
        if not isinstance(line, dict):
            raise RecordError("line", "history row without its state line")
        previous, current = _state(line.get("previous")), _state(require(line, "current"))
        labels = line.get("labels") if isinstance(line.get("labels"), dict) else {}
        title = line.get("ruleTitle") or labels.get("alertname") or "Grafana alert"
        fingerprint = line.get("fingerprint")
        error = str(line.get("error") or "")
        rule_uid = line.get("ruleUID")
        # the rule's own ref last: what a pasted rule link (/alerting/grafana/<uid>/view) names
        refs = ([f"alert:{fingerprint}"] if fingerprint else []) + ctx.refs.find(error) + (
            [f"grafana:{rule_uid}"] if isinstance(rule_uid, str) and rule_uid else [])
        time_ms = require(payload, "time")
        return [{
            "kind": transition_kind(previous, current), "ts_raw": str(time_ms),
            "actor": "Grafana", "actor_type": "system", "subject": None,
            "title": f"{title}: {previous or '?'} → {line.get('current')}", "body": error,
            "severity": to_sev(labels.get("severity")),
            "service": labels.get("service") or labels.get("job"), "refs": refs, "url": None,
            "native_id": f"{line.get('ruleUID')}/{fingerprint}/{time_ms}/{line.get('current')}",
            "attrs": {"rule_uid": line.get("ruleUID"), "previous": line.get("previous"),
                      "current": line.get("current"), "labels": labels, "values": line.get("values")},
        }]
