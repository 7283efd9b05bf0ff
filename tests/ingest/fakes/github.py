"""A fake GitHub REST API: /repos/{owner}/{repo}/deployments, .../deployments/{id}/statuses,
/releases and /pulls.

As the real one (docs.github.com, REST 2022-11-28): lists are JSON arrays, newest first;
`per_page` (max 100) and `page`; the next page is named only by the `Link` header
(`<https://api.github.com/repositories/<id>/deployments?per_page=3&page=2>; rel="next"`,
on the repository's numeric id, as GitHub writes it); `/pulls` takes state, sort=updated and
direction; a bad token is 401 `{"message": "Bad credentials", "documentation_url": ...}`.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from tests.ingest.fakes import Expected, FakeApi, paged, with_times

TOKEN = "github_pat_11FAKE0000000000000000_fakefakefakefakefake"
REPO, REPO_ID = "acme/checkout-api", 681234
STATUSES = (("in_progress", timedelta(seconds=4)), ("success", timedelta(minutes=2, seconds=40)))


def gh_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user(login: str, kind: str = "User") -> dict:
    return {"login": login, "id": 5120000 + len(login), "type": kind, "site_admin": False}


class GitHubFake(FakeApi):
    type = "github"
    name = "gh"

    def __init__(self, server):
        super().__init__(server)
        self.deployments: list[dict] = []
        self.statuses: dict[int, list[dict]] = {}
        self.releases: list[dict] = []
        self.pulls: list[dict] = []
        self.looping = False

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "github", "base_url": self.url("/"), "token": "${FAKE_GITHUB_TOKEN}",
                "repositories": {REPO: "checkout-api"}, "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_GITHUB_TOKEN": TOKEN}

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        for i in range(count):
            at = start + i * spacing
            did = 900000 + i
            self.deployments.append({
                "url": f"https://api.github.com/repos/{REPO}/deployments/{did}", "id": did, "sha": f"{i:040x}",
                "ref": f"v2.{i}.0", "task": "deploy", "payload": {}, "environment": "production",
                "original_environment": "production", "description": f"Deploy v2.{i}.0", "creator": _user("alice-chen"),
                "created_at": at, "updated_at": at + STATUSES[-1][1], "production_environment": True,
                "statuses_url": f"https://api.github.com/repos/{REPO}/deployments/{did}/statuses"})
            self.statuses[did] = [{"id": 7700000 + i * 10 + n, "state": state, "creator": _user("github-actions[bot]", "Bot"),
                                   "description": f"{state} v2.{i}.0", "environment": "production",
                                   "created_at": at + after, "updated_at": at + after,
                                   "deployment_url": f"https://api.github.com/repos/{REPO}/deployments/{did}",
                                   "log_url": f"https://github.com/{REPO}/actions/runs/{i}"}
                                  for n, (state, after) in reversed(list(enumerate(STATUSES)))]
            self.releases.append({"id": 180000 + i, "tag_name": f"v2.{i}.0", "name": f"v2.{i}.0", "draft": False,
                                  "prerelease": False, "target_commitish": "main", "author": _user("alice-chen"),
                                  "created_at": at - timedelta(minutes=5), "published_at": at - timedelta(minutes=3),
                                  "html_url": f"https://github.com/{REPO}/releases/tag/v2.{i}.0", "body": ""})
            self.pulls.append({"number": 1100 + i, "title": f"Change {i}", "state": "closed", "user": _user("bob-martin"),
                               "created_at": at - timedelta(days=1), "merged_at": at - timedelta(minutes=20),
                               "closed_at": at - timedelta(minutes=20), "updated_at": at - timedelta(minutes=19),
                               "merge_commit_sha": f"{i:040x}", "base": {"ref": "main"},
                               "html_url": f"https://github.com/{REPO}/pull/{1100 + i}"})
        # a closed pull request that was never merged gives nothing
        self.pulls.append({"number": 1999, "title": "Abandoned", "state": "closed", "user": _user("bob-martin"),
                           "created_at": start, "merged_at": None, "closed_at": start, "updated_at": start,
                           "merge_commit_sha": None, "base": {"ref": "main"}})

    def expected(self, window: Window) -> list[Expected]:
        out = [Expected("deployments", f"{REPO}/deployments/{d['id']}", d["created_at"])
               for d in self.deployments if d["created_at"] in window]
        out += [Expected("deployment_statuses", f"{REPO}/deployments/{did}/statuses/{s['id']}", s["created_at"])
                for did, items in self.statuses.items() for s in items if s["created_at"] in window]
        out += [Expected("releases", f"{REPO}/releases/{r['id']}", r["published_at"])
                for r in self.releases if r["published_at"] in window]
        out += [Expected("pulls", f"{REPO}/pulls/{p['number']}", p["merged_at"])
                for p in self.pulls if p["merged_at"] is not None and p["merged_at"] in window]
        return out

    def event_times(self, window: Window) -> dict[str, datetime]:
        return {e.native_id: e.at for e in self.expected(window)}

    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def reject_auth(self, request: Request) -> Response:
        return self.json({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                          "status": "401"}, status=401)

    def loop_pages(self) -> None:
        self.looping = True

    def route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if parts[:3] != ["repos", *REPO.split("/")] and parts[:2] != ["repositories", str(REPO_ID)]:
            return self.json({"message": "Not Found"}, status=404)
        rest = parts[3:] if parts[0] == "repos" else parts[2:]
        if rest == ["deployments"]:
            return self._page(request, sorted(self.deployments, key=lambda d: d["created_at"], reverse=True))
        if len(rest) == 3 and rest[0] == "deployments" and rest[2] == "statuses" and int(rest[1]) in self.statuses:
            return self._page(request, self.statuses[int(rest[1])])
        if rest == ["releases"]:
            return self._page(request, sorted(self.releases, key=lambda r: r["created_at"], reverse=True))
        if rest == ["pulls"]:
            if request.args.get("state") != "closed" or request.args.get("sort") != "updated":
                return self.json({"message": "the connector must ask for closed pulls by update"}, status=422)
            return self._page(request, sorted(self.pulls, key=lambda p: p["updated_at"], reverse=True))
        return self.json({"message": "Not Found"}, status=404)

    def _page(self, request: Request, items: list[dict]) -> Response:
        per_page = min(int(request.args.get("per_page", 30)), 100)
        page_no = int(request.args.get("page", 1))
        page, more = paged(items, (page_no - 1) * per_page, per_page)
        headers = {"X-RateLimit-Remaining": "4999"}
        if more:
            query = {**request.args.to_dict(), "page": str(page_no if self.looping else page_no + 1)}
            rest = request.path.strip("/").split("/")[3:] if request.path.startswith("/repos/") else \
                request.path.strip("/").split("/")[2:]
            url = f"https://api.github.com/repositories/{REPO_ID}/{'/'.join(rest)}?{urlencode(query)}"
            headers["Link"] = f'<{url}>; rel="next", <{url}>; rel="last"'
        return self.json([with_times(x, gh_time) for x in page], headers=headers)
