"""Jira issues, changelog histories and comments -> ticket.* events."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..mapping import Context, Mapper, RecordError, require
from ..severity import to_sev
from ..text import adf_to_text, first_line

_FIELD_KINDS = {"status": "ticket.status", "assignee": "ticket.assigned", "priority": "ticket.priority"}


class JiraMapper(Mapper):
    source_type = "jira"
    time_format = "iso8601"
    entity_streams = ()
    time_fields = {"issues": ("fields.created",), "changelog": ("created",), "comments": ("created",)}
    knows_emails = True

    def map(self, stream: str, payload: Mapping[str, Any], parent_id: str | None,
            ctx: Context) -> Iterable[dict]:
        if stream == "issues":
            return [self._created(payload, ctx)]
        if stream == "changelog":
            return self._history(payload, _key(parent_id), ctx)
        if stream == "comments":
            return [self._comment(payload, _key(parent_id), ctx)]
        return super().map(stream, payload, parent_id, ctx)

    def _created(self, issue: Mapping[str, Any], ctx: Context) -> dict:
        key = require(issue, "key")
        fields = issue.get("fields") or {}
        if not isinstance(fields, dict):
            raise RecordError("fields", "not an object")
        summary = fields.get("summary") or ""
        description = adf_to_text(fields.get("description"))
        reporter = fields.get("reporter") or fields.get("creator") or {}
        linked = [f"jira:{k}" for k in _linked_keys(fields.get("issuelinks") or [])]
        assignee = fields.get("assignee") or {}
        return {
            "kind": "ticket.created",
            "ts_raw": require(fields, "created"),
            "actor": reporter.get("displayName"),
            "actor_type": "human" if reporter else "system",
            "actor_id": reporter.get("emailAddress") or reporter.get("accountId"),
            "subject": assignee.get("displayName"),
            "title": f"{key} created: {summary}",
            "body": description,
            "severity": to_sev((fields.get("priority") or {}).get("name")),
            "service": _first_component(fields),
            "refs": [f"jira:{key}"] + linked + ctx.refs.find(summary, description),
            "url": _browse_url(issue.get("self"), key),
            "native_id": key,
            "attrs": {"key": key, "summary": summary,
                      "status": (fields.get("status") or {}).get("name"),
                      "status_category": ((fields.get("status") or {}).get("statusCategory") or {}).get("key"),
                      "assignee": assignee.get("displayName"), "due": fields.get("duedate"),
                      "issuetype": (fields.get("issuetype") or {}).get("name"),
                      "resolution_date": fields.get("resolutiondate"), "labels": fields.get("labels") or [],
                      "linked": [r.split(":", 1)[1] for r in linked]},
        }

    def _history(self, history: Mapping[str, Any], key: str, ctx: Context) -> list[dict]:
        author = history.get("author") or {}
        created = require(history, "created")
        events = []
        for item in history.get("items") or []:
            field = str(item.get("field") or "")
            before, after = item.get("fromString"), item.get("toString")
            if field == "resolution":
                if not after:
                    continue
                kind, title = "ticket.resolved", f"{key} resolved: {after}"
            else:
                kind = _FIELD_KINDS.get(field.lower(), "ticket.updated")
                title = f"{key} {field}: {before or '(none)'} → {after or '(none)'}"
            events.append({
                "kind": kind, "ts_raw": created,
                "actor": author.get("displayName"), "actor_type": "human" if author else "system",
                "actor_id": author.get("emailAddress") or author.get("accountId"),
                "subject": after if kind == "ticket.assigned" else None,
                "title": title, "body": "",
                "severity": to_sev(after) if kind == "ticket.priority" else None, "service": None,
                "refs": [f"jira:{key}"] + ctx.refs.find(after),
                "url": None, "native_id": f"{key}/{require(history, 'id')}/{field}",
                "attrs": {"key": key, "field": field, "from": before, "to": after},
            })
        return events

    def _comment(self, comment: Mapping[str, Any], key: str, ctx: Context) -> dict:
        author = comment.get("author") or {}
        text = adf_to_text(comment.get("body"))
        return {
            "kind": "ticket.comment", "ts_raw": require(comment, "created"),
            "actor": author.get("displayName"), "actor_type": "human" if author else "system",
            "actor_id": author.get("emailAddress") or author.get("accountId"),
            "subject": None, "title": f"{key} comment: {first_line(text, 100)}", "body": text,
            "severity": None, "service": None,
            "refs": [f"jira:{key}"] + ctx.refs.find(text),
            "url": None, "native_id": f"{key}/comment/{require(comment, 'id')}",
            "attrs": {"key": key},
        }


def _key(parent_id: str | None) -> str:
    if not parent_id:
        raise RecordError("parent_id", "changelog or comment without its issue key")
    return parent_id


def _linked_keys(links: list) -> list[str]:
    keys = []
    for link in links:
        for side in ("outwardIssue", "inwardIssue"):
            other = (link or {}).get(side) or {}
            if other.get("key"):
                keys.append(other["key"])
    return keys


def _first_component(fields: Mapping[str, Any]) -> str | None:
    comps = fields.get("components") or []
    return comps[0].get("name") if comps and isinstance(comps[0], dict) else None


def _browse_url(self_url: str | None, key: str) -> str | None:
    if not self_url or "/rest/api/" not in self_url:
        return None
    return self_url.split("/rest/api/", 1)[0] + "/browse/" + key
