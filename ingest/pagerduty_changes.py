"""PagerDuty change events: GET /change_events (REST v2), what CI/CD and config tools sent
to PagerDuty's Events API as `change` events (a deploy, a pull request merged, a flag flipped).

    - name: pd-changes
      type: pagerduty_changes
      token: ${PAGERDUTY_TOKEN}
      base_url: https://api.pagerduty.com
      teams: [PTEAM01]             # optional: team_ids[]
      integrations: [PINTEG1]      # optional: integration_ids[]

Offset paging (`more`), `since`/`until` on the event's `timestamp`, UTC asked for, a range
PagerDuty cannot page through split by time: the pagerduty connector's own list reading.
"""
from __future__ import annotations

from typing import Iterator

from .base import RawRecord, Window, items_of
from .pagerduty import PagerDutyConnector, _bounded
from .timefilter import iso_time


class PagerDutyChangesConnector(PagerDutyConnector):
    type = "pagerduty_changes"
    optional_keys = ("teams", "integrations", "page_size")

    def partitions(self) -> list[str]:
        return [""]

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        def record(event: dict) -> RawRecord | None:
            if iso_time(event.get("timestamp")) not in window:
                return None
            return RawRecord("change_events", event["id"], event, partition)

        if self.recorded is not None:
            for page in self.recorded.pages("change_events"):
                yield from self.take("change_events", items_of(page, "change_events"), record, partition)
            return
        params: dict = {}
        if self.settings.get("teams"):
            params["team_ids[]"] = [str(t) for t in self.settings.get("teams")]
        if self.settings.get("integrations"):
            params["integration_ids[]"] = [str(i) for i in self.settings.get("integrations")]
        yield from self.take("change_events", self._listed("change_events", "change_events", _bounded(window), params),
                             record, partition)

    def incident_window(self, native_id: str) -> Window | None:
        return None
