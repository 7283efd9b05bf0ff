"""A fake Slack Web API under /api/: conversations.history/.replies/.info/.list, users.list.

Arguments are read from the query or the form body, as Slack does (slack_sdk POSTs).
Errors come as Slack sends them: HTTP 200 with `ok: false` (invalid_auth, missing_scope
with needed/provided), HTTP 429 with Retry-After. Cursors are opaque strings in
response_metadata.next_cursor; history is newest first; every page of replies starts
with the thread's parent.
"""
from __future__ import annotations

import base64
from decimal import Decimal
from datetime import datetime, timedelta
from typing import Any

from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from incident_timeline.ingest.timefilter import epoch_time, to_epoch_str
from tests.ingest.fakes import Expected, FakeApi, paged

TOKEN = "xoxb-1111-2222-FAKEslackTOKEN"
CHANNEL = "C0INC12345"
USERS = [
    {"id": "U0ANA", "name": "ana", "real_name": "Ana Ops", "tz": "Europe/Berlin",
     "profile": {"real_name": "Ana Ops", "email": "ana@example.com"}},
    {"id": "U0BEN", "name": "ben", "real_name": "Ben Dev", "tz": "America/Chicago",
     "profile": {"real_name": "Ben Dev", "email": "ben@example.com"}},
    {"id": "U0BOT", "name": "pagerduty", "is_bot": True, "profile": {"real_name": "PagerDuty"}},
    {"id": "U0CAT", "name": "cat", "real_name": "Cat SRE", "profile": {"real_name": "Cat SRE"}},
]


class SlackFake(FakeApi):
    type = "slack"
    name = "chat"
    context_streams = frozenset({"users", "channels"})

    def __init__(self, server):
        super().__init__(server)
        self.messages: list[dict] = []      # every message, top level and replies
        self.looping = False
        self.scope_missing: str | None = None
        self.cut_short: str | None = None   # a method whose answers end mid-body (a dropped connection)

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "slack", "base_url": self.url("/api/"),
                "token": "${FAKE_SLACK_TOKEN}", "channels": [CHANNEL], "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_SLACK_TOKEN": TOKEN}

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        for i in range(count):
            at = start + i * spacing
            parent = {"type": "message", "user": USERS[i % 2]["id"], "text": f"update {i} on <@U0BEN>",
                      "ts": to_epoch_str(at)}
            self.messages.append(parent)
            if i % 2:
                continue
            # replies: one soon, one late (after the next hour began); one broadcast
            replies = [(timedelta(minutes=10), None), (timedelta(minutes=75), None)]
            if i == 2:
                replies.append((timedelta(minutes=20), "thread_broadcast"))
            for n, (delay, subtype) in enumerate(replies):
                reply = {"type": "message", "user": USERS[(i + n + 1) % 2]["id"],
                         "text": f"reply {n} to {i}", "ts": to_epoch_str(at + delay + timedelta(microseconds=n)),
                         "thread_ts": parent["ts"], "parent_user_id": parent["user"]}
                if subtype:
                    reply["subtype"] = subtype
                self.messages.append(reply)
            thread = self._thread(parent["ts"])
            parent.update({"thread_ts": parent["ts"], "reply_count": len(thread),
                           "reply_users": sorted({r["user"] for r in thread}),
                           "latest_reply": max(r["ts"] for r in thread)})

    def _thread(self, ts: str) -> list[dict]:
        return [m for m in self.messages if m.get("thread_ts") == ts and m["ts"] != ts]

    def _in_history(self, m: dict) -> bool:
        return m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"

    def expected(self, window: Window) -> list[Expected]:
        out = [Expected("users", u["id"], window.since) for u in USERS]
        out.append(Expected("channels", CHANNEL, window.since))
        for m in self.messages:
            at = epoch_time(m["ts"])
            if at in window:
                out.append(Expected("messages" if self._in_history(m) else "replies", f"{CHANNEL}:{m['ts']}", at))
        return out

    def event_times(self, window: Window) -> dict[str, datetime]:
        return {f"{CHANNEL}:{m['ts']}": epoch_time(m["ts"]) for m in self.messages
                if epoch_time(m["ts"]) in window}

    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def reject_auth(self, request: Request) -> Response:
        return self.json({"ok": False, "error": "invalid_auth"})

    def loop_pages(self) -> None:
        self.looping = True

    def route(self, request: Request) -> Response:
        method = request.path.rsplit("/", 1)[-1]
        if method == self.cut_short:
            whole = self._route(method, request)
            return Response(whole.get_data()[: len(whole.get_data()) // 2], content_type=whole.content_type)
        return self._route(method, request)

    def _route(self, method: str, request: Request) -> Response:
        if self.scope_missing and method.startswith("conversations."):
            return self.json({"ok": False, "error": "missing_scope", "needed": self.scope_missing,
                              "provided": "users:read"})
        args = request.values   # slack_sdk POSTs form bodies; Slack reads query or form alike
        if method == "users.list":
            return self._page(args, "members", USERS)
        if method == "conversations.info":
            if args.get("channel") != CHANNEL:
                return self.json({"ok": False, "error": "channel_not_found"})
            return self.json({"ok": True, "channel": {"id": CHANNEL, "name": "inc-checkout",
                                                      "is_channel": True, "created": 1700000000}})
        if method == "conversations.list":
            return self._page(args, "channels", [{"id": CHANNEL, "name": "inc-checkout"}])
        if method == "conversations.history":
            found = [m for m in self.messages if self._in_history(m) and _between(m, args)]
            return self._page(args, "messages", sorted(found, key=lambda m: -Decimal(m["ts"])))
        if method == "conversations.replies":
            parent = [m for m in self.messages if m["ts"] == args.get("ts")]
            if not parent:
                return self.json({"ok": False, "error": "thread_not_found"})
            replies = [m for m in self._thread(parent[0]["ts"]) if _between(m, args)]
            return self._page(args, "messages", sorted(replies, key=lambda m: Decimal(m["ts"])),
                              head=parent[0])
        return self.json({"ok": False, "error": "unknown_method"}, status=404)

    def _page(self, args, key: str, items: list[dict], head: dict | None = None) -> Response:
        limit = min(int(args.get("limit", 100)), 1000)
        offset = 0 if self.looping else _decode(args.get("cursor"))
        page, more = paged(items, offset, limit)
        if head is not None:
            page = [head] + page
        cursor = _encode(offset + limit) if more or self.looping else ""
        return self.json({"ok": True, key: page, "has_more": more,
                          "response_metadata": {"next_cursor": cursor}})


def _between(message: dict, args) -> bool:
    """Slack's oldest/latest, exclusive unless inclusive=true."""
    ts = Decimal(message["ts"])
    inclusive = args.get("inclusive") in ("true", "1")
    oldest, latest = args.get("oldest"), args.get("latest")
    if oldest and (ts < Decimal(oldest) or (not inclusive and ts == Decimal(oldest))):
        return False
    if latest and (ts > Decimal(latest) or (not inclusive and ts == Decimal(latest))):
        return False
    return True


def _encode(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode(cursor: str | None) -> int:
    return int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
