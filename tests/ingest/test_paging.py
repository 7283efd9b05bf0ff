"""The paginators and the rate-limit wait, on their own: no server needed."""
from __future__ import annotations

import pytest

from incident_timeline.ingest.errors import PaginationError
from incident_timeline.ingest.http import rate_limit_wait
from incident_timeline.ingest.paging import RepeatGuard, cursor_pages


def _pages(answers: dict):
    asked = []

    def get_page(query: dict):
        asked.append(query.get("cursor"))
        return answers[query.get("cursor")]
    return get_page, asked


def test_cursor_pages_follow_the_token_until_it_is_empty():
    get_page, asked = _pages({None: {"n": 1, "next": "a"}, "a": {"n": 2, "next": "b"}, "b": {"n": 3, "next": ""}})
    pages = list(cursor_pages("s", "things", get_page, {"limit": 2}, token_param="cursor",
                              next_token=lambda p: p["next"]))
    assert [p["n"] for p in pages] == [1, 2, 3] and asked == [None, "a", "b"]


def test_a_token_seen_before_is_an_error_not_a_loop():
    get_page, asked = _pages({None: {"next": "a"}, "a": {"next": "b"}, "b": {"next": "a"}})
    with pytest.raises(PaginationError, match="repeated the page token") as err:
        list(cursor_pages("src", "things", get_page, {}, token_param="cursor", next_token=lambda p: p["next"]))
    assert asked == [None, "a", "b"] and err.value.source == "src" and err.value.stream == "things"


def test_the_same_page_twice_is_an_error():
    guard = RepeatGuard("src", "incidents")
    guard.check_page({"incidents": [{"id": 1}], "more": True})
    guard.check_page({"incidents": [{"id": 2}], "more": True})
    with pytest.raises(PaginationError, match="same page twice"):
        guard.check_page({"more": True, "incidents": [{"id": 1}]})


@pytest.mark.parametrize("headers, wait", [
    ({"Retry-After": "7"}, 7.0),
    ({"ratelimit-reset": "12"}, 12.0),                  # PagerDuty: seconds until reset
    ({"X-RateLimit-Reset": "1700000030"}, 30.0),        # an absolute unix time
    ({"X-RateLimit-Reset": "2026-03-10T00:00Z"}, 0.5),  # not a number: the default
    ({}, 0.5),
])
def test_rate_limit_wait_reads_the_vendor_headers(headers, wait):
    assert rate_limit_wait(headers, default=0.5, now=1_700_000_000) == wait
