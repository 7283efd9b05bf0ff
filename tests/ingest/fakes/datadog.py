"""A fake Datadog Events API v2: GET /api/v2/events, and GET /api/v1/validate.

As the real one (docs.datadoghq.com/api/latest/events, the v2 OpenAPI's EventsListResponse):
`{"data": [{id, type: "event", attributes: {timestamp, message, tags, attributes: {...}}}],
"links": {"next": ...}, "meta": {"page": {"after": ...}, "elapsed", "request_id", "status"}}`;
`filter[from]`/`filter[to]` in epoch milliseconds (both bounds taken inclusively here, the
worst case for a half-open window), `filter[from]` defaulting to 15 minutes ago;
`sort=timestamp`; `page[limit]`; `page[cursor]` an opaque token. The keys come as
DD-API-KEY and DD-APPLICATION-KEY headers; a bad one is 403 `{"errors": ["Forbidden"]}`.
`/api/v1/validate` takes the API key alone: `{"valid": true}`. `links_next=False` answers
with `meta.page.after` only.
"""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from tests.ingest.fakes import Expected, FakeApi, with_times

API_KEY = "fakeddapikey0123456789abcdef0123"
APP_KEY = "fakeddappkey0123456789abcdef0123456789ab"
MONITOR = 7312042
# a monitor's transitions, in turn: (title prefix, status, transition type, destination state)
TRANSITIONS = (("Triggered", "error", "alert", "Alert"), ("Recovered", "success", "alert recovery", "OK"),
               ("Warn", "warning", "warn", "Warn"))
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def dd_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def millis(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def monitor_event(i: int, at: datetime) -> dict:
    prefix, status, transition, destination = TRANSITIONS[i % len(TRANSITIONS)]
    group = f"host:web-{i % 2}"
    return {"id": f"AAAAAZK1{i:018d}", "type": "event", "attributes": {
        "timestamp": at, "message": f"%%%\ncheckout-api p99 above 1.2s on {group}\n%%%",
        "tags": ["env:prod", "monitor", "source:alert", "service:checkout-api"],
        "attributes": {"aggregation_key": f"{MONITOR:x}", "monitor_id": MONITOR, "monitor_groups": [group],
                       "priority": "normal", "status": status, "sourcecategory": "alert",
                       "source_type_name": "Monitor Alert", "title": f"[{prefix} on {{{group}}}] checkout-api p99",
                       "timestamp": millis(at), "service": "checkout-api",
                       "evt": {"id": f"70123456789{i:08d}", "source_id": 36, "type": "query_alert_monitor"},
                       "monitor": {"id": MONITOR, "name": "checkout-api p99", "type": "query alert",
                                   "tags": ["service:checkout-api"], "groups": [group],
                                   "transition": {"transition_type": transition, "destination_state": destination},
                                   "result": {"alert_url": f"https://app.datadoghq.com/monitors/{MONITOR}"}}}}}


class DatadogFake(FakeApi):
    type = "datadog"
    name = "dd"

    def __init__(self, server):
        super().__init__(server)
        self.events: list[dict] = []
        self.looping = False
        self.links_next = True

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "datadog", "base_url": self.url("/"), "api_key_env": "FAKE_DD_API_KEY",
                "app_key_env": "FAKE_DD_APP_KEY", "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_DD_API_KEY": API_KEY, "FAKE_DD_APP_KEY": APP_KEY}

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        self.events += [monitor_event(len(self.events) + i, start + i * spacing) for i in range(count)]

    def _at(self, event: dict) -> datetime:
        return event["attributes"]["timestamp"]

    def expected(self, window: Window) -> list[Expected]:
        return [Expected("events", e["id"], self._at(e)) for e in self.events if self._at(e) in window]

    def event_times(self, window: Window) -> dict[str, datetime]:
        return {e["id"]: self._at(e) for e in self.events if self._at(e) in window}

    def authorized(self, request: Request) -> bool:
        api_ok = request.headers.get("DD-API-KEY") == API_KEY
        if request.path == "/api/v1/validate":
            return api_ok
        return api_ok and request.headers.get("DD-APPLICATION-KEY") == APP_KEY

    def reject_auth(self, request: Request) -> Response:
        return self.json({"errors": ["Forbidden"]}, status=403)

    def loop_pages(self) -> None:
        self.looping = True

    def route(self, request: Request) -> Response:
        if request.path == "/api/v1/validate":
            return self.json({"valid": True})
        if request.path != "/api/v2/events":
            return self.json({"errors": ["Not found"]}, status=404)
        args = request.args
        now = datetime.now(timezone.utc)
        since = int(args.get("filter[from]") or millis(now - timedelta(minutes=15)))
        until = int(args.get("filter[to]") or millis(now))
        if args.get("sort", "timestamp") != "timestamp":
            return self.json({"errors": ["the connector must ask oldest first (sort=timestamp)"]}, status=400)
        items = sorted((e for e in self.events if since <= millis(self._at(e)) <= until), key=self._at)
        cursor = args.get("page[cursor]")
        start = int(base64.b64decode(cursor).decode()) if cursor else 0
        limit = min(int(args.get("page[limit]", 10)), 1000)
        page = items[start:start + limit]
        body: dict[str, Any] = {"data": [with_times(e, dd_time) for e in page],
                                "meta": {"elapsed": 42, "request_id": f"req-{start}", "status": "done", "page": {}}}
        if start + limit < len(items):
            after = base64.b64encode(str(start if self.looping else start + limit).encode()).decode()
            body["meta"]["page"]["after"] = after
            if self.links_next:
                query = {k: v for k, v in args.items() if k != "page[cursor]"}
                body["links"] = {"next": f"https://api.datadoghq.com/api/v2/events?{urlencode({**query, 'page[cursor]': after})}"}
        return self.json(body)
