"""Fake Jira: Cloud v3 (search/jql + nextPageToken, ADF) and Data Center v2 (search + startAt).

Like the real one, a date literal in JQL is read in the user's zone (here Europe/Berlin,
which the client is not told), times carry `+0100`-style offsets, a search without
`fields` returns only ids, and an unbounded JQL is refused.
"""
from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from tests.ingest.fakes import Expected, FakeApi, paged

EMAIL, TOKEN, PAT = "bot@example.com", "ATATT3xFAKEjiraTOKEN", "NjQ0FAKEjiraPAT"
USER_ZONE = ZoneInfo("Europe/Berlin")
UPDATED_GE = re.compile(r'updated\s*>=\s*"([^"]+)"')
PERSON = {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ana Ops",
          "emailAddress": "ana@example.com", "timeZone": "Europe/Berlin"}


class JiraCloudFake(FakeApi):
    type = "jira"
    name = "tickets"
    versioned_streams = frozenset({"issues"})
    api = "/rest/api/3"

    def __init__(self, server):
        super().__init__(server)
        self.issues: list[dict] = []
        self.looping = False

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "jira", "base_url": self.url("/"), "email": "${FAKE_JIRA_EMAIL}",
                "token": "${FAKE_JIRA_TOKEN}", "jql": "project = OPS", "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_JIRA_EMAIL": EMAIL, "FAKE_JIRA_TOKEN": TOKEN}

    def secrets(self) -> list[str]:
        return [TOKEN]

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        for i in range(count):
            created = start + i * spacing
            key = f"OPS-{100 + i}"
            histories = [
                {"id": f"{1000 + 2 * i}", "author": PERSON, "created": created + timedelta(minutes=20),
                 "items": [{"field": "status", "fieldtype": "jira", "from": "1", "fromString": "Open",
                            "to": "3", "toString": "In Progress"}]},
                {"id": f"{1001 + 2 * i}", "author": PERSON, "created": created + timedelta(minutes=70),
                 "items": [{"field": "assignee", "fieldtype": "jira", "from": None, "fromString": None,
                            "to": PERSON["accountId"], "toString": "Ana Ops"}]}]
            comments = [{"id": f"{5000 + 2 * i + n}", "author": PERSON, "body": f"looking at {key} ({n})",
                         "created": created + timedelta(minutes=minutes),
                         "updated": created + timedelta(minutes=minutes)}
                        for n, minutes in enumerate((5, 80))]
            self.issues.append({"id": str(10000 + i), "key": key, "created": created,
                                "updated": created + timedelta(minutes=80),
                                "histories": histories, "comments": comments})

    def expected(self, window: Window) -> list[Expected]:
        out = []
        for issue in self.issues:
            if issue["created"] in window or issue["updated"] in window:
                at = issue["created"] if issue["created"] in window else issue["updated"]
                out.append(Expected("issues", issue["key"], at))
            out += [Expected("changelog", f"{issue['key']}/{h['id']}", h["created"])
                    for h in issue["histories"] if h["created"] in window]
            out += [Expected("comments", f"{issue['key']}/{c['id']}", c["created"])
                    for c in issue["comments"] if c["created"] in window]
        return out

    def event_times(self, window: Window) -> dict[str, datetime]:
        times = {}
        for issue in self.issues:
            key = issue["key"]
            if issue["created"] in window or issue["updated"] in window:
                times[key] = issue["created"]
            times.update({f"{key}/{h['id']}/{item['field']}": h["created"]
                          for h in issue["histories"] if h["created"] in window for item in h["items"]})
            times.update({f"{key}/comment/{c['id']}": c["created"]
                          for c in issue["comments"] if c["created"] in window})
        return times

    def authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def reject_auth(self, request: Request) -> Response:
        return self.json({"errorMessages": ["You are not authenticated. Authentication required to "
                                            "perform this operation."], "errors": {}}, status=401)

    def loop_pages(self) -> None:
        self.looping = True

    def route(self, request: Request) -> Response:
        path, args = request.path, request.args
        if path == f"{self.api}/search/jql":
            return self._search_jql(args)
        m = re.fullmatch(rf"{self.api}/issue/([A-Z]+-\d+)(/changelog|/comment)?", path)
        issue = m and next((i for i in self.issues if i["key"] == m.group(1)), None)
        if not issue:
            return self.json({"errorMessages": ["Issue does not exist or you do not have permission "
                                                "to see it."], "errors": {}}, status=404)
        if m.group(2) is None:
            return self.json(self._issue(issue, args.get("fields")))
        if m.group(2) == "/changelog":
            return self._start_at(args, "values", [_render(h) for h in issue["histories"]])
        return self._start_at(args, "comments", [self._comment(c) for c in issue["comments"]])

    def _matching(self, jql: str) -> list[dict] | Response:
        bound = UPDATED_GE.search(jql or "")
        if not bound and "project" not in (jql or ""):
            return self.json({"errorMessages": ["Unbounded JQL queries are not allowed here. "
                                                "Please add a search restriction to your query."],
                              "errors": {}}, status=400)
        since = datetime.fromisoformat(bound.group(1).replace("/", "-")).replace(tzinfo=USER_ZONE) \
            if bound else None
        return sorted((i for i in self.issues if since is None or i["updated"] >= since),
                      key=lambda i: i["updated"])

    def _search_jql(self, args) -> Response:
        found = self._matching(args.get("jql", ""))
        if isinstance(found, Response):
            return found
        offset = 0 if self.looping else int(args.get("nextPageToken") or "0", 16)
        limit = min(int(args.get("maxResults", 50)), 5000)
        page, more = paged(found, offset, limit)
        body: dict[str, Any] = {"issues": [self._issue(i, args.get("fields")) for i in page],
                                "isLast": not (more or self.looping)}
        if more or self.looping:
            body["nextPageToken"] = format(offset + limit, "x")
        return self.json(body)

    def _start_at(self, args, key: str, items: list) -> Response:
        return self.json(self._start_at_body(args, key, items))

    def _start_at_body(self, args, key: str, items: list) -> dict:
        start = 0 if self.looping else int(args.get("startAt", 0))
        limit = min(int(args.get("maxResults", 50)), 100)
        page, more = paged(items, start, limit)
        return {"startAt": start, "maxResults": limit, "total": len(items),
                "isLast": not (more or self.looping), key: page}

    def _issue(self, issue: dict, fields: str | None) -> dict:
        out = {"id": issue["id"], "key": issue["key"], "self": f"{self.url(self.api)}/issue/{issue['id']}"}
        if fields:   # the real search returns only ids unless fields are asked for
            out["fields"] = _render({
                "summary": f"Follow-up for incident {issue['key']}", "created": issue["created"],
                "updated": issue["updated"], "status": {"name": "In Progress"},
                "priority": {"name": "High"}, "reporter": PERSON, "assignee": PERSON,
                "description": self._text(f"Details of {issue['key']}")})
        return out

    def _comment(self, comment: dict) -> dict:
        return _render({**comment, "body": self._text(comment["body"])})

    def _text(self, text: str) -> Any:
        """Cloud v3 writes rich text as Atlassian Document Format."""
        return {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


class JiraDataCenterFake(JiraCloudFake):
    """Data Center: /rest/api/2/search with startAt/total, expand=changelog, string bodies,
    and a bearer personal access token."""

    name = "tickets-dc"
    api = "/rest/api/2"

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "jira", "deployment": "datacenter", "base_url": self.url("/"),
                "token": "${FAKE_JIRA_PAT}", "jql": "project = OPS", "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_JIRA_PAT": PAT}

    def secrets(self) -> list[str]:
        return [PAT]

    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {PAT}"

    def route(self, request: Request) -> Response:
        if request.path == f"{self.api}/search":
            found = self._matching(request.args.get("jql", ""))
            if isinstance(found, Response):
                return found
            body = self._start_at_body(request.args, "issues", found)
            body["issues"] = [self._dc_issue(i, request.args) for i in body["issues"]]
            return self.json(body)
        if request.path.endswith("/changelog"):
            return self.not_found(request)   # Data Center has no such endpoint
        return super().route(request)

    def _dc_issue(self, issue: dict, args) -> dict:
        out = self._issue(issue, args.get("fields"))
        if "changelog" in (args.get("expand") or ""):
            histories = [_render(h) for h in issue["histories"]]
            out["changelog"] = {"startAt": 0, "maxResults": len(histories), "total": len(histories),
                                "histories": histories}
        return out

    def _text(self, text: str) -> Any:
        return text


def _render(value: Any) -> Any:
    """Jira's `2026-03-09T23:00:00.000+0100`, in the user's zone."""
    if isinstance(value, dict):
        return {k: _render(v) for k, v in value.items() if k not in ("histories", "comments")}
    if isinstance(value, datetime):
        local = value.astimezone(USER_ZONE)
        return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")
    return value
