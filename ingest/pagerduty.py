"""PagerDuty REST v2: incidents and their log entries.

Times come back in the account's zone unless time_zone=UTC is sent; we send it, and
normalize still honours any offset it finds.
"""
from __future__ import annotations

from typing import Any, Iterator

from .api import ApiConnector
from .base import RawRecord, Window
from .errors import SourceError
from .http import HttpClient
from .paging import offset_pages
from .timefilter import iso_time

PAGE = 100


def _more(page: Any, _seen: int) -> bool:
    return bool(page.get("more"))


class PagerDutyConnector(ApiConnector):
    type = "pagerduty"
    native_id = "id"
    cursor_field = "created_at"
    time_format = "iso8601"
    time_zone = None
    partition_by = "service"
    api_keys = ("base_url", "token")
    optional_keys = ("services",)

    def make_client(self) -> HttpClient:
        return HttpClient(self.name, self.settings.get("base_url"), headers={
            "Authorization": f"Token token={self.settings.get('token')}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        })

    def partitions(self) -> list[str]:
        return list(self.settings.get("services") or [""])

    def _incidents(self, partition: str, window: Window) -> Iterator[dict]:
        params: dict[str, Any] = {"time_zone": "UTC", "sort_by": "created_at"}
        if window.since:
            params["since"] = window.since.isoformat()
        if window.until:
            params["until"] = window.until.isoformat()
        if partition:
            params["service_ids[]"] = partition
        paginate = lambda c, p, q: offset_pages(c, p, q, limit=PAGE, more=_more)  # noqa: E731
        for page in self.pages("incidents", params, paginate):
            for incident in page.get("incidents") or []:
                service = (incident.get("service") or {}).get("id", "")
                if partition and service != partition:
                    continue
                if iso_time(incident.get("created_at")) in window:
                    yield incident

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        for incident in self._incidents(partition, window):
            incident_id = incident["id"]
            yield RawRecord("incidents", incident_id, incident, partition)
            endpoint = f"incidents/{incident_id}/log_entries"
            paginate = lambda c, p, q: offset_pages(c, p, q, limit=PAGE, more=_more)  # noqa: E731
            for page in self.pages(endpoint, {"time_zone": "UTC", "is_overview": "false"}, paginate):
                for entry in page.get("log_entries") or []:
                    yield RawRecord("log_entries", entry["id"], entry, partition, incident_id)

    def incident_window(self, native_id: str) -> Window | None:
        incident = None
        if self.recorded is not None:
            for page in self.recorded.pages("incidents"):
                for item in page.get("incidents") or []:
                    if item.get("id") == native_id:
                        incident = item
        else:
            incident = self.http.get_json(f"incidents/{native_id}", {"time_zone": "UTC"}).get("incident")
        if incident is None:
            raise SourceError(self.name, f"incident {native_id} not found")
        start = iso_time(incident.get("created_at"))
        end = iso_time(incident.get("resolved_at") or incident.get("last_status_change_at"))
        return Window(start, end)
