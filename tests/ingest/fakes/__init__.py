"""Fake vendor APIs for the connector conformance suite: one module per connector type.

Each fake is a small in-memory imitation of one real API, served by pytest-httpserver on
the real paths with the real field names, pagination, rate-limit, server-error and auth
responses (check them against the vendor's spec, not against our fixtures). The shared
suite in tests/ingest/test_conformance.py drives every fake through the same tests, so a
connector is conformant when its fake is listed in FAKES below.

How to add a connector type `x`:

1. Write `tests/ingest/fakes/x.py` with a subclass of `FakeApi`:

   - `type = "x"` (the connector type in ingest/registry.py);
   - `context_streams`: streams that are not bound to the time window (users, channels),
     and `versioned_streams`: snapshots re-fetched whenever they change (Jira issues);
   - `source_entry()`: the connectors.yaml entry for this fake (name, type, base_url from
     `self.url(...)`, every secret as `${ENV}`), and `environment()`: those env vars;
   - `populate(start, count, spacing)`: create `count` primary records at
     start, start + spacing, ... (with whatever children the API has: log entries,
     replies, comments). Spread the data over several pages: keep `page_size` small;
   - `expected(window)`: every raw record (stream, native id, the time the connector
     filters it on) that `fetch` over the half-open window must yield, exactly once;
   - `event_times(window)`: canonical event native_id -> the right UTC time, for the
     events that normalising those records must give;
   - `route(request)`: answer one authorised request (a werkzeug Response), e.g. with
     `self.json(...)`; unknown paths: `self.not_found(request)`;
   - `authorized(request)` and `reject_auth(request)`: how the real API tells a bad token;
   - `name`: the source's name in the entry (tests look for it in error lines), and
     `secrets()` if not every environment value is secret (default: all of them);
   - `loop_pages()`: make the API's pagination repeat itself (same token or same page).

2. Add `"x": "tests.ingest.fakes.x:XFake"` to FAKES (a variant of one type, like Jira
   Data Center, gets its own label).

What the base class does for you: one catch-all handler on the server that logs every
request (`self.requests`), serves injected failures first (`fail_next(429, {"Retry-After":
"3"})`, `fail_next(503)`), checks auth (`break_auth()` flips the accepted token), then
calls `route`. Retries are made instant by the `sleeps` fixture (tests/ingest/conftest.py),
which replaces ingest.http.sleep, the one sleep every HTTP retry goes through; it records
the waits so a test can check Retry-After was honoured.
"""
from __future__ import annotations

import importlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, ClassVar

from pytest_httpserver import HTTPServer
from pytest_httpserver.httpserver import URIPattern
from werkzeug import Request, Response

from incident_timeline.ingest.base import Window

# a label (the connector type, or type-variant) -> "module:Class" of its fake.
FAKES: dict[str, str] = {
    "slack": "tests.ingest.fakes.slack:SlackFake",
    "pagerduty": "tests.ingest.fakes.pagerduty:PagerDutyFake",
    "jira": "tests.ingest.fakes.jira:JiraCloudFake",
    "jira-datacenter": "tests.ingest.fakes.jira:JiraDataCenterFake",
    "opsgenie": "tests.ingest.fakes.opsgenie:OpsgenieFake",
    "servicenow": "tests.ingest.fakes.servicenow:ServiceNowFake",
    "grafana": "tests.ingest.fakes.grafana:GrafanaFake",
    "github": "tests.ingest.fakes.github:GitHubFake",
    "pagerduty_changes": "tests.ingest.fakes.pagerduty_changes:PagerDutyChangesFake",
    "gitlab": "tests.ingest.fakes.gitlab:GitLabFake",
    "datadog": "tests.ingest.fakes.datadog:DatadogFake",
    "teams": "tests.ingest.fakes.teams:TeamsFake",
    "statuspage": "tests.ingest.fakes.statuspage:StatuspageFake",
}


@dataclass(frozen=True)
class Expected:
    stream: str        # RawRecord.stream
    native_id: str     # RawRecord.native_id
    at: datetime       # the UTC time the connector filters this record on


@dataclass
class Injected:
    status: int
    headers: dict[str, str]
    body: Any


class FakeApi(ABC):
    type: ClassVar[str]
    context_streams: ClassVar[frozenset[str]] = frozenset()
    # snapshots fetched again in each window they change in (a Jira issue): adjacent
    # windows may both hold one; within one fetch it still comes once
    versioned_streams: ClassVar[frozenset[str]] = frozenset()
    page_size: ClassVar[int] = 3
    name: ClassVar[str] = "fake"          # the source name in connectors.yaml

    def __init__(self, server: HTTPServer):
        self.server = server
        self.requests: list[Request] = []        # every request, including failed ones
        self.served: list[Request] = []          # requests answered by route()
        self._failures: list[Injected] = []
        self.auth_broken = False
        server.expect_request(_ANY).respond_with_handler(self._dispatch)

    # ---- what each fake defines -------------------------------------------------------
    @abstractmethod
    def source_entry(self) -> dict[str, Any]:
        """The connectors.yaml source entry; secrets as ${ENV} references."""

    @abstractmethod
    def environment(self) -> dict[str, str]:
        """Environment variables the entry's ${ENV} references need (the secrets)."""

    @abstractmethod
    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        """Create `count` primary records (and their children) from `start` on."""

    @abstractmethod
    def expected(self, window: Window) -> list[Expected]:
        """Every raw record fetch() over `window` must yield once (context streams too)."""

    @abstractmethod
    def event_times(self, window: Window) -> dict[str, datetime]:
        """Canonical event native_id -> its right UTC time, for the expected records."""

    @abstractmethod
    def route(self, request: Request) -> Response:
        """Answer one authorised request as the real API does."""

    @abstractmethod
    def authorized(self, request: Request) -> bool:
        """Whether the request carries the credentials from environment()."""

    @abstractmethod
    def loop_pages(self) -> None:
        """From now on, pagination repeats itself (the same cursor or page again)."""

    def reject_auth(self, request: Request) -> Response:
        """The real API's answer to a bad credential (Slack overrides: 200 + ok:false)."""
        return self.json({"error": "invalid credentials"}, status=401)

    def secrets(self) -> list[str]:
        """Strings that must never appear in the lake, logs or error messages."""
        return list(self.environment().values())

    # ---- what the suite uses ----------------------------------------------------------
    def fail_next(self, status: int, headers: dict[str, str] | None = None, body: Any = None,
                  times: int = 1) -> None:
        """The next `times` requests get this answer instead of the real one (`body` may be
        a function of the request returning the whole werkzeug Response)."""
        for _ in range(times):
            self._failures.append(Injected(status, headers or {}, body))

    def break_auth(self) -> None:
        """Every later request is treated as carrying a wrong credential."""
        self.auth_broken = True

    def url(self, path: str = "/") -> str:
        return self.server.url_for(path)

    @staticmethod
    def json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(body), status=status, headers=headers or {},
                        content_type="application/json; charset=utf-8")

    def not_found(self, request: Request) -> Response:
        return self.json({"error": f"no route {request.method} {request.path}"}, status=404)

    def _dispatch(self, request: Request) -> Response:
        self.requests.append(request)
        if self._failures:
            f = self._failures.pop(0)
            if callable(f.body):   # a whole answer of its own, made from the request (a proxy's page)
                return f.body(request)
            return self.json(f.body if f.body is not None else {"error": f"injected {f.status}"},
                             status=f.status, headers=f.headers)
        if self.auth_broken or not self.authorized(request):
            return self.reject_auth(request)
        self.served.append(request)
        return self.route(request)


class _AnyPath(URIPattern):
    """Every path: one handler per fake, which routes by itself."""

    def match(self, uri: str) -> bool:
        return True


_ANY = _AnyPath()


def load_fake(type_: str, server: HTTPServer) -> FakeApi:
    module, _, cls = FAKES[type_].partition(":")
    return getattr(importlib.import_module(module), cls)(server)


def paged(items: list, start: int, size: int) -> tuple[list, bool]:
    """items[start:start+size] and whether more follow: the fakes' shared slicing."""
    return items[start:start + size], start + size < len(items)


def with_times(item: Any, as_text: Callable[[datetime], str]) -> Any:
    """A fake's record as its API writes it: every datetime, however deep, as that API's text."""
    if isinstance(item, dict):
        return {k: with_times(v, as_text) for k, v in item.items()}
    if isinstance(item, list):
        return [with_times(v, as_text) for v in item]
    if isinstance(item, datetime):
        return as_text(item)
    return item
