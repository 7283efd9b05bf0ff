"""Pages are followed as the server gives them: a PagerDuty that returns fewer items than
asked (its own cap, named in the answer's `limit`) loses no log entry, through to the
draft's milestones."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from incident_timeline.cli import main
from incident_timeline.ingest.errors import PaginationError
from incident_timeline.ingest.paging import offset_pages, returned
from tests.ingest.fakes.pagerduty import PagerDutyFake
from tests.ingest.lakeview import serve
from tests.ingest.test_conformance import COUNT, SPACING, START, WHOLE, expected_keys, fetch_entry, keys
from tests.support import write_config


@pytest.fixture
def capped(httpserver, monkeypatch, sleeps) -> PagerDutyFake:
    return serve(PagerDutyFake, httpserver, monkeypatch, START, COUNT, SPACING, max_limit=2)


def _offsets(fake: PagerDutyFake, path: str) -> list[int]:
    return [int(r.args["offset"]) for r in fake.served if r.path == path]


@pytest.mark.parametrize("reports_limit", [True, False])
def test_a_server_that_caps_its_pages_loses_no_record(capped, tmp_path, reports_limit):
    if not reports_limit:   # then only the item count tells how many came back
        capped.route = _without_limit(capped.route)
    records = fetch_entry({**capped.source_entry(), "page_size": 5}, tmp_path, WHOLE)
    assert keys(records) == expected_keys(capped, WHOLE)
    entries = _offsets(capped, "/log_entries")
    assert entries == list(range(0, 4 * COUNT, 2))      # 2 at a time, though 5 were asked for
    assert all(r.args["limit"] == "5" for r in capped.served)


def test_the_draft_of_an_incident_on_a_capped_server_has_its_milestones(capped, tmp_path):
    # incidents opened by hand (no alerts): the draft's resolved milestone then comes from
    # the incident's resolve entry alone
    capped.alerts = []
    config = write_config(tmp_path, [{**capped.source_entry(), "page_size": 5}])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--config", str(config), "run", "pagerduty:PINC0003",
                                       "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "postmortem.json").read_text())
    created = START + 3 * SPACING
    rfc3339 = lambda at: at.strftime("%Y-%m-%dT%H:%M:%SZ")   # noqa: E731
    assert report["milestones"]["acknowledged"] == rfc3339(created + timedelta(minutes=5))
    assert report["milestones"]["resolved"] == rfc3339(created + timedelta(minutes=90))
    kinds = {row["kind"] for row in report["timeline"]}
    assert {"alert.triggered", "alert.acknowledged", "alert.annotated", "alert.resolved"} <= kinds


class _Client:
    """Just enough of HttpClient for offset_pages: answers from a list of pages."""
    source = "pd"

    def __init__(self, pages):
        self.pages, self.asked = list(pages), []

    def get_json(self, path, params):
        self.asked.append(params["offset"])
        return self.pages.pop(0)


def test_a_page_that_advances_nothing_is_caught_by_the_repeat_guard():
    page = {"log_entries": [], "limit": 0, "offset": 0, "more": True}
    client = _Client([page, dict(page)])
    with pytest.raises(PaginationError, match="same page twice"):
        list(offset_pages(client, "log_entries", {}, limit=5, more=lambda p, _n: p["more"],
                          items_key="log_entries"))
    assert client.asked == [0, 0]


@pytest.mark.parametrize("page, moved", [
    ({"log_entries": [1, 2], "limit": 2}, 2), ({"log_entries": [1, 2, 3]}, 3),
    ({"log_entries": [1], "limit": None}, 1), ({"log_entries": [1], "limit": "25"}, 1),
    ({"log_entries": [1, 2], "limit": True}, 2), ({"log_entries": [], "limit": 0}, 0), ([], 0),
])
def test_how_far_a_page_moves_the_offset(page, moved):
    assert returned(page, "limit", "log_entries") == moved


def _without_limit(route):
    def answer(request):
        response = route(request)
        body = json.loads(response.get_data())
        if isinstance(body, dict):
            body.pop("limit", None)
            response.set_data(json.dumps(body))
        return response
    return answer
