"""ServiceNow incidents, journal entries and audit rows -> ticket.* events.

Times are naive ("2016-01-19 04:52:04"): the engine places them in the source's
`timezone:` (UTC unless the config says otherwise), so this mapper declares `naive`.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping
from urllib.parse import quote

from ..mapping import Context, Mapper, RecordError, require
from ..severity import to_sev
from ..text import first_line, servicenow_to_text

STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed", "8": "Canceled"}
AUDIT_KINDS = {"state": "ticket.status", "incident_state": "ticket.status", "assigned_to": "ticket.assigned",
               "priority": "ticket.priority"}
JOURNAL_AUDIT = ("work_notes", "comments")   # the journal already holds these


def value_of(field: Any) -> str | None:
    """A plain value, or the value of a reference field ({"link": ..., "value": ...})."""
    if isinstance(field, dict):
        field = field.get("display_value") or field.get("value")
    return None if field in (None, "") else str(field)


def _named(inc: Mapping[str, Any], field: str) -> str | None:
    """A reference field by its name: the dot-walked `<field>.name` the connector asks for,
    else its display value, else the sys_id it holds."""
    return value_of(inc.get(f"{field}.name")) or value_of(inc.get(field))


def _state(value: str | None) -> str | None:
    return STATES.get(value or "", value)


class ServiceNowMapper(Mapper):
    source_type = "servicenow"
    time_format = "naive"
    time_fields = {"incident": ("opened_at", "sys_created_on"), "sys_journal_field": ("sys_created_on",),
                   "sys_audit": ("sys_created_on",)}

    def time_field(self, stream: str, kind: str, payload: Any, ctx: Context) -> str:
        if stream == "incident" and kind == "ticket.resolved":
            return next((f for f in ("resolved_at", "closed_at") if payload.get(f)), "resolved_at")
        return super().time_field(stream, kind, payload, ctx)

    def map(self, stream: str, payload: Mapping[str, Any], parent_id: str | None,
            ctx: Context) -> Iterable[dict]:
        if stream == "incident":
            return self._incident(payload, ctx)
        if stream in ("sys_journal_field", "sys_audit"):
            if not parent_id:
                raise RecordError("element_id" if stream == "sys_journal_field" else "documentkey",
                                  "the incident it belongs to was not found")
            if stream == "sys_journal_field":
                return [self._journal(payload, parent_id, ctx)]
            return self._audit(payload, parent_id, ctx)
        return super().map(stream, payload, parent_id, ctx)

    def _url(self, ctx: Context, sys_id: str | None) -> str | None:
        base = ctx.spec.options.get("base_url")
        if not base or not sys_id:
            return None
        return f"{str(base).rstrip('/')}/nav_to.do?uri={quote(f'incident.do?sys_id={sys_id}', safe='')}"

    def _incident(self, inc: Mapping[str, Any], ctx: Context) -> list[dict]:
        number = str(require(inc, "number"))
        summary = str(inc.get("short_description") or "")
        description = servicenow_to_text(str(inc.get("description") or ""))
        base = {
            "actor_type": "human", "severity": to_sev(value_of(inc.get("priority"))),
            "service": _named(inc, "business_service") or _named(inc, "cmdb_ci"),
            # the record's sys_id too: what a pasted record link (incident.do?sys_id=...) names
            "refs": [f"servicenow:{number}"] + ctx.refs.find(summary, description) + (
                [f"servicenow:{sys_id}"] if (sys_id := value_of(inc.get("sys_id"))) else []),
            "url": self._url(ctx, value_of(inc.get("sys_id"))), "native_id": number,
            "attrs": {"key": number, "summary": summary, "status": _state(value_of(inc.get("state"))),
                      "priority": value_of(inc.get("priority")),
                      "assignment_group": value_of(inc.get("assignment_group"))},
        }
        opened = inc.get("opened_at") or inc.get("sys_created_on")
        if not opened:
            raise RecordError("opened_at", "missing")
        events = [{**base, "kind": "ticket.created", "ts_raw": opened,
                   "actor": value_of(inc.get("opened_by")) or value_of(inc.get("caller_id")),
                   "subject": value_of(inc.get("assigned_to")),
                   "title": f"{number} opened: {summary}", "body": description}]
        resolved = inc.get("resolved_at") or inc.get("closed_at")
        if resolved:
            notes = servicenow_to_text(str(inc.get("close_notes") or ""))
            events.append({**base, "kind": "ticket.resolved", "ts_raw": resolved, "native_id": f"{number}/resolved",
                           "actor": value_of(inc.get("resolved_by")) or value_of(inc.get("assigned_to")),
                           "subject": None, "title": f"{number} resolved: {first_line(notes, 100) or summary}",
                           "body": notes})
        return events

    def _journal(self, row: Mapping[str, Any], number: str, ctx: Context) -> dict:
        text = servicenow_to_text(str(row.get("value") or ""))   # [code]…[/code] is HTML
        element = row.get("element") or "comments"
        label = "work note" if element == "work_notes" else "comment"
        return {
            "kind": "ticket.comment", "ts_raw": require(row, "sys_created_on"),
            "actor": row.get("sys_created_by"), "actor_type": "human", "subject": None,
            "title": f"{number} {label}: {first_line(text, 100)}", "body": text,
            "severity": None, "service": None,
            "refs": [f"servicenow:{number}"] + ctx.refs.find(text),
            "url": self._url(ctx, value_of(row.get("element_id"))),
            "native_id": str(require(row, "sys_id")), "attrs": {"key": number, "element": element},
        }

    def _audit(self, row: Mapping[str, Any], number: str, ctx: Context) -> list[dict]:
        field = str(require(row, "fieldname"))
        if field in JOURNAL_AUDIT:
            return []
        kind = AUDIT_KINDS.get(field, "ticket.updated")
        before, after = value_of(row.get("oldvalue")), value_of(row.get("newvalue"))
        if kind == "ticket.status":
            before, after = _state(before), _state(after)
        return [{
            "kind": kind, "ts_raw": require(row, "sys_created_on"),
            "actor": row.get("user"), "actor_type": "system" if row.get("user") == "system" else "human",
            "subject": after if kind == "ticket.assigned" else None,
            "title": f"{number} {field}: {before or '(none)'} → {after or '(none)'}", "body": "",
            "severity": to_sev(after) if kind == "ticket.priority" else None, "service": None,
            "refs": [f"servicenow:{number}"], "url": self._url(ctx, value_of(row.get("documentkey"))),
            "native_id": str(require(row, "sys_id")),
            "attrs": {"key": number, "field": field, "from": before, "to": after},
        }]
