"""Jira Cloud v3 (search/jql with nextPageToken) with each issue's changelog and comments."""
from __future__ import annotations

from typing import Any, Iterator

from .api import ApiConnector
from .base import RawRecord, Window
from .errors import SourceError
from .http import HttpClient
from .paging import start_at_pages, token_pages
from .timefilter import iso_time

FIELDS = ("summary,status,priority,issuetype,project,created,updated,resolutiondate,"
          "reporter,creator,assignee,description,duedate,issuelinks,labels,components")


def _next_token(page: Any) -> str | None:
    return None if page.get("isLast") else page.get("nextPageToken")


class JiraConnector(ApiConnector):
    type = "jira"
    native_id = "key"
    cursor_field = "fields.updated"
    time_format = "iso8601"
    time_zone = None
    partition_by = "project"
    api_keys = ("base_url", "email", "token")
    optional_keys = ("jql", "projects")

    def make_client(self) -> HttpClient:
        return HttpClient(self.name, self.settings.get("base_url"),
                          auth=(self.settings.get("email"), self.settings.get("token")))

    def _jql(self, window: Window) -> str:
        clauses = [f"({self.settings.get('jql')})"] if self.settings.get("jql") else []
        if window.since:
            clauses.append(f'updated >= "{window.since:%Y/%m/%d %H:%M}"')
        if window.until:
            clauses.append(f'updated < "{window.until:%Y/%m/%d %H:%M}"')
        if not clauses:
            raise SourceError(self.name, "a bounded query needs `jql:` or a --since window")
        return " AND ".join(clauses) + " ORDER BY updated ASC"

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        params = {"jql": self._jql(window) if self.recorded is None else "",
                  "fields": FIELDS, "maxResults": 100}
        paginate = lambda c, p, q: token_pages(  # noqa: E731
            c, p, q, token_param="nextPageToken", next_token=_next_token)
        for page in self.pages("rest/api/3/search/jql", params, paginate):
            for issue in page.get("issues") or []:
                if iso_time((issue.get("fields") or {}).get("updated")) not in window:
                    continue
                key = issue["key"]
                yield RawRecord("issues", key, issue, partition, None)
                yield from self._children(key, partition)

    def _children(self, key: str, partition: str) -> Iterator[RawRecord]:
        for stream, endpoint, items_key in (("changelog", f"rest/api/3/issue/{key}/changelog", "values"),
                                            ("comments", f"rest/api/3/issue/{key}/comment", "comments")):
            paginate = lambda c, p, q, k=items_key: start_at_pages(c, p, q, items_key=k)  # noqa: E731
            params = {"orderBy": "created"} if stream == "comments" else {}
            for page in self.pages(endpoint, params, paginate):
                for item in page.get(items_key) or []:
                    yield RawRecord(stream, f"{key}/{item['id']}", item, partition, key)
