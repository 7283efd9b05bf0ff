"""Jira: a remote link on the incident's ticket pointing to the published post-mortem.

`POST /rest/api/3/issue/{key}/remotelink` with a `globalId`: Jira updates the link that has
that id instead of adding one, so a republish changes the same link in place (`--new`
gives it a fresh id). Cloud: Basic auth with email and API token; Data Center: a personal
access token as Bearer (and `/rest/api/2/...`, which takes the same body)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from incident_timeline.ingest.http import HttpClient

from .base import Publication, Request, next_version, reveal
from .errors import PublishError

NAME = "jira"
LINK_ORDER = ("confluence", "gdrive")


def ticket(contract: dict[str, Any], project: str | None = None) -> str | None:
    """The incident's ticket: a `jira:` ref that is not one of its action items' tickets
    (in `project` when given), the lowest key first (the one opened first)."""
    actions = {a.get("ref") for a in contract.get("action_items") or []}
    refs = {contract["incident"]["id"], contract["incident"]["identity"], *contract["incident"]["aliases"]}
    keys = [r.split(":", 1)[1] for r in refs if r.startswith("jira:") and r not in actions]
    if project:
        keys = [k for k in keys if k.upper().startswith(project.upper() + "-")]
    return min(keys, key=_key_order) if keys else None


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return (project, int(number) if number.isdigit() else 0)


class Jira:
    def __init__(self, options: dict[str, Any], http_options: dict[str, Any] | None = None):
        self.options = options
        token = reveal(options["token"])
        cloud = bool(options.get("email"))
        self.api = "rest/api/3" if cloud else "rest/api/2"
        self.http = HttpClient(NAME, options["base_url"], role="target", error_message=error_message,
                               auth=(str(options["email"]), token) if cloud else None,
                               headers={} if cloud else {"Authorization": f"Bearer {token}"},
                               **(http_options or {}))

    def publish(self, req: Request) -> list[Publication]:
        draft = req.draft
        key = ticket(draft.contract, self.options.get("ticket_project"))
        if key is None:
            raise PublishError(NAME, f"incident {draft.seed} names no Jira ticket to link from")
        page = next(((t, req.pages[t]) for t in LINK_ORDER if req.pages.get(t)), None)
        if page is None:
            raise PublishError(NAME, f"nothing to link from {key}: publish to confluence or gdrive first "
                               "(or with it)")
        before = req.before(key)
        global_id = before["remote_id"].split("|", 1)[1] if before and "|" in before["remote_id"] else (
            f"incident-timeline:{draft.incident_id}:{datetime.now(timezone.utc):%Y%m%dT%H%M%S}" if req.new
            else f"incident-timeline:{draft.incident_id}")
        inc = draft.contract["incident"]
        body = {"globalId": global_id,
                "application": {"type": "incident-timeline", "name": "incident-timeline"},
                "relationship": "post-mortem",
                "object": {"url": page[1], "title": draft.title[:255],
                           "summary": " · ".join(filter(None, [inc["severity"], ", ".join(inc["services"])])),
                           "status": {"resolved": draft.contract["milestones"]["resolved"] is not None}}}
        found = self.http.send("POST", f"{self.api}/issue/{key}/remotelink", json=body, not_found=lambda: PublishError(
            NAME, f"ticket {key} not found (or this account cannot see it)")).json()
        link_id = str(found.get("id"))
        pub = Publication(NAME, key, f"{link_id}|{global_id}", page[1], next_version(before))
        req.record(pub)
        return [pub]


def error_message(body: Any) -> str:
    """{"errorMessages": [...], "errors": {field: message}}."""
    if isinstance(body, dict):
        parts = [str(m) for m in body.get("errorMessages") or []]
        parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
        if parts:
            return "; ".join(parts)
    return str(body)[:200]
