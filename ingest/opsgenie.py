"""Opsgenie Alert API v2: alerts, each alert's activity log and its notes.

base_url is https://api.opsgenie.com, or https://api.eu.opsgenie.com for an EU account.

Window semantics: an alert is fetched when it overlaps [since, until) (created before
`until`, updated at or after `since`), as context for its log entries and notes, which
are kept by their own createdAt inside the window: adjacent windows never repeat them.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlsplit

from .api import ApiConnector
from .base import RawRecord, Window, items_of
from .errors import PaginationError, SourceError
from .http import HttpClient
from .paging import next_link_pages, token_pages
from .timefilter import EPOCH, iso_time

CHILD_STREAMS = ("logs", "notes")
MAX_OFFSET = 20_000   # offset + limit beyond this is refused


def _millis(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def _paging_next(_resp: Any, page: Any) -> str | None:
    if not isinstance(page, dict) or not page.get("data"):
        return None
    paging = page.get("paging")
    link = paging.get("next") if isinstance(paging, dict) else None
    return link if isinstance(link, str) else None


def _next_offset(page: Any) -> str | None:
    """The offset (token) of paging.next; an empty page ends the list (the API links on)."""
    link = _paging_next(None, page)
    return dict(parse_qsl(urlsplit(link).query)).get("offset") if link else None


class OpsgenieConnector(ApiConnector):
    type = "opsgenie"
    api_keys = ("base_url", "token")
    optional_keys = ("query", "page_size")
    max_page_size = 100

    def make_client(self) -> HttpClient:
        return HttpClient(self.name, self.settings.get("base_url"),
                          headers={"Authorization": f"GenieKey {self.settings.get('token')}"})

    def _query(self, window: Window) -> str:
        clauses = [f"({self.settings.get('query')})"] if self.settings.get("query") else []
        if window.until:
            clauses.append(f"createdAt < {_millis(window.until)}")
        if window.since:
            clauses.append(f"updatedAt >= {_millis(window.since)}")
        return " AND ".join(clauses)

    def _alerts(self, window: Window, partition: str) -> Iterator[RawRecord]:
        """Alerts overlapping the window, oldest first. Opsgenie refuses offset + limit past
        MAX_OFFSET: there the list is asked again from the last createdAt seen."""
        seen: set[str] = set()
        created_from: int | None = None
        while True:
            last_ms, restart = created_from, False

            def alert_record(alert: dict) -> RawRecord | None:
                nonlocal last_ms
                created = iso_time(alert.get("createdAt"))
                last_ms = _millis(created) if created is not None else last_ms
                alert_id = alert["id"]
                if not isinstance(alert_id, str):   # two alerts of one odd id are not repeats
                    raise TypeError(f"the alert id is {type(alert_id).__name__}, not a string")
                if alert_id in seen or not self._overlaps(window, alert, created):
                    return None
                record = RawRecord("alerts", alert_id, alert, partition)
                seen.add(alert_id)
                return record

            for page in self._alert_pages(window, created_from):
                yield from self.take("alerts", items_of(page, "data"), alert_record, partition)
                offset = _next_offset(page) or ""
                if offset.isdigit() and int(offset) + self.page_size > MAX_OFFSET:
                    restart = True
                    break
            if not restart:
                return
            if last_ms == created_from:
                raise PaginationError(self.name, f"more than {MAX_OFFSET} alerts created in one "
                                                 "millisecond", stream="v2/alerts")
            created_from = last_ms

    def _alert_pages(self, window: Window, created_from: int | None) -> Iterator[Any]:
        params = {"limit": self.page_size, "offset": 0, "sort": "createdAt", "order": "asc"}
        query = " AND ".join(filter(None, [self._query(window),
                                           f"createdAt >= {created_from}" if created_from else ""]))
        if query:
            params["query"] = query
        paginate = lambda c, p, q: next_link_pages(c, p, q, next_link=_paging_next)  # noqa: E731
        return self.pages("v2/alerts", params, paginate)

    @staticmethod
    def _overlaps(window: Window, alert: dict, created: datetime | None) -> bool:
        updated = iso_time(alert.get("updatedAt")) or created
        return ((window.until is None or created is None or created < window.until)
                and (window.since is None or updated is None or updated >= window.since))

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        for record in self._alerts(window, partition):
            yield record
            alert_id = record.native_id
            if record.stream != "alerts" or not alert_id or "/" in alert_id:
                continue   # unreadable, or an id that names no path: no children to read
            for stream in CHILD_STREAMS:

                def child_record(item: dict, stream=stream) -> RawRecord | None:
                    if iso_time(item.get("createdAt")) not in window:
                        return None
                    native = f"{alert_id}/{stream}/{item.get('offset') or item.get('createdAt')}"
                    return RawRecord(stream, native, item, partition, alert_id)

                yield from self.take(stream, self._children(alert_id, stream), child_record, partition, alert_id)

    def _children(self, alert_id: str, stream: str) -> Iterator[dict]:
        params = {"identifierType": "id", "direction": "next", "order": "asc", "limit": self.page_size}
        paginate = lambda c, p, q: token_pages(c, p, q, token_param="offset",  # noqa: E731
                                              next_token=_next_offset)
        for page in self.pages(f"v2/alerts/{alert_id}/{stream}", params, paginate):
            yield from items_of(page, "data")

    def incident_window(self, native_id: str) -> Window | None:
        alert = None
        if self.recorded is not None:
            for page in self.recorded.pages("v2/alerts"):
                alert = next((a for a in items_of(page, "data")
                              if isinstance(a, dict) and a.get("id") == native_id), alert)
        else:
            alert = self.http.get_json(f"v2/alerts/{native_id}", {"identifierType": "id"}).get("data")
        if not alert:
            raise SourceError(self.name, f"alert {native_id} not found")
        start = iso_time(alert.get("createdAt"), strict=False)
        close_ms = (alert.get("report") or {}).get("closeTime")
        if start is not None and isinstance(close_ms, (int, float)):
            return Window(start, start + timedelta(milliseconds=close_ms))
        end = iso_time(alert.get("updatedAt"), strict=False) if alert.get("status") == "closed" else None
        return Window(start, end)
