"""A fake PagerDuty REST v2: /incidents, /log_entries, /incidents/{id}/alerts and /{id}.

Times are rendered in the account's zone (America/New_York) unless the request sends
time_zone, as the real API does; offset+limit beyond max_offset is a 400; a page holds at
most max_limit items, whatever was asked, and its `limit` says so (as PagerDuty's cap of 100).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse
from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from tests.ingest.fakes import Expected, FakeApi, paged

TOKEN = "u+FAKEpdTOKEN0123456789"
SERVICE = "PSVC001"
ACCOUNT_ZONE = ZoneInfo("America/New_York")
# log entry type -> minutes after the incident was created; the resolve lands an hour
# later, so an incident created before a window still has entries inside it.
ENTRIES = (("trigger", 0), ("acknowledge", 5), ("annotate", 10), ("resolve", 90))


class PagerDutyFake(FakeApi):
    type = "pagerduty"
    name = "pd"
    context_streams = frozenset()

    def __init__(self, server):
        super().__init__(server)
        self.incidents: list[dict] = []
        self.entries: list[dict] = []
        self.alerts: list[dict] = []
        self.honour_time_zone = True     # False: ignore time_zone, always the account zone
        self.max_offset = 10_000
        self.reports_total = True         # False: `total` stays null even when asked for
        self.looping = False
        self.max_limit = 100             # the server's own page cap; its answer's `limit` says it

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "pagerduty", "base_url": self.url("/"),
                "token": "${FAKE_PD_TOKEN}", "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_PD_TOKEN": TOKEN}

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        for i in range(count):
            created = start + i * spacing
            incident_id = f"PINC{i:04d}"
            self.incidents.append({
                "id": incident_id, "type": "incident", "incident_number": 100 + i,
                "title": f"Disk full on db-{i}", "summary": f"[#{100 + i}] Disk full on db-{i}",
                "created_at": created, "status": "resolved", "urgency": "high",
                "resolved_at": created + timedelta(minutes=90),
                "service": {"id": SERVICE, "type": "service_reference", "summary": "Checkout"},
                "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}"})
            for kind, minutes in ENTRIES:
                self.entries.append({
                    "id": f"R{kind[:3].upper()}{i:04d}", "type": f"{kind}_log_entry",
                    "summary": f"{kind.title()}d incident #{100 + i}",
                    "created_at": created + timedelta(minutes=minutes),
                    "agent": ({"id": "PUSER01", "type": "user_reference", "summary": "Ana Ops"}
                              if kind in ("acknowledge", "annotate") else
                              {"id": "PSVC001", "type": "service_reference", "summary": "Checkout"}),
                    "channel": {"type": "note" if kind == "annotate" else "api"},
                    "note": "checking the disk" if kind == "annotate" else None,
                    "service": {"id": SERVICE, "type": "service_reference", "summary": "Checkout"},
                    "incident": {"id": incident_id, "type": "incident_reference"}})
            self.alerts.append({
                "id": f"PALRT{i:04d}", "type": "alert", "status": "resolved", "created_at": created,
                "alert_key": f"disk-full-db-{i}", "summary": f"Disk full on db-{i}",
                "severity": "critical", "suppressed": False,
                "service": {"id": SERVICE, "type": "service_reference", "summary": "Checkout"},
                "incident": {"id": incident_id, "type": "incident_reference"}})

    def expected(self, window: Window) -> list[Expected]:
        out = []
        for stream, items in (("incidents", self.incidents), ("log_entries", self.entries),
                              ("alerts", self.alerts)):
            out += [Expected(stream, x["id"], x["created_at"]) for x in items if x["created_at"] in window]
        return out

    def event_times(self, window: Window) -> dict[str, datetime]:
        times = {e["id"]: e["created_at"] for e in self.entries if e["created_at"] in window}
        times.update({f"alert/{a['id']}": a["created_at"] for a in self.alerts if a["created_at"] in window})
        return times

    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Token token={TOKEN}"

    def reject_auth(self, request: Request) -> Response:
        return self.json({"error": {"message": "Unauthorized", "code": 2006}}, status=401)

    def loop_pages(self) -> None:
        self.looping = True

    def route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if parts == ["incidents"]:
            items = [x for x in self.incidents if self._in_range(request, x)
                     and self._service_ok(request, x)]
            return self._page(request, "incidents", items)
        if parts == ["log_entries"]:
            items = [x for x in self.entries if self._in_range(request, x)]
            if "incidents" in request.args.getlist("include[]"):
                by_id = {i["id"]: i for i in self.incidents}
                items = [{**x, "incident": by_id[x["incident"]["id"]]} for x in items]
            return self._page(request, "log_entries", items)
        if len(parts) == 3 and parts[0] == "incidents" and parts[2] == "alerts":
            return self._page(request, "alerts", [a for a in self.alerts if a["incident"]["id"] == parts[1]])
        if len(parts) == 2 and parts[0] == "incidents":
            found = [i for i in self.incidents if i["id"] == parts[1]]
            if not found:
                return self.json({"error": {"message": "Not Found", "code": 2100}}, status=404)
            return self.json({"incident": self._render(request, found[0])})
        return self.not_found(request)

    def _in_range(self, request: Request, item: dict) -> bool:
        since, until = request.args.get("since"), request.args.get("until")
        ts = item["created_at"]
        return (not since or ts >= isoparse(since)) and (not until or ts < isoparse(until))

    @staticmethod
    def _service_ok(request: Request, item: dict) -> bool:
        wanted = request.args.getlist("service_ids[]")
        return not wanted or item["service"]["id"] in wanted

    def _page(self, request: Request, key: str, items: list[dict]) -> Response:
        limit = min(int(request.args.get("limit", 25)), self.max_limit)
        offset = 0 if self.looping else int(request.args.get("offset", 0))
        if offset + limit > self.max_offset:
            return self.json({"error": {"message": "Invalid Input Provided", "code": 2001,
                                        "errors": ["Offset must be less than 10000."]}}, status=400)
        page, more = paged(items, offset, limit)
        total = len(items) if request.args.get("total") == "true" and self.reports_total else None
        return self.json({key: [self._render(request, x) for x in page], "limit": limit,
                          "offset": offset, "more": more or self.looping, "total": total})

    def _render(self, request: Request, item: Any) -> Any:
        """Datetimes as the API writes them: UTC if asked for, else the account's zone."""
        zone = timezone.utc if (self.honour_time_zone and request.args.get("time_zone") == "UTC") \
            else ACCOUNT_ZONE
        if isinstance(item, dict):
            return {k: self._render(request, v) for k, v in item.items() if v is not None}
        if isinstance(item, datetime):
            return item.astimezone(zone).isoformat().replace("+00:00", "Z")
        return item
