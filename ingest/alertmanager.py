"""Prometheus Alertmanager: webhook payloads captured as JSON lines, and the v2 alerts API.

History lives only in the webhook: a receiver that appends every POSTed payload (version
"4", alerts[]) to a file. `path:` names that file (or a glob of rotated files). Each
alert in a payload becomes one raw record: the payload's group fields plus that one alert,
verbatim; a re-sent notification of the same state gives the same native id.

`base_url:` adds a snapshot of what is firing now (GET /api/v2/alerts): the API keeps no
history and has no paging.

A line that is not a JSON object becomes an `unreadable` record that normalize rejects
with its reason: it is never dropped silently.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from incident_timeline.contract.alertmanager import alert_fingerprint

from .base import Connector, PageProblem, RawRecord, Window
from .file import MAX_SHOWN, line_records, matching_files, placed
from .http import HttpClient
from .timefilter import iso_time

NOT_ENDED = "0001-01-01T00:00:00Z"


def alert_time(alert: dict) -> str | None:
    """The time an alert's state took effect: endsAt once resolved, else startsAt."""
    ends = alert.get("endsAt")
    if alert.get("status") == "resolved" and ends and not str(ends).startswith("0001-"):
        return ends
    return alert.get("startsAt")


def alert_key(alert: dict) -> str | None:
    """fingerprint@startsAt: one alert instance. An alert without a fingerprint gets the one
    Alertmanager would compute from its labels; None when it has no labels to compute from."""
    fingerprint, _computed = alert_fingerprint(alert)
    return f"{fingerprint}@{alert.get('startsAt')}" if fingerprint else None


class AlertmanagerConnector(Connector):
    type = "alertmanager"
    api_keys = ("base_url",)
    optional_keys = ("token",)

    def __init__(self, settings):
        super().__init__(settings)
        self._http: HttpClient | None = None

    def partitions(self) -> list[str]:
        modes = []
        if self.settings.get("path") is not None:
            modes.append("webhook")
        if self.settings.get("base_url"):
            modes.append("api")
        return modes

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        if partition == "api":
            yield from self._snapshot(window)
        else:
            yield from self._webhook(window)

    def _webhook(self, window: Window) -> Iterator[RawRecord]:
        seen: set[str] = set()
        for path in matching_files(self.name, self.settings.path(), str(self.settings.get("path"))):
            for record in placed(self._notifications(path), window):
                if record.native_id not in seen:   # a repeat notification of the same state
                    seen.add(record.native_id)
                    yield record

    def _notifications(self, path: Path):
        for line_no, payload, problem in line_records(path):
            where = f"{path.name}:{line_no}"
            if problem is None and not isinstance(payload.get("alerts"), list):
                problem = {"file": path.name, "line": line_no, "error": "payload has no alerts[] list",
                           "text": json.dumps(payload)[:MAX_SHOWN]}
            if problem is not None:
                yield None, RawRecord("unreadable", where, problem, "webhook", where)
                continue
            group = {k: v for k, v in payload.items() if k != "alerts"}
            for i, alert in enumerate(payload["alerts"]):
                if not isinstance(alert, dict):
                    yield None, RawRecord("unreadable", f"{where}#{i}", {
                        "file": path.name, "line": line_no, "error": f"alerts[{i}] is not an object",
                        "text": json.dumps(alert)[:MAX_SHOWN]}, "webhook", where)
                    continue
                at: list = []

                def build(alert: dict) -> RawRecord:
                    key = alert_key(alert)
                    # no fingerprint and no labels to compute one: its own id, so that it is
                    # kept (and rejected by normalize) rather than merged with another
                    native = f"{key}:{alert.get('status')}" if key else f"unidentified@{where}#{i}"
                    at.append(iso_time(alert_time(alert)))
                    return RawRecord("notifications", native, {**group, "alert": alert},
                                     "webhook", payload.get("groupKey"))

                for record in self.take("notifications", [alert], build, "webhook", where):
                    yield (at[0] if record.stream == "notifications" else None), record

    def _snapshot(self, window: Window) -> Iterator[RawRecord]:
        alerts = self.http.get_json("api/v2/alerts", {"active": "true", "silenced": "true",
                                                      "inhibited": "true"})
        if isinstance(alerts, PageProblem):
            alerts = [alerts]
        elif not isinstance(alerts, list):
            alerts = [PageProblem("<body>", f"GET /api/v2/alerts returned {type(alerts).__name__}, "
                                  "not a list", alerts)]
        # the API always sends a fingerprint
        yield from self.take("alerts", alerts, lambda alert: RawRecord("alerts", str(alert_key(alert)), alert, "api")
                             if iso_time(alert.get("startsAt")) in window else None, "api")

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            token = self.settings.get("token")
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            self._http = HttpClient(self.name, self.settings.get("base_url"), headers=headers)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.session.close()
