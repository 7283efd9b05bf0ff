"""Jira issues with their changelog and comments: Cloud (v3) or Data Center (v2).

Cloud: GET /rest/api/3/search/jql (nextPageToken, explicit `fields`), then each issue's
/changelog and /comment (startAt paging), bodies in ADF. Data Center (`deployment:
datacenter`): GET /rest/api/2/search (startAt/maxResults/total) with expand=changelog,
comment bodies as plain strings, and a bearer personal access token.

JQL reads a date literal in the Jira user's own zone, which the API does not tell us.
So the query is widened: `updated >= since - 1 day` (or, with `jql_timezone:`, the exact
wall time in that zone, floored to the minute), and the window is then applied exactly,
client-side, on the ISO times the API returns with their offsets. There is no upper
bound in the JQL: an issue commented on inside the window and updated again later still
has to be found.

What one window [since, until) yields: every changelog history and comment created in
it, and the issue's own record (its snapshot: created, summary, status) when it was
created or updated in it. A changed issue is a new version of that record, so adjacent
windows may both hold one issue; its events keep the same ids.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterable, Iterator
from zoneinfo import ZoneInfo

from .api import ApiConnector
from .base import RawRecord, Window, items_of
from .errors import ConfigError, SourceError
from .http import HttpClient
from .paging import start_at_pages, token_pages
from .timefilter import iso_time

FIELDS = ("summary,status,priority,issuetype,project,created,updated,resolutiondate,"
          "reporter,creator,assignee,description,duedate,issuelinks,labels,components")
JQL_WIDEN = timedelta(days=1)   # covers every user zone (UTC-12 .. UTC+14)
DEPLOYMENTS = ("cloud", "datacenter")


def _next_token(page: Any) -> str | None:
    if not isinstance(page, dict) or page.get("isLast"):
        return None
    token = page.get("nextPageToken")
    return token if isinstance(token, str) and token else None


def _in_project(issue: Any, project: str) -> bool:
    """Whether a recorded issue belongs to `project` (its key, id or name, as JQL's
    `project = X` takes them; else the prefix of the issue's key)."""
    found = (issue.get("fields") or {}).get("project") if isinstance(issue, dict) else None
    if isinstance(found, dict) and any(found.get(k) for k in ("key", "id", "name")):
        return project in {str(found.get(k)) for k in ("key", "id", "name") if found.get(k)}
    key = str(issue.get("key") or "") if isinstance(issue, dict) else ""
    return key.rsplit("-", 1)[0] == project


class JiraConnector(ApiConnector):
    type = "jira"
    api_keys = ("base_url", "token")
    optional_keys = ("jql", "projects", "email", "deployment", "jql_timezone", "page_size")

    def __init__(self, settings):
        super().__init__(settings)
        self._recorded_issues: list[dict] | None = None

    @classmethod
    def required_keys(cls, options) -> tuple[str, ...]:
        """Cloud signs in with e-mail + API token; Data Center with a token alone."""
        datacenter = str(options.get("deployment") or "cloud").lower() == "datacenter"
        return cls.api_keys if datacenter else cls.api_keys + ("email",)

    @property
    def datacenter(self) -> bool:
        deployment = str(self.settings.get("deployment") or "cloud").lower()
        if deployment not in DEPLOYMENTS:
            raise ConfigError(self.name, f"deployment must be one of {', '.join(DEPLOYMENTS)}, "
                              f"not {deployment!r}")
        return deployment == "datacenter"

    @property
    def api(self) -> str:
        return "rest/api/2" if self.datacenter else "rest/api/3"

    def make_client(self) -> HttpClient:
        base_url = self.settings.get("base_url")
        if self.datacenter:
            return HttpClient(self.name, base_url,
                              headers={"Authorization": f"Bearer {self.settings.get('token')}"})
        if not self.settings.get("email"):
            raise ConfigError(self.name, "Jira Cloud needs `email:` with the API token "
                              "(or `deployment: datacenter` for a personal access token)")
        return HttpClient(self.name, base_url, auth=(self.settings.get("email"), self.settings.get("token")))

    def partitions(self) -> list[str]:
        return [str(p) for p in self.settings.get("projects") or []] or [""]

    def jql(self, partition: str, window: Window) -> str:
        clauses = [f"({self.settings.get('jql')})"] if self.settings.get("jql") else []
        if partition:
            clauses.append(f'project = "{partition}"')
        if window.since:
            clauses.append(f'updated >= "{self._literal(window.since)}"')
        if not clauses:
            raise SourceError(self.name, "a bounded query needs `jql:`, `projects:` or a --since window")
        return " AND ".join(clauses) + " ORDER BY updated ASC"

    def _literal(self, since) -> str:
        zone = self.settings.get("jql_timezone")
        if zone:
            return f"{since.astimezone(ZoneInfo(str(zone))):%Y-%m-%d %H:%M}"
        return f"{since - JQL_WIDEN:%Y-%m-%d %H:%M}"

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        for issue in self._issues(partition, window):
            children: list = []

            def issue_record(issue: dict) -> RawRecord | None:
                fields = issue.get("fields") or {}
                updated = iso_time(fields.get("updated"))
                if window.since is not None and updated is not None and updated < window.since:
                    return None  # the widened JQL's margin: nothing of it lies in the window
                key = issue["key"]
                histories = (issue.get("changelog") or {}).get("histories")
                snapshot = {k: v for k, v in issue.items() if k != "changelog"}   # the item stays whole
                record = (RawRecord("issues", key, snapshot, partition, None)
                          if iso_time(fields.get("created")) in window or updated in window else None)
                if isinstance(key, str) and key and "/" not in key:   # a key that names a path
                    children.append((key, histories))
                return record

            yield from self.take("issues", [issue], issue_record, partition)
            for key, histories in children:
                yield from self._changelog(key, partition, window, histories)
                yield from self._comments(key, partition, window)

    def _issues(self, partition: str, window: Window) -> Iterator[dict]:
        if self.recorded is not None and partition:
            # The recorded pages hold every project's issues: they are read once, and each
            # project takes its own (one read per project fetched every issue per project).
            if self._recorded_issues is None:
                self._recorded_issues = list(self._pages_of_issues(""))
            yield from (i for i in self._recorded_issues if _in_project(i, partition))
            return
        yield from self._pages_of_issues(self.jql(partition, window) if self.recorded is None else "")

    def _pages_of_issues(self, jql: str) -> Iterator[dict]:
        if self.datacenter:
            params = {"jql": jql, "fields": FIELDS, "expand": "changelog"}
            paginate = lambda c, p, q: start_at_pages(  # noqa: E731
                c, p, q, items_key="issues", page_size=self.page_size)
            pages = self.pages(f"{self.api}/search", params, paginate)
        else:
            params = {"jql": jql, "fields": FIELDS, "maxResults": self.page_size}
            paginate = lambda c, p, q: token_pages(  # noqa: E731
                c, p, q, token_param="nextPageToken", next_token=_next_token)
            pages = self.pages(f"{self.api}/search/jql", params, paginate)
        for page in pages:
            yield from items_of(page, "issues")

    def _changelog(self, key: str, partition: str, window: Window,
                   embedded: list | None) -> Iterator[RawRecord]:
        if embedded is not None:   # Data Center: expand=changelog carried them
            histories: Iterable[Any] = items_of({"histories": embedded}, "histories", "the changelog")
        else:
            histories = self._paged(f"{self.api}/issue/{key}/changelog", "values", {})
        yield from self.take("changelog", histories, lambda history: RawRecord(
            "changelog", f"{key}/{history['id']}", history, partition, key)
            if iso_time(history.get("created")) in window else None, partition, key)

    def _comments(self, key: str, partition: str, window: Window) -> Iterator[RawRecord]:
        comments = self._paged(f"{self.api}/issue/{key}/comment", "comments", {"orderBy": "created"})
        yield from self.take("comments", comments, lambda comment: RawRecord(
            "comments", f"{key}/{comment['id']}", comment, partition, key)
            if iso_time(comment.get("created")) in window else None, partition, key)

    def incident_window(self, native_id: str) -> Window | None:
        """A Jira seed (jira:OPS-123): from the issue's creation to its resolution."""
        if self.recorded is not None:
            found = [i for page in self.recorded.pages(f"{self.api}/search/jql")
                     for i in items_of(page, "issues") if isinstance(i, dict) and i.get("key") == native_id]
            issue = found[0] if found else None
        else:
            issue = self.http.get_json(f"{self.api}/issue/{native_id}",
                                       {"fields": "created,updated,resolutiondate"})
        if not issue:
            raise SourceError(self.name, f"issue {native_id} not found")
        fields = issue.get("fields") or {}
        return Window(iso_time(fields.get("created"), strict=False),
                      iso_time(fields.get("resolutiondate") or fields.get("updated"), strict=False))

    def _paged(self, endpoint: str, items_key: str, params: dict) -> Iterator[dict]:
        paginate = lambda c, p, q: start_at_pages(  # noqa: E731
            c, p, q, items_key=items_key, page_size=self.page_size)
        for page in self.pages(endpoint, params, paginate):
            yield from items_of(page, items_key)
