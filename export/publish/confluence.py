"""Confluence: the post-mortem as a page in a space, under a parent, in storage format, with
the chart attached as SVG and labels for the service, the severity and the incident.

Cloud (`api: cloud`, the default): REST v2 for spaces and pages (`/wiki/api/v2/...`, Basic
auth with the account's email and API token); v2 has no attachment upload nor label write,
so those two go through v1 (`/wiki/rest/api/content/{id}/child/attachment`, `.../label`).
Data Center (`api: datacenter`): there is no v2; pages are v1 content (`/rest/api/content`,
the space by key, the parent as an ancestor, the body as `body.storage`), and the token is
a personal access token sent as Bearer. A republish is a new version of the same page:
its current number is read, one more is written.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from incident_timeline.ingest.http import HttpClient

from .base import Publication, Request, next_version, reveal
from .errors import PublishError

NAME = "confluence"


class Confluence:
    def __init__(self, options: dict[str, Any], http_options: dict[str, Any] | None = None):
        self.options = options
        self.cloud = options.get("api", "cloud") == "cloud"
        token = reveal(options["token"])
        auth = (str(options.get("email")), token) if self.cloud else None
        headers = {} if self.cloud else {"Authorization": f"Bearer {token}"}
        self.http = HttpClient(NAME, options["base_url"], auth=auth, headers=headers, role="target",
                               error_message=error_message, **(http_options or {}))
        self.root = "wiki/" if self.cloud else ""
        self.space = str(options["space"])

    def publish(self, req: Request) -> list[Publication]:
        draft = req.draft
        before = req.before(self.space)
        page = self._existing(before["remote_id"]) if before else None
        # a space holds one page of a title: a new page (--new) is told apart by when it was made
        title = f"{draft.title} ({datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC)" if req.new else draft.title
        if page is None and not req.new:
            page = self._titled(title)      # the record lost (a crash right after the create)
        if page is None:
            page = self._create(draft, title)
        else:
            page = self._update(page, draft, page.get("title") or title)
        page_id = str(page["id"])
        req.record(Publication(NAME, self.space, page_id, self._url(page), int(page["version"]["number"])))
        if draft.svg:
            self._attach(page_id, draft.svg)
        self._label(page_id, draft.labels + list(self.options.get("labels") or []))
        return [Publication(NAME, self.space, page_id, self._url(page), int(page["version"]["number"]))]

    # -- pages
    def _titled(self, title: str) -> dict[str, Any] | None:
        """The current page of this title in the space (a space holds one of a title), else None.
        Cloud: `GET /wiki/api/v2/pages?space-id=&title=`, paged by the cursor in `_links.next`."""
        from incident_timeline.ingest.paging import cursor_pages
        if self.cloud:
            params = {"space-id": self._space_id(), "title": title, "status": "current", "limit": 25}
            path = f"{self.root}api/v2/pages"
        else:
            params = {"spaceKey": self.space, "title": title, "type": "page", "limit": 25}
            path = "rest/api/content"
        pages = cursor_pages(NAME, "pages", lambda query: self.http.send("GET", path, params=query).json(), params,
                             token_param="cursor" if self.cloud else "start", next_token=self._next_token)
        for page in pages:
            for found in page.get("results") or []:
                if found.get("title") == title:
                    return self._existing(str(found["id"]))
        return None

    def _next_token(self, page: dict[str, Any]) -> str | None:
        """Cloud v2: the `cursor` of `_links.next`; Data Center v1: the `start` of the next page."""
        link = (page.get("_links") or {}).get("next")
        if not link:
            return None
        query = parse_qs(urlsplit(link).query)
        values = query.get("cursor" if self.cloud else "start")
        return values[0] if values else None

    def _existing(self, page_id: str) -> dict[str, Any] | None:
        """The page published before, with its current version; None when it was deleted."""
        path = (f"{self.root}api/v2/pages/{page_id}" if self.cloud
                else f"rest/api/content/{page_id}?expand=version,space")
        try:
            resp = self.http.send("GET", path, not_found=_Gone)
        except _Gone:
            return None
        page = resp.json()
        return None if page.get("status") == "trashed" else page

    def _create(self, draft, title: str) -> dict[str, Any]:
        parent = self.options.get("parent_id")
        body = {"representation": "storage", "value": draft.storage}
        if self.cloud:
            payload = {"spaceId": self._space_id(), "status": "current", "title": title, "body": body}
            if parent:
                payload["parentId"] = str(parent)
            return self._write("POST", f"{self.root}api/v2/pages", payload)
        self._space_id()
        payload = {"type": "page", "title": title, "space": {"key": self.space}, "body": {"storage": body}}
        if parent:
            payload["ancestors"] = [{"id": str(parent)}]
        return self._write("POST", "rest/api/content", payload)

    def _update(self, page: dict[str, Any], draft, title: str) -> dict[str, Any]:
        number = int(page["version"]["number"]) + 1
        version = {"number": number, "message": "republished by incident-timeline"}
        body = {"representation": "storage", "value": draft.storage}
        if self.cloud:
            payload = {"id": str(page["id"]), "status": "current", "title": title, "body": body,
                       "version": version}
            return self._write("PUT", f"{self.root}api/v2/pages/{page['id']}", payload)
        payload = {"id": str(page["id"]), "type": "page", "title": title, "space": {"key": self.space},
                   "body": {"storage": body}, "version": version}
        return self._write("PUT", f"rest/api/content/{page['id']}", payload)

    def _write(self, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        parent = self.options.get("parent_id")
        missing_parent = (lambda: PublishError(NAME, f"parent page {parent} not found in space {self.space}")
                          ) if parent else None
        return self.http.send(method, path, json=payload, not_found=missing_parent).json()

    def _space_id(self) -> str:
        if self.cloud:
            found = self.http.send("GET", f"{self.root}api/v2/spaces", params={"keys": self.space}).json()
            results = found.get("results") or []
            if not results:
                raise PublishError(NAME, f"space {self.space} not found (or this account cannot see it)")
            return str(results[0]["id"])
        space = self.http.send("GET", f"rest/api/space/{self.space}", not_found=lambda: PublishError(
            NAME, f"space {self.space} not found (or this account cannot see it)")).json()
        return str(space.get("id"))

    # -- the chart and the labels (REST v1 on both)
    def _attach(self, page_id: str, svg: str) -> None:
        """Create or update the attachment by its file name (PUT ... /child/attachment)."""
        from .draft import CHART_FILE
        self.http.send("PUT", f"{self.root}rest/api/content/{page_id}/child/attachment",
                       headers={"X-Atlassian-Token": "no-check"},
                       files={"file": (CHART_FILE, svg.encode("utf-8"), "image/svg+xml"),
                              "minorEdit": (None, "true")})

    def _label(self, page_id: str, labels: list[str]) -> None:
        if labels:
            self.http.send("POST", f"{self.root}rest/api/content/{page_id}/label",
                           json=[{"prefix": "global", "name": name} for name in dict.fromkeys(labels)])

    def _url(self, page: dict[str, Any]) -> str | None:
        links = page.get("_links") or {}
        webui = links.get("webui")
        if not webui:
            return None
        base = links.get("base") or self.http.base_url.rstrip("/") + ("/wiki" if self.cloud else "")
        return base.rstrip("/") + webui


class _Gone(Exception):
    pass


def error_message(body: Any) -> str:
    """v2: {"errors": [{"status", "code", "title", "detail"}]}; v1: {"message": ...}."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e.get("title") or e.get("detail") or e.get("code") or e)
                             if isinstance(e, dict) else str(e) for e in errors)
        if body.get("message"):
            return str(body["message"])
    return str(body)[:200]
