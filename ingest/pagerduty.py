"""PagerDuty REST v2: incidents, log entries and alerts.

Which endpoint makes [since, until) honest: the global GET /log_entries?since&until,
because an incident created before `since` can still be acknowledged, escalated or
resolved inside the window. Incidents are listed by their own created_at; every
incident a log entry in the window belongs to comes embedded (include[]=incidents), and
its alerts are read from /incidents/{id}/alerts, kept by their own created_at.

Times come back in the account's zone unless time_zone=UTC is sent; we send it, and
every check here (and normalize) still honours whatever offset the API wrote. PagerDuty
answers 400 when offset+limit passes 10,000, so a range with more records than that is
split in halves by time until each half fits.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from .api import ApiConnector
from .base import RawRecord, Window, items_of
from .errors import SourceError
from .http import HttpClient
from .paging import offset_pages
from .timefilter import iso_time

MAX_OFFSET = 10_000                 # offset+limit beyond this: HTTP 400
MAX_RANGE = timedelta(days=180)     # /incidents accepts at most 6 months per query
MIN_SPLIT = timedelta(seconds=1)


class TooManyForOffsetPaging(Exception):
    """This range holds more than PagerDuty will page through: split it."""


def _more(page: Any, _seen: int) -> bool:
    return isinstance(page, dict) and page.get("more") is True


class PagerDutyConnector(ApiConnector):
    type = "pagerduty"
    api_keys = ("base_url", "token")
    optional_keys = ("services", "page_size")

    def make_client(self) -> HttpClient:
        return HttpClient(self.name, self.settings.get("base_url"), headers={
            "Authorization": f"Token token={self.settings.get('token')}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        })

    def partitions(self) -> list[str]:
        return list(self.settings.get("services") or [""])

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        if self.recorded is not None:
            yield from self._fetch_recorded(partition, window)
            return
        window = _bounded(window)
        touched: set[str] = set()

        def incident_record(incident: dict) -> RawRecord | None:
            if not (_in_partition(incident, partition) and iso_time(incident.get("created_at")) in window):
                return None
            record = RawRecord("incidents", incident["id"], incident, partition)
            _touch(touched, incident["id"])
            return record

        yield from self.take("incidents", self._listed("incidents", "incidents", window,
                                                       _incident_params(partition)), incident_record, partition)
        params = {"is_overview": "false", "include[]": "incidents"}

        def entry_record(entry: dict) -> RawRecord | None:
            embedded = entry.get("incident") or {}
            if not _in_partition(entry, partition) and not _in_partition(embedded, partition):
                return None
            if iso_time(entry.get("created_at")) not in window:
                return None
            record = RawRecord("log_entries", entry["id"], entry, partition, embedded.get("id"))
            _touch(touched, embedded.get("id"))
            return record

        yield from self.take("log_entries", self._listed("log_entries", "log_entries", window, params),
                             entry_record, partition)
        for incident_id in sorted(touched):
            yield from self._alerts(incident_id, partition, window)

    def _listed(self, endpoint: str, key: str, window: Window, params: dict) -> Iterator[dict]:
        """Every item of a since/until endpoint, split into ranges PagerDuty can page through."""
        for chunk in _chunks(window, MAX_RANGE):
            yield from self._range(endpoint, key, chunk, params)

    def _range(self, endpoint: str, key: str, window: Window, params: dict) -> Iterator[dict]:
        try:
            items = self._whole_range(endpoint, key, window, params)
        except TooManyForOffsetPaging:
            if window.until - window.since <= MIN_SPLIT:
                raise SourceError(self.name, f"more than {MAX_OFFSET} records within one second",
                                  stream=endpoint) from None
            middle = window.since + (window.until - window.since) / 2
            yield from self._range(endpoint, key, Window(window.since, middle), params)
            yield from self._range(endpoint, key, Window(middle, window.until), params)
            return
        yield from items

    def _whole_range(self, endpoint: str, key: str, window: Window, params: dict) -> list[dict]:
        """One range's items, buffered so that a range too big is split before any is yielded."""
        query = {**params, "time_zone": "UTC", "total": "true",
                 "since": _iso(window.since), "until": _iso(window.until)}
        items: list[dict] = []
        for page in offset_pages(self.http, endpoint, query, limit=self.page_size, more=_more, items_key=key):
            total = page.get("total") if isinstance(page, dict) else None
            if isinstance(total, int) and total > MAX_OFFSET:
                raise TooManyForOffsetPaging()
            items += items_of(page, key)
            if _more(page, 0) and len(items) + self.page_size > MAX_OFFSET:
                raise TooManyForOffsetPaging()
        return items

    def _alerts(self, incident_id: str, partition: str, window: Window) -> Iterator[RawRecord]:
        paginate = lambda c, p, q: offset_pages(c, p, q, limit=self.page_size, more=_more,  # noqa: E731
                                               items_key="alerts")
        for page in self.pages(f"incidents/{incident_id}/alerts", {"time_zone": "UTC"}, paginate):
            yield from self.take("alerts", items_of(page, "alerts"), lambda alert: RawRecord(
                "alerts", alert["id"], alert, partition, incident_id)
                if iso_time(alert.get("created_at")) in window else None, partition, incident_id)

    def _fetch_recorded(self, partition: str, window: Window) -> Iterator[RawRecord]:
        """Saved pages of /incidents and each incident's log entries and alerts."""
        for page in self.recorded.pages("incidents"):
            for incident in items_of(page, "incidents"):
                ids: set[str] = set()

                def incident_record(incident: dict) -> RawRecord | None:
                    if not _in_partition(incident, partition):
                        return None
                    _touch(ids, incident["id"])
                    if iso_time(incident.get("created_at")) in window:
                        return RawRecord("incidents", incident["id"], incident, partition)
                    return None

                yield from self.take("incidents", [incident], incident_record, partition)
                for incident_id in ids:
                    def entry_record(entry: dict, incident_id=incident_id) -> RawRecord | None:
                        if iso_time(entry.get("created_at")) not in window:
                            return None
                        return RawRecord("log_entries", entry["id"], entry, partition, incident_id)

                    for entry_page in self.recorded.pages(f"incidents/{incident_id}/log_entries"):
                        yield from self.take("log_entries", items_of(entry_page, "log_entries"), entry_record,
                                             partition, incident_id)
                    yield from self._alerts(incident_id, partition, window)

    def incident_window(self, native_id: str) -> Window | None:
        incident = None
        if self.recorded is not None:
            for page in self.recorded.pages("incidents"):
                for item in items_of(page, "incidents"):
                    if isinstance(item, dict) and item.get("id") == native_id:
                        incident = item
        else:
            incident = self.http.get_json(f"incidents/{native_id}", {"time_zone": "UTC"}).get("incident")
        if incident is None:
            raise SourceError(self.name, f"incident {native_id} not found")
        start = iso_time(incident.get("created_at"), strict=False)
        end = iso_time(incident.get("resolved_at") or incident.get("last_status_change_at"), strict=False)
        return Window(start, end)


def _touch(ids: set[str], incident_id: Any) -> None:
    """An incident whose alerts are read: only an id that reads as one names a path."""
    if isinstance(incident_id, str) and incident_id and "/" not in incident_id:
        ids.add(incident_id)


def _incident_params(partition: str) -> dict:
    params: dict[str, Any] = {"sort_by": "created_at:asc"}
    if partition:
        params["service_ids[]"] = partition
    return params


def _in_partition(item: dict, partition: str) -> bool:
    return not partition or (item.get("service") or {}).get("id") == partition


def _bounded(window: Window) -> Window:
    """PagerDuty needs both ends: no cursor yet means the last MAX_RANGE."""
    until = window.until or datetime.now(timezone.utc)
    return Window(window.since or until - MAX_RANGE, until)


def _chunks(window: Window, size: timedelta) -> Iterator[Window]:
    start = window.since
    while start < window.until:
        end = min(start + size, window.until)
        yield Window(start, end)
        start = end


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
