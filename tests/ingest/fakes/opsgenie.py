"""A fake Opsgenie Alert API v2: /v2/alerts, /v2/alerts/{id}, /logs and /notes.

Shapes from the Opsgenie OAS: list responses carry data[], paging{first,next}, took and
requestId; paging.next is an absolute URL; logs and notes page with an opaque offset
token, and the real API keeps a next link on the last page (an empty page ends it).
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from tests.ingest.fakes import Expected, FakeApi, paged, with_times

KEY = "0b5f2e53-fake-opsgenie-key-4b1d9e0c"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# (log text, log type, owner, offset from createdAt); the first is skipped by the mapper
LOGS = (("Alert created via API[Prometheus]", "system", "System", timedelta(0)),
        ("Sent [SMS] to ana@acme.example", "alertRecipient", "ana@acme.example", timedelta(minutes=1, milliseconds=250)),
        ("Alert acknowledged via web", "system", "ana@acme.example", timedelta(minutes=5, milliseconds=123)),
        ("Alert closed via web", "system", "ana@acme.example", timedelta(minutes=90)))
NOTE_AT = timedelta(minutes=10, milliseconds=456)


def opsgenie_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def millis(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


class OpsgenieFake(FakeApi):
    type = "opsgenie"
    name = "og"
    context_streams = frozenset({"alerts"})   # listed when they overlap the window

    def __init__(self, server):
        super().__init__(server)
        self.alerts: list[dict] = []
        self.children: dict[tuple[str, str], list[dict]] = {}
        self.looping = False
        self.max_offset = 20_000

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "opsgenie", "base_url": self.url("/"),
                "token": "${FAKE_OPSGENIE_KEY}", "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_OPSGENIE_KEY": KEY}

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        first = len(self.alerts)
        for i in range(first, first + count):
            created = start + (i - first) * spacing
            alert_id = str(uuid.UUID(int=0x70000 + i))
            logs = [{"log": text, "type": kind, "owner": owner, "createdAt": created + after,
                     "offset": f"{millis(created + after)}_{i:03d}{n:03d}"}
                    for n, (text, kind, owner, after) in enumerate(LOGS)]
            notes = [{"note": "rolled back checkout-api to v41", "owner": "ana@acme.example",
                      "createdAt": created + NOTE_AT, "offset": f"{millis(created + NOTE_AT)}_{i:03d}900"}]
            self.children[(alert_id, "logs")] = logs
            self.children[(alert_id, "notes")] = notes
            self.alerts.append({
                "id": alert_id, "tinyId": str(100 + i), "alias": f"checkout-5xx-{i}",
                "message": f"checkout-api 5xx above 5% ({i})", "status": "closed", "acknowledged": True,
                "isSeen": True, "tags": ["checkout"], "snoozed": False, "count": 1,
                "lastOccurredAt": created, "createdAt": created, "updatedAt": created + LOGS[-1][3],
                "source": "Prometheus", "owner": "ana@acme.example", "priority": "P2",
                "responders": [{"type": "team", "id": "team-1"}], "integration": {"type": "API"},
                "report": {"ackTime": 300123, "closeTime": 5_400_000,
                           "acknowledgedBy": "ana@acme.example", "closedBy": "ana@acme.example"}})

    def _overlaps(self, alert: dict, window: Window) -> bool:
        return ((window.until is None or alert["createdAt"] < window.until)
                and (window.since is None or alert["updatedAt"] >= window.since))

    def expected(self, window: Window) -> list[Expected]:
        out = []
        for alert in self.alerts:
            if not self._overlaps(alert, window):
                continue
            out.append(Expected("alerts", alert["id"], alert["createdAt"]))
            for stream in ("logs", "notes"):
                out += [Expected(stream, f"{alert['id']}/{stream}/{x['offset']}", x["createdAt"])
                        for x in self.children[(alert["id"], stream)] if x["createdAt"] in window]
        return out

    def event_times(self, window: Window) -> dict[str, datetime]:
        times = {}
        for e in self.expected(window):
            if e.stream == "alerts" or not e.native_id.endswith("000"):   # created logs are skipped
                times[e.native_id] = e.at
        return times

    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"GenieKey {KEY}"

    def reject_auth(self, request: Request) -> Response:
        return self.json({"message": "Could not authenticate", "took": 0.0,
                          "requestId": str(uuid.uuid4())}, status=401)

    def loop_pages(self) -> None:
        self.looping = True

    def route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if parts == ["v2", "alerts"]:
            return self._alert_list(request)
        if len(parts) == 3 and parts[:2] == ["v2", "alerts"]:
            found = [a for a in self.alerts if a["id"] == parts[2]]
            if not found:
                return self.json({"message": "Alert not found", "took": 0.0, "requestId": "x"}, status=404)
            return self._answer({"data": found[0]})
        if len(parts) == 4 and parts[:2] == ["v2", "alerts"] and parts[3] in ("logs", "notes"):
            return self._children(request, parts[2], parts[3])
        return self.not_found(request)

    def _alert_list(self, request: Request) -> Response:
        items = [a for a in self.alerts if _matches(a, request.args.get("query", ""))]
        limit = min(int(request.args.get("limit", 20)), 100)
        offset = int(request.args.get("offset", 0))
        if offset + limit > self.max_offset:
            return self.json({"message": f"offset + limit should be at most {self.max_offset}",
                              "took": 0.0, "requestId": "x"}, status=422)
        page, more = paged(items, offset, limit)
        paging = {"first": self._link(request, offset=0)}
        if more:
            paging["next"] = self._link(request, offset=offset if self.looping else offset + limit)
        return self._answer({"data": page, "paging": paging})

    def _children(self, request: Request, alert_id: str, stream: str) -> Response:
        items = self.children.get((alert_id, stream))
        if items is None:
            return self.json({"message": "Alert not found", "took": 0.0, "requestId": "x"}, status=404)
        after = request.args.get("offset")
        limit = min(int(request.args.get("limit", 20)), 100)
        start = next((n + 1 for n, x in enumerate(items) if x["offset"] == after), 0) if after else 0
        page = items[start:start + limit]
        paging = {"first": self._link(request, offset=items[0]["offset"])}
        if page:   # the real API links on from the last item, even on the last page
            paging["next"] = self._link(request, offset=after if self.looping and after else page[-1]["offset"])
        return self._answer({"data": page, "paging": paging})

    def _link(self, request: Request, **changes) -> str:
        query = {**request.args.to_dict(), **{k: str(v) for k, v in changes.items()}}
        return "https://api.opsgenie.com" + request.path + "?" + urlencode(query)

    def _answer(self, body: dict) -> Response:
        return self.json(with_times({**body, "took": 0.012, "requestId": str(uuid.uuid4())}, opsgenie_time))


_CLAUSE = re.compile(r"(createdAt|updatedAt)\s*(<|>=)\s*(\d+)")


def _matches(alert: dict, query: str) -> bool:
    for field, op, value in _CLAUSE.findall(query):
        ms = millis(alert[field])
        if (op == "<" and not ms < int(value)) or (op == ">=" and not ms >= int(value)):
            return False
    return True
