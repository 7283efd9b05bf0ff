"""A fake PagerDuty REST v2 GET /change_events: the pagerduty fake's offset paging, since/until
on each event's `timestamp`, account-zone times unless time_zone=UTC, team_ids[] filtering.

Change events as the REST API v2 reference shows them (id, summary, timestamp, type
`change_event`, source, integration, services[], custom_details, links[]), with
custom_details as a CI tool (a GitHub Actions workflow, Argo CD) would send them.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from tests.ingest.fakes import Expected
from tests.ingest.fakes.pagerduty import PagerDutyFake

TEAM = "PTEAM01"


class PagerDutyChangesFake(PagerDutyFake):
    type = "pagerduty_changes"
    name = "pdc"

    def __init__(self, server):
        super().__init__(server)
        self.changes: list[dict] = []

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "pagerduty_changes", "base_url": self.url("/"),
                "token": "${FAKE_PD_TOKEN}", "page_size": self.page_size, "teams": [TEAM]}

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        for i in range(count):
            self.changes.append({
                "id": f"01BBYA6PEVW6A852BUO6Q{i:05d}", "type": "change_event", "timestamp": start + i * spacing,
                "summary": f"Deployed checkout-api v2.{i}.0 to production",
                "source": "github-actions/deploy.yml", "teams": [TEAM],
                "integration": {"id": "PEYSGVF", "type": "inbound_integration_reference"},
                "services": [{"id": "PSVC001", "type": "service_reference", "summary": "checkout-api"}],
                "custom_details": {"version": f"v2.{i}.0", "commit": f"{i:040x}", "environment": "production",
                                   "author": "alice-chen", "build_state": "passed"},
                "links": [{"href": f"https://github.com/acme/checkout-api/actions/runs/{i}", "text": "Run"}]})
        # another team's change: team_ids[] keeps it out
        self.changes.append({**self.changes[0], "id": "01OTHERTEAM0000000000000", "teams": ["PTEAM99"]})

    def expected(self, window: Window) -> list[Expected]:
        return [Expected("change_events", c["id"], c["timestamp"]) for c in self.changes
                if c["timestamp"] in window and TEAM in c["teams"]]

    def event_times(self, window: Window) -> dict[str, datetime]:
        return {e.native_id: e.at for e in self.expected(window)}

    def route(self, request: Request) -> Response:
        if request.path.strip("/") != "change_events":
            return self.not_found(request)
        teams = request.args.getlist("team_ids[]")
        items = [{k: v for k, v in c.items() if k != "teams"} for c in self.changes
                 if self._in_range(request, c) and (not teams or set(teams) & set(c["teams"]))]
        return self._page(request, "change_events", items)

    def _in_range(self, request: Request, item: dict) -> bool:
        return super()._in_range(request, {"created_at": item["timestamp"]})
