"""Slack Web API: channel history, every thread's replies, users and channel info.

Through slack_sdk's own WebClient (its `base_url` points it at a proxy or a test server)
with its rate-limit, server-error and connection retry handlers; their waits go through
ingest.http.sleep like every other retry here. Slack reports most errors inside an HTTP
200 body (`ok: false`): an auth or scope error stops the source with one line naming
what is missing (for missing_scope, the `needed` scope).

Recorded mode (`path:`) reads the same pages from a folder: users.list.json, and per
channel <id>/conversations.info.json, <id>/conversations.history.json (.page-2.json, ...)
and <id>/conversations.replies/<thread ts>.json.

Replies are the messages people forget: conversations.history lists only a thread's
parent, so every thread with replies is read with conversations.replies, and threads
started up to `thread_lookback` (default 7d) before the window are re-read too, because
a late reply to an old thread lands inside the window while its parent does not.
"""
from __future__ import annotations

import logging
import random
import re
from datetime import timedelta
from typing import Any, Iterator
from urllib.error import URLError

from requests.structures import CaseInsensitiveDict
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (ConnectionErrorRetryHandler,
                                                   RateLimitErrorRetryHandler,
                                                   ServerErrorRetryHandler)

from incident_timeline.contract.durations import parse_duration
from incident_timeline.contract.secrets import snippet

from . import http
from .api import ApiConnector
from .base import RawRecord, Window, items_of, too_deep
from .errors import AuthError, ConfigError, RetriesExhausted, SourceError
from .paging import cursor_pages
from .timefilter import EPOCH, epoch_time, to_epoch_str

AUTH_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
               "no_permission", "not_allowed_token_type", "ekm_access_denied", "team_access_not_granted"}
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
DEFAULT_LOOKBACK = "7d"
# slack_sdk puts a body it cannot decode (the first 100 characters: a proxy's page may echo
# the token, and cut it where no pattern finds it) into its error text and its log.
NOT_JSON = "Received a response in a non-JSON format"


class SlackConnector(ApiConnector):
    type = "slack"
    api_keys = ("base_url", "token", "channels")
    optional_keys = ("channels", "thread_lookback", "page_size", "workspace_url")
    max_page_size = 200     # Slack's advice for conversations.* and users.list

    def __init__(self, settings):
        super().__init__(settings)
        self._web: WebClient | None = None
        self._ids: list[str] | None = None

    @property
    def web(self) -> WebClient:
        if self._web is None:  # built lazily: no network work while config loads
            self._web = web_client(self.settings.get("token"), self.settings.get("base_url"))
        return self._web

    def partitions(self) -> list[str]:
        # "" carries the workspace's users and the channels' info; then one per channel.
        return [""] + self._channel_ids()

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        if partition == "":
            yield from self._context()
            return
        channel = partition
        seen: set[str] = set()
        threads: set[str] = set()

        def message_record(message: dict) -> RawRecord | None:
            ts = message.get("ts")
            thread = _is_thread_parent(message)
            # a repeated ts is the same message on two pages; a ts that is no string names none
            fresh = epoch_time(ts) in window and not (isinstance(ts, str) and ts in seen)
            if thread:
                threads.add(ts)
            if fresh and isinstance(ts, str):
                seen.add(ts)
            if fresh:
                return RawRecord("messages", f"{channel}:{ts}", message, channel, channel)
            return None

        yield from self.take("messages", self._history(channel, window.since, window.until), message_record,
                             channel, channel)
        if window.since is not None:
            lookback = self._lookback()

            def old_thread(message: dict) -> None:
                latest = epoch_time(message.get("latest_reply"))
                if _is_thread_parent(message) and latest is not None and latest >= window.since:
                    threads.add(message["ts"])

            # messages before the window were taken by an earlier run: only their threads count
            for _ in self.take("messages", self._history(channel, window.since - lookback, window.since),
                               old_thread):
                pass
        for thread_ts in sorted(threads, key=_thread_order):

            def reply_record(reply: dict, thread_ts=thread_ts) -> RawRecord | None:
                ts = reply.get("ts")
                if ts == thread_ts or (isinstance(ts, str) and ts in seen) or epoch_time(ts) not in window:
                    return None
                if isinstance(ts, str):
                    seen.add(ts)
                return RawRecord("replies", f"{channel}:{ts}", reply, channel, channel)

            yield from self.take("replies", self._replies(channel, thread_ts, window), reply_record,
                                 channel, channel)

    def _context(self) -> Iterator[RawRecord]:
        for page in self._pages("users.list", {}, "users.list"):
            yield from self.take("users", items_of(page, "members"),
                                 lambda user: RawRecord("users", user["id"], user, ""))
        for channel in self._channel_ids():
            for page in self._pages("conversations.info", {"channel": channel},
                                    f"{channel}/conversations.info"):
                info = [page.get("channel") or {}] if isinstance(page, dict) else items_of(page, "channel")
                yield from self.take("channels", info, lambda info, channel=channel: RawRecord(
                    "channels", info.get("id", channel), info, ""))

    def _history(self, channel: str, since, until) -> Iterator[dict]:
        params = {"channel": channel, **_bounds(since, until)}
        for page in self._pages("conversations.history", params, f"{channel}/conversations.history"):
            yield from items_of(page, "messages")

    def _replies(self, channel: str, thread_ts: str, window: Window) -> Iterator[dict]:
        params = {"channel": channel, "ts": thread_ts, **_bounds(window.since, window.until)}
        for page in self._pages("conversations.replies", params,
                                f"{channel}/conversations.replies/{thread_ts}"):
            yield from items_of(page, "messages")

    def _pages(self, method: str, params: dict, recorded_as: str) -> Iterator[dict]:
        """Every page of one method: saved pages under `path:`, or the live API by cursor."""
        if self.recorded is not None:
            yield from self.recorded.pages(recorded_as)
            return
        if method != "conversations.info":
            params = {**params, "limit": self.page_size}
        yield from cursor_pages(self.name, method, lambda query: self._call(method, query), params,
                                token_param="cursor", next_token=_next_cursor)

    def _call(self, method: str, params: dict) -> dict:
        try:
            return self.web.api_call(method, http_verb="GET", params=params).data
        except SlackApiError as exc:
            raise _slack_error(self.name, method, exc.response, [self.web.token or ""]) from None
        except (URLError, OSError) as exc:
            raise RetriesExhausted(self.name, f"connection error ({type(exc).__name__}) after retries",
                                   stream=method) from None
        except ValueError as exc:
            # json.JSONDecodeError: a body cut short (a dropped connection, a proxy) under a
            # JSON content type; slack_sdk lets it through bare. The body is never quoted.
            where = f"channel {params['channel']}" if params.get("channel") else None
            raise SourceError(self.name, f"the answer is not complete JSON ({_json_problem(exc)}): "
                              "cut short or damaged on the way", stream=method, page=where) from None
        except RecursionError:   # JSON nested deeper than Python reads: that page's reject
            return too_deep(f"the answer of {method}", "")

    def _channel_ids(self) -> list[str]:
        """Configured channels as ids; names are looked up once with conversations.list."""
        if self._ids is None:
            wanted = [str(c) for c in self.settings.get("channels") or []]
            if self.recorded is not None and not wanted:
                wanted = sorted(d.name for d in self.recorded.root.iterdir()
                                if self.recorded.exists(f"{d.name}/conversations.history"))
            if self.recorded is not None or all(CHANNEL_ID.match(c) for c in wanted):
                self._ids = wanted
            else:
                self._ids = self._resolve(wanted)
        return self._ids

    def _resolve(self, wanted: list[str]) -> list[str]:
        by_name: dict[str, str] = {}
        params = {"types": "public_channel,private_channel", "exclude_archived": "false"}
        for page in self._pages("conversations.list", params, "conversations.list"):
            for channel in items_of(page, "channels"):
                if isinstance(channel, dict) and isinstance(channel.get("id"), str):
                    by_name[str(channel.get("name", ""))] = channel["id"]
        ids = []
        for item in wanted:
            name = item.lstrip("#")
            if CHANNEL_ID.match(item):
                ids.append(item)
            elif name in by_name:
                ids.append(by_name[name])
            else:
                raise ConfigError(self.name, f"channel {item!r} not found (or the app is not in it)")
        return ids

    def _lookback(self) -> timedelta:
        text = str(self.settings.get("thread_lookback") or DEFAULT_LOOKBACK).strip()
        try:
            return parse_duration(text)
        except ValueError:
            raise ConfigError(self.name, f"thread_lookback: not a duration like 7d or 12h: {text!r}") from None


def web_client(token: str | None, base_url: str | None, *, idempotent: bool = True) -> WebClient:
    """slack_sdk's WebClient with the retries every Slack call here uses (ingest and publish).
    A call that is not `idempotent` (a post) is retried on 429 only: after a 5xx or a dropped
    connection Slack may have posted it already, and a retry would post it twice."""
    retries = [_RateLimitRetry(max_retry_count=5)]
    if idempotent:
        retries += [_ConnectionRetry(max_retry_count=3), _ServerErrorRetry(max_retry_count=4)]
    return WebClient(token=token, base_url=base_url or WebClient.BASE_URL, timeout=30, logger=_sdk_logger(),
                     retry_handlers=retries)


def _thread_order(ts: Any):
    return epoch_time(ts, strict=False) or EPOCH


def _is_thread_parent(message: dict) -> bool:
    ts = message.get("ts")
    return bool(ts and message.get("thread_ts") == ts and (message.get("reply_count") or 0) > 0)


def _bounds(since, until) -> dict[str, Any]:
    """oldest/latest, both inclusive: the half-open cut is made on each message's ts."""
    params: dict[str, Any] = {"inclusive": "true"}
    if since is not None:
        params["oldest"] = to_epoch_str(since)
    if until is not None:
        params["latest"] = to_epoch_str(until)
    return params


def _next_cursor(page: Any) -> str | None:
    meta = page.get("response_metadata") if isinstance(page, dict) else None
    cursor = meta.get("next_cursor") if isinstance(meta, dict) else None
    return cursor if isinstance(cursor, str) and cursor else None


def _json_problem(exc: ValueError) -> str:
    """What json said, and where in the body it stopped (`Expecting value, character 32 of 32`)."""
    msg, pos, doc = getattr(exc, "msg", None), getattr(exc, "pos", None), getattr(exc, "doc", None)
    if msg is None or pos is None or not isinstance(doc, str):
        return type(exc).__name__
    return f"{msg}, character {pos} of {len(doc)}"


def _slack_error(source: str, method: str, response: Any, secrets: list[str]) -> SourceError:
    """One line for what Slack said, from its `ok: false` body or the HTTP status; what it
    quotes of the body is a redacted snippet, and a body that was not JSON is not quoted."""
    status = getattr(response, "status_code", None)
    data = getattr(response, "data", None)
    data = data if isinstance(data, dict) else {}
    error = snippet(data.get("error") or "", secrets, limit=80)
    if error.startswith(NOT_JSON):
        return SourceError(source, f"the answer was not JSON (HTTP {status}): a proxy or login page "
                           "in front of base_url?", stream=method)
    if status == 429 or error == "ratelimited":
        return RetriesExhausted(source, "still rate limited (HTTP 429) after retries", stream=method)
    if status is not None and status >= 500:
        return RetriesExhausted(source, f"HTTP {status} after retries", stream=method)
    if error == "missing_scope":
        return AuthError(source, f"the token is missing the scope {snippet(data.get('needed'), secrets, 80)!r} "
                         f"(it has: {snippet(data.get('provided'), secrets, 200) or 'none'})", stream=method)
    if error in AUTH_ERRORS:
        return AuthError(source, f"authentication failed: {error} (check the token)", stream=method)
    return SourceError(source, f"Slack said {error or f'HTTP {status}'}", stream=method)


class _NoBodies(logging.Filter):
    """slack_sdk's own log lines: none that quotes a body it could not decode, the rest redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if NOT_JSON in message:
            return False
        record.msg, record.args = snippet(message, limit=300), None
        return True


def _sdk_logger() -> logging.Logger:
    """The logger WebClient writes to: under ours (so our handlers and scrubber see it),
    warnings and up only (its debug lines hold whole pages of messages)."""
    logger = logging.getLogger("incident_timeline.slack_sdk")
    if not logger.filters:
        logger.addFilter(_NoBodies())
        logger.setLevel(logging.WARNING)
    return logger


def _wait(seconds: float) -> None:
    http.sleep(seconds)   # looked up at call time: the one sleep tests replace


class _InjectedSleep:
    """slack_sdk's handlers sleep with time.sleep; ours wait through ingest.http.sleep."""

    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        state.next_attempt_requested = True
        _wait(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()


class _ConnectionRetry(_InjectedSleep, ConnectionErrorRetryHandler):
    pass


class _ServerErrorRetry(_InjectedSleep, ServerErrorRetryHandler):
    pass


class _RateLimitRetry(RateLimitErrorRetryHandler):
    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        if response is None:
            raise error
        state.next_attempt_requested = True
        headers = CaseInsensitiveDict({k: v[0] if isinstance(v, list) else v
                                       for k, v in (response.headers or {}).items()})
        _wait(http.rate_limit_wait(headers, default=1.0) + random.uniform(0, 0.1))
        state.increment_current_attempt()
