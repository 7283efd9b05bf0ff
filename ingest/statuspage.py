"""Atlassian Statuspage REST v1: a page's incidents, each with its updates (what customers
were told, and when).

    - name: statuspage
      type: statuspage
      page_id: x1y2z3w4v5u6               # the page's id (Manage > API info)
      api_key_env: STATUSPAGE_API_KEY     # the *name* of the variable holding the API key
      base_url: https://api.statuspage.io # the default
      components:                         # optional: component name -> the service it is
        Checkout: checkout-api

`GET /v1/pages/{page_id}/incidents` answers a JSON list of incidents, newest first, each
carrying its `incident_updates`; it pages by `page` (from 1) with `limit` (the incidents
endpoint's page size, at most 100; `per_page` is sent too, the name Statuspage's other
lists use), and a page shorter than asked, or empty, is the last. There is no time filter,
so every page is read and the window applied on the incident's `updated_at`: an incident is
one record that changes (each update changes it), fetched again in each window it changes
in, its events keeping their ids. The key is sent as `Authorization: OAuth <key>`. A rate
limit answers 420 (older accounts) or 429 with `Retry-After`: both wait.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

import requests

from .api import ApiConnector
from .base import RawRecord, Window, listed
from .errors import PaginationError
from .http import HttpClient
from .paging import MAX_PAGES, RepeatGuard
from .timefilter import iso_time

PAGE_ID = re.compile(r"[A-Za-z0-9]+")
STREAM = "incidents"


def _rate_limited(resp: requests.Response) -> bool:
    return resp.status_code in (420, 429)


def page_number_pages(client: HttpClient, path: str, params: Mapping[str, Any], *, size: int) -> Iterator[Any]:
    """`page=1, 2, ...` until a page holds fewer than `size` items (or is not a list)."""
    repeats = RepeatGuard(client.source, path)
    for number in range(1, MAX_PAGES + 1):
        page = client.get_json(path, {**params, "page": number})
        if isinstance(page, list) and not page:
            return
        repeats.check_page(page)
        yield page
        if not isinstance(page, list) or len(page) < size:
            return
    raise PaginationError(client.source, f"more than {MAX_PAGES} pages", stream=path)


class StatuspageConnector(ApiConnector):
    type = "statuspage"
    api_keys = ("page_id", "api_key_env")
    optional_keys = ("components", "page_size")
    secret_keys = ()
    secret_env_keys = ("api_key_env",)
    default_base_url = "https://api.statuspage.io"

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = []
        page_id = options.get("page_id")
        if page_id is not None and not (isinstance(page_id, str) and PAGE_ID.fullmatch(page_id)):
            problems.append("page_id must be the page's id (letters and digits)")
        if options.get("path") is not None and page_id is None:
            problems.append("page_id is required (the recorded folder holds pages/<page_id>/incidents.json)")
        if options.get("components") is not None and not isinstance(options.get("components"), Mapping):
            problems.append("components must be a mapping of a component's name to its service")
        return problems

    def make_client(self) -> HttpClient:
        base = str(self.settings.get("base_url") or self.default_base_url).rstrip("/")
        return HttpClient(self.name, base + "/v1/", rate_limited=_rate_limited,
                          headers={"Authorization": f"OAuth {self.settings.get('api_key_env')}"})

    def partitions(self) -> list[str]:
        return [str(self.settings.get("page_id"))]

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        page_id = partition

        def record(incident: dict) -> RawRecord | None:
            if iso_time(incident.get("updated_at")) not in window:
                return None
            return RawRecord(STREAM, incident["id"], incident, page_id, page_id)

        size = self.page_size
        paginate = lambda c, p, q: page_number_pages(c, p, q, size=size)  # noqa: E731
        pages = self.pages(f"pages/{page_id}/incidents", {"limit": size, "per_page": size}, paginate)
        yield from self.take(STREAM, (item for page in pages for item in listed(page, "the incidents answer")),
                             record, page_id, page_id)
