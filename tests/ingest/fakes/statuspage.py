"""A fake Statuspage REST v1: GET /v1/pages/{page_id}/incidents.

As the real one (the API reference's Incident and IncidentUpdate): a JSON list of
incidents, newest first, each with id, name, status, impact, created_at, updated_at,
resolved_at, shortlink, page_id, components[] and incident_updates[] (id, incident_id,
status, body, created_at, updated_at, display_at, affected_components[{code, name,
old_status, new_status}], deliver_notifications), newest update first; `page` (from 1)
and `limit` (at most 100), no time filter; `Authorization: OAuth <key>`, a bad one 401.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from tests.ingest.fakes import Expected, FakeApi, paged, with_times

KEY = "spkey-FAKEfakeFAKE0123456789"
PAGE = "x1y2z3w4v5u6"
# an incident's updates, and how long before its last (its updated_at) each was posted
STEPS = (("investigating", timedelta(minutes=40)), ("identified", timedelta(minutes=25)),
         ("monitoring", timedelta(minutes=10)), ("resolved", timedelta(0)))


def sp_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class StatuspageFake(FakeApi):
    type = "statuspage"
    name = "sp"
    versioned_streams = frozenset({"incidents"})   # each update changes the incident

    def __init__(self, server):
        super().__init__(server)
        self.incidents: list[dict] = []
        self.looping = False

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "statuspage", "base_url": self.url("/"), "page_id": PAGE,
                "api_key_env": "FAKE_STATUSPAGE_KEY", "components": {"Checkout": "checkout-api"},
                "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_STATUSPAGE_KEY": KEY}

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        for i in range(count):
            last = start + i * spacing
            incident_id = f"inc{i:09d}"
            component = {"id": "cmp000000001", "name": "Checkout", "status": "operational", "group_id": None}
            updates = [{"id": f"upd{i:05d}{n:04d}", "incident_id": incident_id, "status": status,
                        "body": f"Checkout {status} ({i})", "created_at": last - before, "updated_at": last - before,
                        "display_at": last - before, "deliver_notifications": True,
                        "affected_components": [{"code": "cmp000000001", "name": "Checkout",
                                                 "old_status": "operational", "new_status": "partial_outage"}]
                        if n == 0 else None}
                       for n, (status, before) in enumerate(STEPS)]
            self.incidents.append({
                "id": incident_id, "name": f"Elevated checkout errors {i}", "status": "resolved", "impact": "major",
                "created_at": last - STEPS[0][1], "updated_at": last, "monitoring_at": last - STEPS[2][1],
                "resolved_at": last, "started_at": last - STEPS[0][1], "page_id": PAGE,
                "shortlink": f"https://stspg.io/{i:09x}", "components": [component],
                "incident_updates": list(reversed(updates))})

    def expected(self, window: Window) -> list[Expected]:
        return [Expected("incidents", i["id"], i["updated_at"]) for i in self.incidents if i["updated_at"] in window]

    def event_times(self, window: Window) -> dict[str, datetime]:
        return {f"{i['id']}/updates/{u['id']}": u["created_at"]
                for i in self.incidents if i["updated_at"] in window for u in i["incident_updates"]}

    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"OAuth {KEY}"

    def reject_auth(self, request: Request) -> Response:
        return self.json({"error": "Could not authenticate"}, status=401)

    def loop_pages(self) -> None:
        self.looping = True

    def route(self, request: Request) -> Response:
        if request.path != f"/v1/pages/{PAGE}/incidents":
            return self.not_found(request)
        size = min(int(request.args.get("limit") or 100), 100)
        number = 1 if self.looping else max(int(request.args.get("page") or 1), 1)
        newest = sorted(self.incidents, key=lambda i: i["created_at"], reverse=True)
        page, _more = paged(newest, (number - 1) * size, size)
        return self.json(with_times(page, sp_time))
