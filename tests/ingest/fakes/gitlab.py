"""A fake GitLab REST v4: GET /api/v4/projects/:id/deployments (the id a URL-encoded path).

As the real one (docs.gitlab.com/api/deployments): a JSON array of deployments with id,
iid, ref, sha, status, created_at, updated_at, finished_at, user{}, environment{},
deployable{} (the job, with its commit); `order_by=updated_at&sort=asc` with exclusive
`updated_after`/`updated_before`; `pagination=keyset` pages by an opaque cursor named only
in the `Link: <...>; rel="next"` header; `PRIVATE-TOKEN`, a bad one is 401
`{"message": "401 Unauthorized"}`.
"""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from dateutil.parser import isoparse
from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from tests.ingest.fakes import Expected, FakeApi, with_times

TOKEN = "glpat-FAKEfakeFAKEfake0123"
PROJECT = "acme/checkout-api"
# status a deployment ends in, and how long before it finished (and was last updated) it was created
ENDS = ("success", "success", "failed")
DURATION = timedelta(minutes=3, seconds=20)


def gl_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class GitLabFake(FakeApi):
    type = "gitlab"
    name = "gl"
    versioned_streams = frozenset({"deployments"})   # fetched again in each window it changes in

    def __init__(self, server):
        super().__init__(server)
        self.deployments: list[dict] = []
        self.looping = False

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "gitlab", "base_url": self.url("/"), "token": "${FAKE_GITLAB_TOKEN}",
                "projects": {PROJECT: "checkout-api"}, "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_GITLAB_TOKEN": TOKEN}

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        for i in range(count):
            at = start + i * spacing
            status = ENDS[i % len(ENDS)]
            self.deployments.append({
                "id": 41000 + i, "iid": 100 + i, "ref": f"v2.{i}.0", "sha": f"{i:040x}", "status": status,
                "created_at": at - DURATION, "updated_at": at, "finished_at": at,
                "user": {"id": 7, "username": "alice.chen", "name": "Alice Chen", "state": "active"},
                "environment": {"id": 9, "name": "production", "external_url": "https://checkout.acme.example"},
                "deployable": {"id": 880000 + i, "status": status, "stage": "deploy", "name": "deploy_production",
                               "ref": f"v2.{i}.0", "tag": True, "web_url": f"https://gitlab.com/{PROJECT}/-/jobs/{880000 + i}",
                               "commit": {"id": f"{i:040x}", "short_id": f"{i:08x}", "title": f"Release v2.{i}.0"}}})

    def expected(self, window: Window) -> list[Expected]:
        return [Expected("deployments", f"{PROJECT}/deployments/{d['id']}", d["updated_at"])
                for d in self.deployments if d["updated_at"] in window]

    def event_times(self, window: Window) -> dict[str, datetime]:
        out = {}
        for d in self.deployments:
            if d["updated_at"] in window:
                out[f"{PROJECT}/deployments/{d['id']}"] = d["created_at"]
                out[f"{PROJECT}/deployments/{d['id']}/finished"] = d["finished_at"]
        return out

    def authorized(self, request: Request) -> bool:
        return request.headers.get("PRIVATE-TOKEN") == TOKEN

    def reject_auth(self, request: Request) -> Response:
        return self.json({"message": "401 Unauthorized"}, status=401)

    def loop_pages(self) -> None:
        self.looping = True

    def route(self, request: Request) -> Response:
        # werkzeug decodes the %2F of the project path
        if request.path.rstrip("/") != f"/api/v4/projects/{PROJECT}/deployments":
            return self.json({"message": "404 Project Not Found"}, status=404)
        args = request.args
        if args.get("order_by") != "updated_at" or args.get("pagination") != "keyset":
            return self.json({"message": "the connector must ask for keyset pages by updated_at"}, status=405)
        after, before = args.get("updated_after"), args.get("updated_before")
        items = sorted((d for d in self.deployments
                        if (not after or d["updated_at"] > isoparse(after)) and (not before or d["updated_at"] < isoparse(before))),
                       key=lambda d: (d["updated_at"], d["id"]))
        cursor = args.get("cursor")
        start = int(base64.urlsafe_b64decode(cursor).decode()) if cursor else 0
        per_page = min(int(args.get("per_page", 20)), 100)
        page = items[start:start + per_page]
        headers = {}
        if start + per_page < len(items):
            nxt = start if self.looping else start + per_page
            query = {**args.to_dict(), "cursor": base64.urlsafe_b64encode(str(nxt).encode()).decode()}
            headers["Link"] = f'<https://gitlab.com/api/v4/projects/acme%2Fcheckout-api/deployments?{urlencode(query)}>; rel="next"'
        return self.json([with_times(d, gl_time) for d in page], headers=headers)
