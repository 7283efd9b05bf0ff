"""GitHub REST: deployments and their statuses, releases, merged pull requests, per repository.

    - name: github
      type: github
      token: ${GITHUB_TOKEN}            # a fine-grained token with read access to deployments,
      base_url: https://api.github.com  # contents (releases) and pull requests
      repositories:                     # repository -> the service it deploys (one cursor each)
        acme/checkout-api: checkout-api
      environments: [production]        # optional: only these deployment environments

Every list pages by the `Link: <...>; rel="next"` header (`per_page` up to 100) and comes
newest first, so `since` is honoured by stopping once a page reaches older items: pull
requests are listed `state=closed&sort=updated&direction=desc` (a pull merged in the window
was updated in it or later), releases and deployments by creation. A deployment is kept by
its `created_at`; its statuses are read for the deployments created up to LOOKBACK before
the window and kept by their own `created_at`, so a deploy that finishes in the next window
still gets its status there, and adjacent windows never fetch one twice.

GitHub's rate limit answers 403 (primary: `x-ratelimit-remaining: 0` and
`x-ratelimit-reset`, a unix time) or 429 / 403 with `Retry-After` (secondary): both wait.
A parent_id is the record's container: the repository (`acme/checkout-api`), for a status
its deployment (`acme/checkout-api/deployments/42`).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator, Mapping

import requests

from .api import ApiConnector
from .base import RawRecord, Window, listed
from .errors import ConfigError
from .http import HttpClient
from .paging import link_header_next, next_link_pages
from .timefilter import iso_time

LOOKBACK = timedelta(days=1)      # how long before a window a deploy may still report a status
STREAMS = ("deployments", "releases", "pulls")


def repositories(value: Any) -> dict[str, str]:
    """`repositories:` as {owner/name: service}: a mapping, or a list (the service is the name)."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {str(r): str(r).rsplit("/", 1)[-1] for r in value}
    return {}


def _rate_limited(resp: requests.Response) -> bool:
    if resp.status_code == 429:
        return True
    return resp.status_code == 403 and (resp.headers.get("x-ratelimit-remaining") == "0"
                                        or "Retry-After" in resp.headers)


class GitHubConnector(ApiConnector):
    type = "github"
    api_keys = ("base_url", "token")
    optional_keys = ("repositories", "environments", "streams", "page_size")

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = []
        repos = repositories(options.get("repositories"))
        if not repos:
            problems.append("repositories: needs at least one owner/name (a list, or a mapping to services)")
        bad = [r for r in repos if r.count("/") != 1 or not all(r.split("/"))]
        if bad:
            problems.append(f"repositories: {', '.join(bad)} is not owner/name")
        unknown = sorted(set(options.get("streams") or ()) - set(STREAMS))
        if unknown:
            problems.append(f"streams: unknown {', '.join(map(str, unknown))} (known: {', '.join(STREAMS)})")
        return problems

    def make_client(self) -> HttpClient:
        return HttpClient(self.name, self.settings.get("base_url"), rate_limited=_rate_limited, headers={
            "Authorization": f"Bearer {self.settings.get('token')}",
            "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"})

    def partitions(self) -> list[str]:
        repos = repositories(self.settings.get("repositories"))
        if not repos:
            raise ConfigError(self.name, "repositories: needs at least one owner/name")
        return sorted(repos)

    @property
    def streams(self) -> tuple[str, ...]:
        return tuple(self.settings.get("streams") or STREAMS)

    def _list(self, endpoint: str, params: dict) -> Iterator[Any]:
        paginate = lambda c, p, q: next_link_pages(c, p, q, next_link=link_header_next)  # noqa: E731
        return self.pages(endpoint, {**params, "per_page": self.page_size}, paginate)

    def _newest_first(self, endpoint: str, params: dict, key: str, stop_before) -> Iterator[Any]:
        """The items of a newest-first list, no further than the first page whose last item
        (by `key`) is older than `stop_before` (None: every page)."""
        for page in self._list(endpoint, params):
            items = listed(page, f"the answer of {endpoint}")
            yield from items
            last = items[-1] if items else None
            at = iso_time(last.get(key), strict=False) if isinstance(last, dict) else None
            if stop_before is not None and at is not None and at < stop_before:
                return

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        repo = partition
        if "deployments" in self.streams:
            yield from self._deployments(repo, window)
        if "releases" in self.streams:
            yield from self.take("releases", self._newest_first(
                f"repos/{repo}/releases", {}, "created_at", _minus(window.since, LOOKBACK)),
                lambda r: RawRecord("releases", f"{repo}/releases/{r['id']}", r, repo, repo)
                if not r.get("draft") and iso_time(r.get("published_at")) in window else None, repo)
        if "pulls" in self.streams:
            params = {"state": "closed", "sort": "updated", "direction": "desc"}
            yield from self.take("pulls", self._newest_first(f"repos/{repo}/pulls", params, "updated_at", window.since),
                                 lambda p: RawRecord("pulls", f"{repo}/pulls/{p['number']}", p, repo, repo)
                                 if p.get("merged_at") and iso_time(p.get("merged_at")) in window else None, repo)

    def _deployments(self, repo: str, window: Window) -> Iterator[RawRecord]:
        wanted = [str(e) for e in self.settings.get("environments") or []]
        params_list = [{"environment": e} for e in wanted] or [{}]
        lookback = Window(_minus(window.since, LOOKBACK), window.until)
        followed: list[str] = []

        def deployment(item: dict) -> RawRecord | None:
            created = iso_time(item.get("created_at"))
            native = f"{repo}/deployments/{item['id']}"
            if wanted and item.get("environment") not in wanted:
                return None
            if created in lookback and isinstance(item["id"], int):
                followed.append(native)
            return RawRecord("deployments", native, item, repo, repo) if created in window else None

        for params in params_list:
            yield from self.take("deployments", self._newest_first(
                f"repos/{repo}/deployments", params, "created_at", lookback.since), deployment, repo)
        for native in followed:
            yield from self.take("deployment_statuses", self._statuses(native), lambda s, native=native: RawRecord(
                "deployment_statuses", f"{native}/statuses/{s['id']}", s, repo, native)
                if iso_time(s.get("created_at")) in window else None, repo, native)

    def _statuses(self, deployment: str) -> Iterator[Any]:
        owner, name, _, number = deployment.split("/")
        for page in self._list(f"repos/{owner}/{name}/deployments/{number}/statuses", {}):
            yield from listed(page, "the statuses answer")


def _minus(at, delta):
    return None if at is None else at - delta
