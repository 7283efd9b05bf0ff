"""Paginators: small, shared, and they refuse to loop (a repeated cursor is an error)."""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

from .errors import PaginationError
from .http import HttpClient

MAX_PAGES = 100_000


def offset_pages(client: HttpClient, path: str, params: Mapping[str, Any], *,
                 limit: int = 100, more: Callable[[Any, int], bool],
                 offset_param: str = "offset", limit_param: str = "limit") -> Iterator[Any]:
    """offset/limit paging; `more(page, items_seen)` says whether another page follows."""
    offset = 0
    for _ in range(MAX_PAGES):
        page = client.get_json(path, {**params, offset_param: offset, limit_param: limit})
        yield page
        if not more(page, offset + limit):
            return
        offset += limit
    raise PaginationError(client.source, f"more than {MAX_PAGES} pages", stream=path)


def token_pages(client: HttpClient, path: str, params: Mapping[str, Any], *,
                token_param: str, next_token: Callable[[Any], str | None]) -> Iterator[Any]:
    """Cursor/token paging (Jira nextPageToken, Slack next_cursor, Opsgenie paging.next)."""
    seen: set[str] = set()
    token: str | None = None
    for _ in range(MAX_PAGES):
        query = dict(params)
        if token:
            query[token_param] = token
        page = client.get_json(path, query)
        yield page
        token = next_token(page)
        if not token:
            return
        if token in seen:
            raise PaginationError(client.source, f"the API repeated the page token {token[:16]!r}",
                                  stream=path)
        seen.add(token)
    raise PaginationError(client.source, f"more than {MAX_PAGES} pages", stream=path)


def start_at_pages(client: HttpClient, path: str, params: Mapping[str, Any], *,
                   items_key: str, page_size: int = 100) -> Iterator[Any]:
    """Jira's startAt/maxResults/total (+ isLast) paging."""
    start = 0
    for _ in range(MAX_PAGES):
        page = client.get_json(path, {**params, "startAt": start, "maxResults": page_size})
        yield page
        items = page.get(items_key) or []
        start += len(items)
        total = page.get("total")
        if page.get("isLast") is True or not items or (total is not None and start >= total):
            return
    raise PaginationError(client.source, f"more than {MAX_PAGES} pages", stream=path)
