"""A fake Microsoft Graph (Teams channel messages) and its identity platform token endpoint.

As the real ones (learn.microsoft.com: List channel messages, chatMessage: delta, List
replies, the OAuth 2.0 client credentials flow):
- `POST /{tenant}/oauth2/v2.0/token` (form: client_id, client_secret, scope, grant_type) ->
  `{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": …}`;
  a wrong secret is 401 `{"error": "invalid_client", "error_description": "AADSTS7000215: …"}`;
- `GET /v1.0/teams/{team}/channels/{channel}/messages?$top=&$expand=replies`: chatMessage
  objects under `value`, `@odata.nextLink` an absolute URL with an opaque `$skiptoken`;
  `$top` above 50 is a 400; a message with more replies than fit inline carries
  `replies@odata.nextLink` (a `/messages/{id}/replies` URL);
- `.../messages/delta`: `$filter=lastModifiedDateTime gt <time>` (only `gt`) on the first
  call of a round, the reply chains changed after it; each page links on by `$skiptoken`,
  the last carries `@odata.deltaLink` (`$deltatoken`), which lists the later changes;
- a bad or expired token is 401 `{"error": {"code": "InvalidAuthenticationToken", …}}`.
The server's own clock is `self.now`: a delta token remembers it.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from tests.ingest.fakes import Expected, FakeApi, paged, with_times

TENANT = "2432b57b-0abd-43db-aa7b-16eadd115d34"
CLIENT_ID = "8ea0e38b-efb3-4757-924a-5f94061cf8c2"
SECRET = "Qx8Q~fakeTeamsClientSecret.0123456789abcdEFG"
ACCESS_TOKEN = "eyJ0eXAiOiJKV1QiLCJub25jZSI6ImZha2UifQ.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.ZmFrZXNpZ25hdHVyZQ"
TEAM = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
CHANNEL = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
INLINE_REPLIES = 2     # replies expanded inline before replies@odata.nextLink takes over
PEOPLE = (("8ea0e38b-0000-4757-924a-5f94061cf8c2", "Robin Kline"), ("2d9c1f60-1111-4a3b-8f6e-0c1d2e3f4a5b", "Wei Zhang"))


def graph_time(dt: datetime) -> str:
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


def _token(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _untoken(text: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


class TeamsFake(FakeApi):
    type = "teams"
    name = "teams-fake"

    def __init__(self, server):
        super().__init__(server)
        self.roots: list[dict] = []
        self.replies: dict[str, list[dict]] = {}
        self.looping = False
        self.now = datetime(2026, 12, 1, tzinfo=timezone.utc)
        self.tokens_issued = 0
        self.expire_next_token = False

    # ---- the entry ----------------------------------------------------------------------
    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "teams", "tenant_id": TENANT, "client_id": CLIENT_ID,
                "client_secret_env": "FAKE_TEAMS_CLIENT_SECRET", "team_id": TEAM,
                "channels": [{CHANNEL: "inc-4213-checkout"}], "base_url": self.url("/"),
                "login_url": self.url("/login"), "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_TEAMS_CLIENT_SECRET": SECRET}

    def secrets(self) -> list[str]:
        return [SECRET, ACCESS_TOKEN]

    # ---- the data -----------------------------------------------------------------------
    def message(self, mid: str, at: datetime, text: str, reply_to: str | None = None, person: int = 0) -> dict:
        uid, name = PEOPLE[person % len(PEOPLE)]
        root = reply_to or mid
        return {
            "@odata.type": "#microsoft.graph.chatMessage", "id": mid, "replyToId": reply_to, "etag": mid,
            "messageType": "message", "createdDateTime": at, "lastModifiedDateTime": at, "lastEditedDateTime": None,
            "deletedDateTime": None, "subject": None, "summary": None, "chatId": None, "importance": "normal",
            "locale": "en-us",
            "webUrl": f"https://teams.microsoft.com/l/message/{quote(CHANNEL)}/{mid}?groupId={TEAM}"
                      f"&tenantId={TENANT}&createdTime={mid}&parentMessageId={root}",
            "policyViolation": None, "eventDetail": None,
            "from": {"application": None, "device": None,
                     "user": {"@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": uid, "displayName": name,
                              "userIdentityType": "aadUser", "tenantId": TENANT}},
            "body": {"contentType": "html", "content": f"<p>{text}</p>"},
            "channelIdentity": {"teamId": TEAM, "channelId": CHANNEL},
            "attachments": [], "mentions": [], "reactions": [], "messageHistory": []}

    def add_root(self, at: datetime, text: str, replies: int = 0) -> dict:
        mid = str(int(at.timestamp() * 1000))
        root = self.message(mid, at, text)
        self.roots.append(root)
        self.replies[mid] = []
        for k in range(replies):
            self.add_reply(mid, at + timedelta(minutes=10 * (k + 1)), f"reply {k} to {text}", person=k + 1)
        return root

    def add_reply(self, root_id: str, at: datetime, text: str, person: int = 1) -> dict:
        mid = str(int(at.timestamp() * 1000) + 1)
        reply = self.message(mid, at, text, reply_to=root_id, person=person)
        self.replies[root_id].append(reply)
        return reply

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        for i in range(count):
            # thread sizes 0, 1, 3, 0, 1, 3, ...: some threads need replies@odata.nextLink
            self.add_root(start + i * spacing, f"update {i}: checkout-api 5xx", replies=(0, 1, 3)[i % 3])

    def _all(self) -> list[tuple[str, dict]]:
        return [("messages", r) for r in self.roots] + [("replies", x) for xs in self.replies.values() for x in xs]

    def expected(self, window: Window) -> list[Expected]:
        return [Expected(stream, f"{CHANNEL}/{m['id']}", m["lastModifiedDateTime"]) for stream, m in self._all()
                if m["lastModifiedDateTime"] in window]

    def event_times(self, window: Window) -> dict[str, datetime]:
        return {f"{CHANNEL}/{m['id']}": m["createdDateTime"] for _s, m in self._all()
                if m["lastModifiedDateTime"] in window}

    # ---- auth ---------------------------------------------------------------------------
    def _token_path(self, request: Request) -> bool:
        return request.path == f"/login/{TENANT}/oauth2/v2.0/token"

    def authorized(self, request: Request) -> bool:
        if self._token_path(request):
            form = request.form
            return (request.method == "POST" and form.get("client_id") == CLIENT_ID
                    and form.get("client_secret") == SECRET and form.get("grant_type") == "client_credentials"
                    and form.get("scope") == "https://graph.microsoft.com/.default")
        return request.headers.get("Authorization") == f"Bearer {ACCESS_TOKEN}"

    def reject_auth(self, request: Request) -> Response:
        if self._token_path(request):
            return self.json({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret "
                              "provided. Ensure the secret being sent in the request is the client secret value.\r\n"
                              "Trace ID: 0000\r\nCorrelation ID: 0000\r\nTimestamp: 2026-12-01 00:00:00Z",
                              "error_codes": [7000215], "trace_id": "0000", "correlation_id": "0000"}, status=401)
        return self.json({"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired or "
                                    "is not yet valid.", "innerError": {"date": "2026-12-01T00:00:00",
                                                                        "request-id": "0000"}}}, status=401)

    def loop_pages(self) -> None:
        self.looping = True

    # ---- routes -------------------------------------------------------------------------
    def route(self, request: Request) -> Response:
        if self._token_path(request):
            self.tokens_issued += 1
            if self.expire_next_token:      # a token Graph will refuse: the client must fetch another once
                self.expire_next_token = False
                return self.json({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                  "access_token": "expired-" + ACCESS_TOKEN})
            return self.json({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                              "access_token": ACCESS_TOKEN})
        prefix = f"/v1.0/teams/{TEAM}/channels/"
        if not request.path.startswith(prefix):
            return self.not_found(request)
        channel, _, rest = request.path[len(prefix):].partition("/")
        if channel != CHANNEL:
            return self.json({"error": {"code": "NotFound", "message": "Channel not found"}}, status=404)
        top = int(request.args.get("$top", 20))
        if top > 50:
            return self.json({"error": {"code": "BadRequest", "message": "$top must be at most 50"}}, status=400)
        if rest == "messages":
            return self._list(request, self.roots, top, expand=request.args.get("$expand") == "replies")
        if rest == "messages/delta":
            return self._delta(request, top)
        parts = rest.split("/")
        if len(parts) == 3 and parts[0] == "messages" and parts[2] == "replies" and parts[1] in self.replies:
            return self._list(request, self.replies[parts[1]], top, expand=False)
        return self.not_found(request)

    def _with_replies(self, root: dict, expand: bool) -> dict:
        out = dict(root)
        if expand:
            replies = self.replies.get(root["id"], [])
            out["replies@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#teams('…')/replies"
            out["replies"] = replies[:INLINE_REPLIES]
            if len(replies) > INLINE_REPLIES:
                token = _token({"offset": INLINE_REPLIES, "top": 50})
                out["replies@odata.nextLink"] = (self.url(f"/v1.0/teams/{TEAM}/channels/{CHANNEL}/messages/"
                                                           f"{root['id']}/replies") + f"?$skiptoken={token}")
        return out

    def _list(self, request: Request, items: list[dict], top: int, expand: bool) -> Response:
        state = _untoken(request.args["$skiptoken"]) if "$skiptoken" in request.args else {"offset": 0, "top": top}
        page, more = paged(items, state["offset"], state["top"])
        body: dict[str, Any] = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(chatMessage)",
                                "@odata.count": len(page), "value": [self._with_replies(m, expand) for m in page]}
        if more:
            nxt = {**state, "offset": state["offset"] + (0 if self.looping else state["top"])}
            query = {"$skiptoken": _token(nxt)}
            if expand:
                query = {"$expand": "replies", **query}
            body["@odata.nextLink"] = self.url(request.path) + "?" + urlencode(query, safe="$")
        return self.json(with_times(body, graph_time))

    def _delta(self, request: Request, top: int) -> Response:
        if "$deltatoken" in request.args:
            state = {**_untoken(request.args["$deltatoken"]), "offset": 0, "until": graph_time(self.now)}
        elif "$skiptoken" in request.args:
            state = _untoken(request.args["$skiptoken"])
        else:
            after = request.args.get("$filter", "")
            if after and not after.startswith("lastModifiedDateTime gt "):
                return self.json({"error": {"code": "BadRequest", "message": "Only lastModifiedDateTime gt is "
                                            "supported in $filter"}}, status=400)
            state = {"after": after.removeprefix("lastModifiedDateTime gt ") or None, "offset": 0, "top": top,
                     "expand": request.args.get("$expand") == "replies", "until": graph_time(self.now)}
        after = _parse(state["after"]) if state.get("after") else None
        seen_until = _parse(state["until"])

        def changed(root: dict) -> datetime:
            return max([root["lastModifiedDateTime"]] + [r["lastModifiedDateTime"] for r in self.replies[root["id"]]])

        chains = [r for r in self.roots if (after is None or changed(r) > after) and changed(r) <= seen_until]
        page, more = paged(chains, state["offset"], state["top"])
        body: dict[str, Any] = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(chatMessage)",
                                "value": [self._with_replies(m, state["expand"]) for m in page]}
        path = self.url(f"/v1.0/teams/{TEAM}/channels/{CHANNEL}/messages/delta")
        if more:
            nxt = {**state, "offset": state["offset"] + (0 if self.looping else state["top"])}
            body["@odata.nextLink"] = f"{path}?$skiptoken={_token(nxt)}"
        else:
            body["@odata.deltaLink"] = f"{path}?$deltatoken={_token({**state, 'after': state['until'], 'until': None})}"
        return self.json(with_times(body, graph_time))
