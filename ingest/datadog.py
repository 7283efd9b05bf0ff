"""Datadog Events API v2: events, monitor alerts among them.

    - name: datadog
      type: datadog
      site: datadoghq.eu            # default datadoghq.com; the API is https://api.<site>
      api_key_env: DD_API_KEY       # the environment variables holding the keys (these are
      app_key_env: DD_APP_KEY       # the defaults); the application key needs events_read
      query: "source:alert"         # optional: Datadog's event search syntax

`GET /api/v2/events` with `filter[from]`/`filter[to]` (epoch milliseconds), `sort=timestamp`
and `page[limit]`, then the page the answer names: `links.next` (only its query is taken,
asked of our own base URL), else `meta.page.after` as `page[cursor]`; no cursor, or an
empty page, is the last. The window is applied again, half-open, on each event's
`attributes.timestamp` (ISO 8601), whatever the bounds of Datadog's filter. Without a
`since` (a first run with no cursor) the last DEFAULT_LOOKBACK is read: `filter[from]` is
always sent, since without it the API answers only its latest events.

A 401/403 is told apart by asking `GET /api/v1/validate` with the API key alone: a refused
API key, or a valid one with an application key that is wrong or lacks `events_read`.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Mapping
from urllib.parse import urlencode

from .api import ApiConnector
from .base import RawRecord, Window, items_of
from .errors import AuthError, SourceError
from .http import HttpClient
from .paging import next_link_pages
from .timefilter import EPOCH, iso_time

SITES = ("datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com",
         "ap2.datadoghq.com", "uk1.datadoghq.com", "ddog-gov.com", "us2.ddog-gov.com")
DEFAULT_SITE = "datadoghq.com"
KEY_ENVS = {"api_key_env": ("DD_API_KEY", "DD-API-KEY", "API key"),
            "app_key_env": ("DD_APP_KEY", "DD-APPLICATION-KEY", "application key")}
DEFAULT_LOOKBACK = timedelta(days=15)
EVENTS = "api/v2/events"
VALIDATE = "api/v1/validate"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def api_base(site: str) -> str:
    return f"https://api.{site}/"


def _millis(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def _errors(body: Any) -> str:
    """Datadog's error body, `{"errors": ["Forbidden"]}`."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return "; ".join(str(e) for e in body["errors"]) or "no detail"
    return str(body) or "no detail"


class DatadogConnector(ApiConnector):
    type = "datadog"
    api_keys = ()                   # base_url defaults from site:
    optional_keys = ("site", "api_key_env", "app_key_env", "query", "page_size")
    secret_keys = ()                # the keys are read from the environment, by name
    max_page_size = 1000

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = []
        site = options.get("site")
        if site is not None and site not in SITES:
            problems.append(f"site: {str(site)[:60]!r} is not a Datadog site (known: {', '.join(SITES)})")
        for key, (default, _header, what) in KEY_ENVS.items():
            value = options.get(key)
            # never quoted back: a key pasted here instead of a variable's name is a secret
            if value is not None and not (isinstance(value, str) and _ENV_NAME.fullmatch(value)):
                problems.append(f"{key}: must name the environment variable holding the {what} "
                                f"(like {default}), not hold the key itself")
        if options.get("query") is not None and not isinstance(options.get("query"), str):
            problems.append("query: must be a Datadog event search string, like \"source:alert\"")
        return problems

    @property
    def base_url(self) -> str:
        return str(self.settings.get("base_url") or api_base(self.settings.get("site") or DEFAULT_SITE))

    def _keys(self) -> dict[str, str]:
        """Header -> key, read from the variables the config names; one missing is an AuthError
        naming the variable."""
        headers = {}
        for key, (default, header, what) in KEY_ENVS.items():
            variable = self.settings.get(key) or default
            value = os.environ.get(variable)
            if not value:
                raise AuthError(self.name, f"the Datadog {what} is missing: environment variable {variable} "
                                           f"({key}) is not set")
            headers[header] = value
        return headers

    def make_client(self) -> HttpClient:
        keys = self._keys()
        client = HttpClient(self.name, self.base_url, headers=keys, error_message=_errors)
        client.secrets += list(keys.values())   # never quoted back from a response body
        return client

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        def record(event: dict) -> RawRecord | None:
            attributes = event.get("attributes")
            at = iso_time(attributes.get("timestamp")) if attributes is not None else None
            return RawRecord("events", event["id"], event, partition) if at in window else None

        # an unset key variable fails here, named, before any request
        client = self.http if self.recorded is None else None
        try:
            yield from self.take("events", self._events(window), record, partition)
        except AuthError:
            if client is None:
                raise
            raise self._refused_key() from None

    def _events(self, window: Window) -> Iterator[Any]:
        until = window.until or datetime.now(timezone.utc)
        since = window.since or until - DEFAULT_LOOKBACK
        params: dict[str, Any] = {"filter[from]": str(_millis(since)), "filter[to]": str(_millis(until)),
                                  "sort": "timestamp", "page[limit]": self.page_size}
        if self.settings.get("query"):
            params["filter[query]"] = self.settings.get("query")

        def next_page(_resp: Any, page: Any) -> str | None:
            if not isinstance(page, dict) or not page.get("data"):
                return None
            links, meta = page.get("links"), page.get("meta")
            link = links.get("next") if isinstance(links, dict) else None
            if isinstance(link, str) and link:
                return link
            paging = meta.get("page") if isinstance(meta, dict) else None
            cursor = paging.get("after") if isinstance(paging, dict) else None
            if isinstance(cursor, str) and cursor:
                return "?" + urlencode({**params, "page[cursor]": cursor})
            return None

        paginate = lambda c, p, q: next_link_pages(c, p, q, next_link=next_page)  # noqa: E731
        for page in self.pages(EVENTS, params, paginate):
            yield from items_of(page, "data")

    def _refused_key(self) -> AuthError:
        """Which key Datadog refused: /api/v1/validate takes the API key alone."""
        env = {key: self.settings.get(key) or default for key, (default, _h, _w) in KEY_ENVS.items()}
        try:
            self.http.send("GET", VALIDATE, headers={"DD-APPLICATION-KEY": None})
        except AuthError:
            return AuthError(self.name, f"authentication failed: Datadog refused the API key in "
                                        f"{env['api_key_env']} (api_key_env; HTTP 403 on {VALIDATE})")
        except SourceError as exc:
            return AuthError(self.name, f"authentication failed on {EVENTS} (HTTP 401/403), and {VALIDATE} "
                                        f"could not tell which key: {str(exc).split(': ', 1)[-1]}")
        return AuthError(self.name, f"authentication failed: the API key is valid, but Datadog refused the "
                                    f"application key in {env['app_key_env']} (app_key_env), or it lacks the "
                                    f"events_read permission (HTTP 403 on {EVENTS})")
