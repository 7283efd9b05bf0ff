"""Paginators: small, shared, and they refuse to loop (a repeated cursor is an error)."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import parse_qsl, urlsplit

import requests

from .base import too_deep
from .errors import PaginationError
from .http import HttpClient

MAX_PAGES = 100_000


def offset_pages(client: HttpClient, path: str, params: Mapping[str, Any], *,
                 limit: int = 100, more: Callable[[Any, int], bool], items_key: str,
                 offset_param: str = "offset", limit_param: str = "limit") -> Iterator[Any]:
    """offset/limit paging; `more(page, items_seen)` says whether another page follows.

    The next offset follows what the server says it returned, not what was asked: a server
    that caps pages below `limit` (PagerDuty's own maximum, a proxy's) answers with its
    `limit`, else only `items_key`'s items show it; advancing by the asked limit would skip
    the rest. A page that advances nothing is asked again and caught by the repeat guard.
    """
    offset = 0
    repeats = RepeatGuard(client.source, path)
    for _ in range(MAX_PAGES):
        page = client.get_json(path, {**params, offset_param: offset, limit_param: limit})
        repeats.check_page(page)
        yield page
        offset += returned(page, limit_param, items_key)
        if not more(page, offset):
            return
    raise PaginationError(client.source, f"more than {MAX_PAGES} pages", stream=path)


def returned(page: Any, limit_param: str, items_key: str) -> int:
    """How far a page moves the offset: the `limit` the response names when it is a
    positive integer, else the number of items it holds."""
    said = page.get(limit_param) if isinstance(page, dict) else None
    if isinstance(said, int) and not isinstance(said, bool) and said > 0:
        return said
    items = page.get(items_key) if isinstance(page, dict) else None
    return len(items) if isinstance(items, list) else 0


def token_pages(client: HttpClient, path: str, params: Mapping[str, Any], *,
                token_param: str, next_token: Callable[[Any], str | None]) -> Iterator[Any]:
    """Cursor/token paging (Jira nextPageToken, Slack next_cursor, Opsgenie paging.next)."""
    return cursor_pages(client.source, path, lambda query: client.get_json(path, query), params,
                        token_param=token_param, next_token=next_token)


def cursor_pages(source: str, stream: str, get_page: Callable[[dict], Any], params: Mapping[str, Any],
                 *, token_param: str, next_token: Callable[[Any], str | None]) -> Iterator[Any]:
    """The token loop itself, for any client (slack_sdk's WebClient included)."""
    repeats = RepeatGuard(source, stream)
    token: str | None = None
    for _ in range(MAX_PAGES):
        query = dict(params)
        if token:
            query[token_param] = token
        page = get_page(query)
        yield page
        token = next_token(page)
        if not token:
            return
        repeats.check_token(token)
    raise PaginationError(source, f"more than {MAX_PAGES} pages", stream=stream)


class RepeatGuard:
    """Remembers the tokens and pages seen so far: the same one twice means a loop."""

    def __init__(self, source: str, stream: str):
        self.source, self.stream = source, stream
        self._tokens: set[str] = set()
        self._pages: set[str] = set()

    def check_token(self, token: str) -> None:
        if token in self._tokens:
            raise PaginationError(self.source, f"the API repeated the page token {token[:16]!r}",
                                  stream=self.stream)
        self._tokens.add(token)

    def check_page(self, page: Any) -> None:
        """An offset API that ignores the offset sends the same page again: stop."""
        digest = hashlib.sha256(json.dumps(page, sort_keys=True, default=str).encode()).hexdigest()
        if digest in self._pages:
            raise PaginationError(self.source, "the API sent the same page twice", stream=self.stream)
        self._pages.add(digest)


def start_at_pages(client: HttpClient, path: str, params: Mapping[str, Any], *,
                   items_key: str, page_size: int = 100) -> Iterator[Any]:
    """Jira's startAt/maxResults/total (+ isLast) paging."""
    start = 0
    repeats = RepeatGuard(client.source, path)
    for _ in range(MAX_PAGES):
        page = client.get_json(path, {**params, "startAt": start, "maxResults": page_size})
        repeats.check_page(page)
        yield page
        if not isinstance(page, dict):
            return   # no list to page through: the page's own reject says why (items_of)
        items = page.get(items_key)
        items = items if isinstance(items, list) else []
        start += len(items)
        total = page.get("total")
        if page.get("isLast") is True or not items or (isinstance(total, int) and start >= total):
            return
    raise PaginationError(client.source, f"more than {MAX_PAGES} pages", stream=path)


def next_link_pages(client: HttpClient, path: str, params: Mapping[str, Any], *,
                    next_link: Callable[[requests.Response, Any], str | None]) -> Iterator[Any]:
    """Follow a next-page URL (ServiceNow's Link rel="next", Opsgenie's paging.next).

    Only the link's query is taken, asked again of `path` on our own base_url: a link to
    another host (the vendor's, behind a proxy) never receives the credentials.
    """
    query: Mapping[str, Any] = dict(params)
    repeats = RepeatGuard(client.source, path)
    for _ in range(MAX_PAGES):
        resp = client.get(path, query)
        try:
            page = resp.json()
        except ValueError:
            raise client.not_json(resp, path) from None
        except RecursionError:
            page = too_deep(f"the answer of {path}", resp.text)
        repeats.check_page(page)
        yield page
        link = next_link(resp, page)
        if not link:
            return
        query = dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))
        repeats.check_token("&".join(f"{k}={v}" for k, v in sorted(query.items())))
    raise PaginationError(client.source, f"more than {MAX_PAGES} pages", stream=path)


def link_header_next(resp: requests.Response, _page: Any) -> str | None:
    """The RFC 8288 `Link: <...>; rel="next"` target, if any."""
    return (resp.links.get("next") or {}).get("url")
