"""Grafana alerting: rule state history (GET /api/v1/rules/history), a JSON data frame.

The endpoint has no paging, only `limit`: when a window comes back full, it is split in
two and each half asked again, down to one second. Each row is a state transition
(previous -> current) of one alert instance (its labels and fingerprint) at a time in
epoch milliseconds.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any, Iterator

from .api import ApiConnector
from .base import RECORD_ERRORS, PageProblem, RawRecord, Window
from .errors import PaginationError
from .http import HttpClient
from .timefilter import EPOCH, record_time

ENDPOINT = "api/v1/rules/history"


def frame_rows(body: Any, source: str) -> list:
    """The rows of a data frame (or of the first frame of a list) as {field: value} dicts.
    A JSON body that is no data frame is one PageProblem (an unreadable record) instead."""
    if body == []:
        return []
    if isinstance(body, PageProblem):
        return [body]
    frame = body[0] if isinstance(body, list) else body
    try:
        names = [str(f["name"]).lower() for f in frame["schema"]["fields"]]
        columns = frame["data"]["values"]
        if len(columns) != len(names):
            return [PageProblem("data.values", f"data frame has {len(names)} fields but {len(columns)} columns",
                                body)]
        return [dict(zip(names, values)) for values in zip(*columns)]
    except RECORD_ERRORS:
        if isinstance(frame, dict) and "schema" in frame and not frame.get("data"):
            return []   # an empty frame may come without data
        return [PageProblem("<body>", "the state history is not a data frame (schema.fields, data.values)",
                            body)]


class GrafanaConnector(ApiConnector):
    type = "grafana"
    api_keys = ("base_url", "token")
    optional_keys = ("rules", "page_size")
    max_page_size = 5000

    def make_client(self) -> HttpClient:
        return HttpClient(self.name, self.settings.get("base_url"),
                          headers={"Authorization": f"Bearer {self.settings.get('token')}"})

    def partitions(self) -> list[str]:
        return [str(uid) for uid in self.settings.get("rules") or [""]]

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        if self.recorded is not None:
            rows = [r for page in self.recorded.pages(ENDPOINT) for r in frame_rows(page, self.name)]
        else:
            lo = math.floor(((window.since or EPOCH) - EPOCH).total_seconds())
            hi = math.ceil(((window.until or datetime.now(timezone.utc)) - EPOCH).total_seconds()) + 1
            rows = list(self._history(partition, lo, hi, set()))
        yield from self.take("history", rows, lambda row: self._record(row, partition, window), partition)

    def _record(self, row: dict, partition: str, window: Window) -> RawRecord | None:
        if record_time(row.get("time"), self.time_format) not in window:
            return None
        line = row.get("line") if isinstance(row.get("line"), dict) else {}
        if partition and line.get("ruleUID") not in (None, partition):
            return None
        native = f"{line.get('ruleUID')}/{line.get('fingerprint')}/{row.get('time')}/{line.get('current')}"
        payload = {"time": row.get("time"), "line": row.get("line"), "labels": row.get("labels")}
        return RawRecord("history", native, payload, partition, line.get("ruleUID"))

    def _history(self, rule: str, lo: int, hi: int, unplaced: set[str]) -> Iterator[dict]:
        """Rows in [lo, hi) seconds; a full answer is split in halves until it fits. A row
        whose time cannot be placed is kept (normalize rejects it), once whichever halves
        the server answered it in (`unplaced`: those already kept)."""
        params: dict[str, Any] = {"from": lo, "to": hi, "limit": self.page_size}
        if rule:
            params["ruleUID"] = rule
        rows = frame_rows(self.http.get_json(ENDPOINT, params), self.name)
        if len(rows) >= self.page_size:
            if hi - lo <= 1:
                raise PaginationError(self.name, f"more than {self.page_size} state changes in one second; "
                                                 "raise `page_size:`", stream="history")
            mid = (lo + hi) // 2
            yield from self._history(rule, lo, mid, unplaced)
            yield from self._history(rule, mid, hi, unplaced)
            return
        for row in rows:
            # a row that is no object, or whose time cannot be placed, is kept (a reject), once
            at = record_time(row.get("time"), self.time_format, strict=False) if isinstance(row, dict) else None
            if at is None:
                key = json.dumps(row, sort_keys=True, default=repr)
                if key not in unplaced:
                    unplaced.add(key)
                    yield row
            elif lo <= (at - EPOCH).total_seconds() < hi:
                yield row

