"""GitLab REST v4: each configured project's deployments (GET /projects/:id/deployments).

    - name: gitlab
      type: gitlab
      token: ${GITLAB_TOKEN}              # a token with read_api, sent as PRIVATE-TOKEN
      base_url: https://gitlab.com        # or a self-managed instance
      projects:                           # project path -> the service it deploys
        acme/checkout-api: checkout-api
      environments: [production]          # optional

A deployment is one record that changes (created, running, then success, failed or
canceled), so it is listed by its `updated_at`: `order_by=updated_at&sort=asc` with
`updated_after`/`updated_before` (GitLab compares them exclusively: the query is widened by
a second and the window applied exactly), and fetched again in each window it changes in,
its events keeping their ids. Pages follow the `Link: <...>; rel="next"` header, which holds
GitLab's keyset cursor (`pagination=keyset`, asked for by default; `keyset: false` for an
instance that answers 405 to it) or the next page number: only the link's query is taken.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Mapping
from urllib.parse import quote

from .api import ApiConnector
from .base import RawRecord, Window, listed
from .errors import ConfigError
from .github import repositories
from .http import HttpClient
from .paging import link_header_next, next_link_pages
from .timefilter import iso_time

WIDEN = timedelta(seconds=1)


class GitLabConnector(ApiConnector):
    type = "gitlab"
    api_keys = ("base_url", "token")
    optional_keys = ("projects", "environments", "keyset", "page_size")

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        projects = repositories(options.get("projects"))
        if not projects:
            return ["projects: needs at least one project path (a list, or a mapping to services)"]
        if options.get("keyset") not in (None, True, False):
            return ["keyset must be true or false"]
        return []

    def make_client(self) -> HttpClient:
        return HttpClient(self.name, str(self.settings.get("base_url")).rstrip("/") + "/api/v4/",
                          headers={"PRIVATE-TOKEN": str(self.settings.get("token"))})

    def partitions(self) -> list[str]:
        projects = repositories(self.settings.get("projects"))
        if not projects:
            raise ConfigError(self.name, "projects: needs at least one project path")
        return sorted(projects)

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        project = partition
        wanted = [str(e) for e in self.settings.get("environments") or []]
        params: dict[str, Any] = {"order_by": "updated_at", "sort": "asc", "per_page": self.page_size}
        if self.settings.get("keyset") is not False:
            params["pagination"] = "keyset"
        if window.since is not None:
            params["updated_after"] = _iso(window.since - WIDEN)
        if window.until is not None:
            params["updated_before"] = _iso(window.until + WIDEN)
        for env in wanted or [None]:
            query = {**params, **({"environment": env} if env else {})}

            def record(item: dict) -> RawRecord | None:
                environment = item.get("environment")
                name = environment.get("name") if isinstance(environment, dict) else None
                if wanted and name not in wanted:
                    return None
                if iso_time(item.get("updated_at")) not in window:
                    return None
                return RawRecord("deployments", f"{project}/deployments/{item['id']}", item, project, project)

            paginate = lambda c, p, q: next_link_pages(c, p, q, next_link=link_header_next)  # noqa: E731
            pages = self.pages(f"projects/{quote(project, safe='')}/deployments", query, paginate)
            items = (item for page in pages for item in listed(page, "the deployments answer"))
            yield from self.take("deployments", items, record, project)


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
