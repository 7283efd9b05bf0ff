"""Microsoft Teams channel messages and their replies, through Microsoft Graph (app-only).

    - name: teams
      type: teams
      tenant_id: 2432b57b-0abd-43db-aa7b-16eadd115d34
      client_id: 8ea0e38b-efb3-4757-924a-5f94061cf8c2
      client_secret_env: TEAMS_CLIENT_SECRET   # the variable holding the secret, not the secret
      team_id: fbe2bf47-16c8-47cf-b4a5-4b9b187c508b
      channels:                                # ids (one cursor each), optionally with names
        "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2": incidents

The app needs the application permission ChannelMessage.Read.All (admin consent).

What Graph offers, and what is asked of it (learn.microsoft.com, v1.0):
- `GET /teams/{team}/channels/{channel}/messages`: every top-level message, `$top` at most 50,
  only `$top` and `$expand=replies` accepted (no `$filter`, no order promised). A message
  with `$expand=replies` carries up to 1,000 replies inline and `replies@odata.nextLink`
  (a `/messages/{id}/replies` link) for the rest, which is followed.
- `GET .../messages/delta`: the same messages, changed or new ones only, for the last eight
  months; `$filter=lastModifiedDateTime gt <time>` (only `gt`) returns the reply chains
  changed after that time; its last page carries `@odata.deltaLink`, the link that lists the
  next changes.

So a partition (a channel) is read like this:
- a cursor run holding a delta link from the last one: that link, exactly as Graph gave it;
- otherwise, a window whose `since` is within DELTA_REACH: a delta round filtered on it;
- otherwise (no `since`, or older): the whole list; in a cursor run then a delta round
  filtered on the moment the list began, for the link the next run starts from.
A cursor run (the orchestrator called `resume`) keeps every change the round gives, later
than `until` too, because the link it stores moves past them; any other window keeps what
was last modified inside [since, until). A root message is kept by its own
lastModifiedDateTime, each reply by its own, so a new reply to an old thread brings the
reply alone. Replies come from the root's `replies` (stored apart: the message's raw
payload is the message without them, as Graph gives it unexpanded).

Recorded mode (`path:`): `<channel id>/messages.json` (.page-2.json, ...) and
`<channel id>/messages/<message id>/replies.json` for the replies past the inline ones.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping

from .api import ApiConnector
from .base import RawRecord, Window, items_of
from .errors import ConfigError, SourceError
from .msgraph import DEFAULT_BASE_URL, DEFAULT_LOGIN_URL, DELTA_LINK, GraphClient
from .timefilter import iso_time

log = logging.getLogger("incident_timeline.teams")

PERMISSION = "ChannelMessage.Read.All"
DELTA_REACH = timedelta(days=240)     # Graph's delta sees eight months back: stay inside them
REPLIES = "replies"
REPLIES_NEXT = "replies@odata.nextLink"
EXPANDED = (REPLIES, REPLIES_NEXT, "replies@odata.context", "replies@odata.count")


def channels(value: Any) -> dict[str, str | None]:
    """`channels:` as {channel id: name or None}: a list of ids (an item may be a one-key
    {id: name} or an {id, name} object), or a mapping of ids to names."""
    out: dict[str, str | None] = {}
    items = value.items() if isinstance(value, Mapping) else value if isinstance(value, list) else ()
    for item in items:
        if isinstance(item, tuple):
            out[str(item[0])] = None if item[1] is None else str(item[1])
        elif isinstance(item, Mapping) and "id" in item:
            out[str(item["id"])] = None if item.get("name") is None else str(item["name"])
        elif isinstance(item, Mapping) and len(item) == 1:
            (cid, name), = item.items()
            out[str(cid)] = None if name is None else str(name)
        elif isinstance(item, str):
            out[item] = None
        else:
            out[str(item)] = None
    return out


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _graph_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _message_id(item: Mapping[str, Any]) -> str:
    mid = item["id"]
    if isinstance(mid, bool) or not isinstance(mid, (str, int)) or mid == "":
        raise TypeError(f"a message id is {type(mid).__name__}, not a string")
    return str(mid)


def _changed_at(item: Mapping[str, Any]) -> datetime | None:
    """When a message last changed (an edit, a deletion, a reaction), else when it was posted."""
    value = item.get("lastModifiedDateTime")
    return iso_time(value) if value is not None else iso_time(item.get("createdDateTime"))


class TeamsConnector(ApiConnector):
    type = "teams"
    api_keys = ("tenant_id", "client_id", "client_secret_env", "team_id", "channels")
    optional_keys = ("login_url", "page_size")
    secret_keys = ()                 # the secret is read from the variable client_secret_env names
    max_page_size = 50               # Graph's upper limit for $top on channel messages

    def __init__(self, settings, now: Callable[[], datetime] = _now):
        super().__init__(settings)
        self._graph: GraphClient | None = None
        self._now = now
        self._resume: dict[str, str] | None = None     # None: not a cursor run
        self._links: dict[str, str] = {}

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = []
        if "channels" in options and not channels(options.get("channels")):
            problems.append("channels: needs at least one channel id (19:…@thread.tacv2)")
        var = options.get("client_secret_env")
        if var is not None and (not isinstance(var, str) or not var.replace("_", "").isalnum() or "$" in var):
            problems.append("client_secret_env: the name of an environment variable (like TEAMS_CLIENT_SECRET), "
                            "not the secret")
        return problems

    # ---- the cursor's delta links (see ingest.base.Connector.resume) ----------------------
    def resume(self, links: Mapping[str, str]) -> None:
        self._resume = dict(links)

    def next_link(self, partition: str) -> str | None:
        return self._links.get(partition)

    # ---- Graph --------------------------------------------------------------------------
    @property
    def graph(self) -> GraphClient:
        if self._graph is None:    # built lazily: no network work (or secret read) while config loads
            var = str(self.settings.get("client_secret_env") or "")
            secret = os.environ.get(var) if var else None
            if not secret:
                raise ConfigError(self.name, f"client_secret_env: the environment variable {var or '(none)'} "
                                  "is not set")
            self._graph = GraphClient(
                self.name, base_url=str(self.settings.get("base_url") or DEFAULT_BASE_URL),
                login_url=str(self.settings.get("login_url") or DEFAULT_LOGIN_URL),
                tenant_id=str(self.settings.get("tenant_id")), client_id=str(self.settings.get("client_id")),
                client_secret=secret, permission=PERMISSION)
        return self._graph

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()

    def partitions(self) -> list[str]:
        wanted = list(channels(self.settings.get("channels")))
        if not wanted and self.recorded is not None:
            wanted = sorted(d.name for d in self.recorded.root.iterdir() if self.recorded.exists(f"{d.name}/messages"))
        if not wanted:
            raise ConfigError(self.name, "channels: needs at least one channel id")
        return wanted

    def _messages_path(self, channel: str) -> str:
        return f"v1.0/teams/{self.settings.get('team_id')}/channels/{channel}/messages"

    def _not_found(self, channel: str) -> Callable[[], ConfigError]:
        return lambda: ConfigError(self.name, f"channel {channel!r} not found in team "
                                   f"{self.settings.get('team_id')!r} (or the app cannot see it)")

    # ---- fetch --------------------------------------------------------------------------
    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        channel = partition
        if self.recorded is not None:
            yield from self._read(channel, self.recorded.pages(f"{channel}/messages"), window, "window")
            return
        cursor_run = self._resume is not None
        base = self._messages_path(channel)
        expand = {"$top": self.page_size, "$expand": REPLIES}
        link = (self._resume or {}).get(channel)
        seen: dict[str, Any] = {}
        round_ = _Round(self, channel, link, None) if link and self.graph.follows(link) else None
        if round_ is not None and round_.first_page() is None:
            round_ = None          # the link is no longer good: start again from the time cursor
        recent = window.since is not None and window.since >= self._now() - DELTA_REACH
        if round_ is None and recent:
            round_ = _Round(self, channel, f"{base}/delta", {**expand, "$filter": _after(window.since)})
        elif round_ is None:
            listed_from = self._now()
            pages = self.graph.pages(base, expand, not_found=self._not_found(channel))
            yield from self._read(channel, pages, window, "cursor" if cursor_run else "window", seen)
            if not cursor_run:
                return
            round_ = _Round(self, channel, f"{base}/delta", {**expand, "$filter": _after(listed_from)})
        # a round from a stored link keeps all it lists: the link, not our clock, says what is new
        keep = "all" if round_.target == link else "cursor" if cursor_run else "window"
        yield from self._read(channel, round_.pages(), window, keep, seen)
        if cursor_run and round_.delta_link:
            self._links[channel] = round_.delta_link

    def _read(self, channel: str, pages, window: Window, keep: str,
              seen: dict[str, Any] | None = None) -> Iterator[RawRecord]:
        """The messages and replies of `pages` that `keep` keeps: `window` what changed in
        [since, until), `cursor` what changed at or after since, `all` everything. A version
        already yielded by this fetch (same id, same lastModifiedDateTime) is not yielded
        again, a newer one is (and wins: the later raw row)."""
        seen = {} if seen is None else seen

        def kept(item: Mapping[str, Any]) -> bool:
            at = _changed_at(item)
            if keep == "all" or at is None:  # unplaceable: normalize rejects it with its reason
                return True
            if keep == "cursor":
                return window.since is None or at >= window.since
            return at in window

        def fresh(native: str, item: Mapping[str, Any]) -> bool:
            version = item.get("lastModifiedDateTime")
            version = version if isinstance(version, (str, int, float)) else repr(version)
            if seen.get(native, object()) == version:
                return False
            seen[native] = version
            return True

        for page in pages:
            threads: list[tuple[str, list, Any]] = []

            def message(item: dict) -> RawRecord | None:
                root = {k: v for k, v in item.items() if k not in EXPANDED}
                replies, more = item.get(REPLIES), item.get(REPLIES_NEXT)
                if replies or more:
                    threads.append((_message_id(item), replies if isinstance(replies, list) else [], more))
                native = f"{channel}/{_message_id(item)}"
                if kept(item) and fresh(native, item):
                    return RawRecord("messages", native, root, channel, channel)
                return None

            def reply(item: dict) -> RawRecord | None:
                native = f"{channel}/{_message_id(item)}"
                if kept(item) and fresh(native, item):
                    return RawRecord("replies", native, item, channel, channel)
                return None

            yield from self.take("messages", items_of(page, "value", "the messages page"), message, channel, channel)
            for root_id, inline, more in threads:
                yield from self.take("replies", inline, reply, channel, channel)
                if more:
                    for more_page in self._more_replies(channel, root_id, more):
                        yield from self.take("replies", items_of(more_page, "value", "the replies page"), reply,
                                             channel, channel)

    def _more_replies(self, channel: str, root_id: str, link: Any) -> Iterator[Any]:
        """The replies past the inline ones: `replies@odata.nextLink` as given (recorded:
        the saved replies pages)."""
        if self.recorded is not None:
            yield from self.recorded.pages(f"{channel}/messages/{root_id}/replies")
            return
        if not isinstance(link, str):
            link = f"{self._messages_path(channel)}/{root_id}/replies"
        else:
            self.graph.check_link(link)
        yield from self.graph.pages(link, None)


class _Round:
    """One round of Graph's delta query: its pages, then the deltaLink its last page gave."""

    def __init__(self, connector: TeamsConnector, channel: str, target: str, params: Mapping[str, Any] | None):
        self.connector, self.channel, self.target, self.params = connector, channel, target, params
        self.delta_link: str | None = None
        self._pages: Iterator[Any] | None = None
        self._first: Any = None

    def first_page(self) -> Any:
        """Start the round; None when Graph refuses its link as a request (an expired or
        unknown delta token: 400 or 410), so the caller starts afresh from the time cursor."""
        self._pages = self._all()
        try:
            self._first = next(self._pages)
        except StopIteration:
            self._first = {}
        except SourceError as exc:
            if type(exc) is not SourceError:    # auth, retries, pagination: the source's failure
                raise
            log.warning("source %s, channel %s: Graph no longer takes the stored delta link (%s); continuing "
                        "from the time cursor", self.connector.name, self.channel, str(exc).rsplit(": ", 1)[-1][:200])
            return None
        return self._first

    def pages(self) -> Iterator[Any]:
        if self._pages is None:
            yield from self._all()
            return
        yield self._first
        yield from self._pages

    def _all(self) -> Iterator[Any]:
        graph = self.connector.graph
        for page in graph.pages(self.target, self.params, not_found=self.connector._not_found(self.channel)):
            yield page
            link = page.get(DELTA_LINK) if isinstance(page, dict) else None
            if isinstance(link, str) and link and graph.follows(link):
                self.delta_link = link


def _after(at: datetime) -> str:
    """The delta filter for changes at or after `at`: Graph takes only `gt`, so a millisecond
    earlier (its times are in milliseconds)."""
    return f"lastModifiedDateTime gt {_graph_time(at - timedelta(milliseconds=1))}"
