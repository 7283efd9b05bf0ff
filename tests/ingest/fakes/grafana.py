"""A fake Grafana alert state history: GET /api/v1/rules/history as a JSON data frame.

No paging, only `limit` (the newest rows win, as from Loki); from/to are unix seconds.
Service-account tokens go in `Authorization: Bearer`.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from tests.ingest.fakes import Expected, FakeApi

TOKEN = "glsa_FAKEgrafanaServiceAccount_0123abcd"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# (previous, current, offset from the instance's first change)
CHANGES = (("Normal", "Pending", timedelta(0)), ("Pending", "Alerting", timedelta(minutes=1, milliseconds=250)),
           ("Alerting", "Normal", timedelta(minutes=30, milliseconds=5)))
FIELDS = [{"name": "time", "type": "time", "typeInfo": {"frame": "time.Time"}},
          {"name": "line", "type": "other", "typeInfo": {"frame": "json.RawMessage"}},
          {"name": "labels", "type": "other", "typeInfo": {"frame": "json.RawMessage"}}]


def millis(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


class GrafanaFake(FakeApi):
    type = "grafana"
    name = "grafana"

    def __init__(self, server):
        super().__init__(server)
        self.rows: list[dict] = []
        self.looping = False

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "grafana", "base_url": self.url("/"),
                "token": "${FAKE_GRAFANA_TOKEN}", "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_GRAFANA_TOKEN": TOKEN}

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        for i in range(count):
            first = start + i * spacing
            labels = {"alertname": "CheckoutErrors", "instance": f"web-{i}", "severity": "critical",
                      "service": "checkout-api"}
            for previous, current, after in CHANGES:
                self.rows.append({"at": first + after, "line": {
                    "schemaVersion": 1, "previous": previous, "current": current, "error": "",
                    "values": {"B": 7.5, "C": 1}, "condition": "C", "dashboardUID": "", "panelID": 0,
                    "fingerprint": f"{0xab00 + i:016x}", "ruleTitle": "Checkout 5xx", "ruleID": 7,
                    "ruleUID": "checkout-5xx", "labels": labels},
                    "labels": {"folder": "Checkout", "from": "state-history", "group": "slo",
                               "orgID": "1", "service_name": "grafana"}})

    def _native(self, row: dict) -> str:
        line = row["line"]
        return f"{line['ruleUID']}/{line['fingerprint']}/{millis(row['at'])}/{line['current']}"

    def expected(self, window: Window) -> list[Expected]:
        return [Expected("history", self._native(r), r["at"]) for r in self.rows if r["at"] in window]

    def event_times(self, window: Window) -> dict[str, datetime]:
        return {e.native_id: e.at for e in self.expected(window)}

    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def reject_auth(self, request: Request) -> Response:
        return self.json({"extra": None, "message": "Invalid API key", "messageId": "api-key.invalid",
                          "statusCode": 401, "traceID": ""}, status=401)

    def loop_pages(self) -> None:
        """Ignore from/to: every answer is a full page, however narrow the range."""
        self.looping = True

    def route(self, request: Request) -> Response:
        if request.path.rstrip("/") != "/api/v1/rules/history":
            return self.not_found(request)
        lo, hi = int(request.args["from"]) * 1000, int(request.args["to"]) * 1000
        limit = int(request.args.get("limit", 1000))
        rule = request.args.get("ruleUID")
        rows = [r for r in self.rows if self.looping or lo <= millis(r["at"]) <= hi]
        rows = [r for r in rows if not rule or r["line"]["ruleUID"] == rule]
        rows = sorted(rows, key=lambda r: r["at"], reverse=True)[:limit]
        if self.looping:
            rows = (rows * limit)[:limit]
        return self.json({"schema": {"fields": FIELDS}, "data": {"values": [
            [millis(r["at"]) for r in rows], [r["line"] for r in rows], [r["labels"] for r in rows]]}})
