"""Slack: a short message in the incident's channel and/or a configured one: the summary, the
key metrics and links to the published pages (chat.postMessage through slack_sdk's WebClient,
with the same retries as the Slack source, except that a post is retried on 429 only). A
republish edits the message (chat.update); a message whose record was lost is found again
by its metadata in the channel's recent history (conversations.history), not posted twice.

Every text is escaped for mrkdwn (&, <, >), so no `<!channel>`, `<@U…>` or `<url|label>` a
title or a chat line carries can mention anyone or hide a link; `parse: none` and no
`link_names` keep Slack from turning a bare @channel into a mention."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from slack_sdk.errors import SlackApiError

from incident_timeline.ingest.errors import SourceError
from incident_timeline.ingest.slack import _slack_error, web_client
from incident_timeline.export.filters import duration, utc

from .base import Publication, Request, next_version, reveal
from .errors import PublishError

NAME = "slack"
EVENT_TYPE = "incident_timeline_postmortem"   # the message metadata a lost record is found by
HISTORY_LOOKBACK = 200                       # recent messages searched for it
PAGE_NAMES = {"confluence": "Confluence page", "gdrive": "Google Doc"}
SUMMARY_SENTENCES = 3      # a chat message, not the draft: the rest is one click away
GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}


def escape(text: Any) -> str:
    """Slack's own rule for text: & < > as entities, nothing else."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """<url|label> with the url percent-encoded where it could end the link or open another."""
    safe = quote(url, safe=":/?#[]@!$'()*+,;=%-._~&")
    return f"<{escape(safe)}|{escape(label)}>"


def message(draft, pages: dict[str, str]) -> str:
    c = draft.contract
    inc, metrics, miles = c["incident"], c["metrics"], c["milestones"]
    lines = [f"*Post-mortem draft: {escape(inc['title'] or inc['id'])}*",
             f"Severity {escape(inc['severity'] or 'unknown')} · Service {escape(', '.join(inc['services']) or 'unknown')}"
             f" · {escape(inc['id'])}",
             f"Detected {escape(_when(miles['detected']))} · Resolved {escape(_when(miles['resolved']))}",
             f"MTTA {escape(duration(metrics['time_to_acknowledge_s']))} · "
             f"MTTR {escape(duration(metrics['time_to_resolve_s']))}"]
    lines += [escape(s) for s in draft.summary[:SUMMARY_SENTENCES]]
    links = [link(url, PAGE_NAMES[t]) for t, url in pages.items() if url and t in PAGE_NAMES]
    if links:
        lines.append("Read it: " + " · ".join(links))
    return "\n".join(lines)


def _when(value: str | None) -> str:
    if not value:
        return "unknown"
    from dateutil import parser
    return utc(parser.isoparse(value), "%Y-%m-%d %H:%M")


def incident_channels(contract: dict[str, Any]) -> list[str]:
    """The incident's own channels: the `slack:C…` ids among its refs (a name is not postable
    without a lookup, and the build has already turned names into ids)."""
    refs = [contract["incident"]["id"], *contract["incident"]["aliases"], contract["incident"]["identity"]]
    return sorted({r.split(":", 1)[1] for r in refs if r.startswith("slack:") and not r.startswith("slack:#")})


class Slack:
    def __init__(self, options: dict[str, Any]):
        self.options = options
        self.web = web_client(reveal(options["token"]), options.get("base_url"))
        self.poster = web_client(reveal(options["token"]), options.get("base_url"), idempotent=False)

    def channels(self, draft) -> list[str]:
        wanted = incident_channels(draft.contract) if self.options.get("incident_channel", True) else []
        if self.options.get("channel"):
            wanted.append(str(self.options["channel"]))
        if not wanted:
            raise PublishError(NAME, f"incident {draft.seed} has no Slack channel; set publish.slack.channel")
        return list(dict.fromkeys(wanted))

    def publish(self, req: Request) -> list[Publication]:
        text = message(req.draft, req.pages)
        out = []
        incident = req.draft.contract["incident"]["id"]
        for channel in self.channels(req.draft):
            before = req.before(channel)
            if before is None and not req.new:
                # no record: a crash or a failed post may still have left the message
                before = self._find(channel, incident)
            posted = self._update(channel, before, text) if before else None
            if posted is None:
                posted = self._post(channel, text, incident)
                before = None
            permalink = self._permalink(posted["channel"], posted["ts"])
            out.append(Publication(NAME, channel, posted["ts"], permalink, next_version(before)))
            req.record(out[-1])
        return out

    def _post(self, channel: str, text: str, incident: str) -> dict[str, Any]:
        metadata = {"event_type": EVENT_TYPE, "event_payload": {"incident_id": incident}}
        try:
            return self._call("chat.postMessage", channel=channel, text=text, metadata=metadata)
        except _Unsure as exc:
            raise PublishError(NAME, f"chat.postMessage to channel {channel}: {exc} (it may have been posted: "
                               "the next publish finds it and edits it instead of posting again)") from None

    def _find(self, channel: str, incident: str) -> dict[str, Any] | None:
        """The record of this incident's message in the channel's recent history (by its
        metadata), or None; a history the token may not read (no channels:history) is None."""
        try:
            page = self._call("conversations.history", channel=channel, limit=HISTORY_LOOKBACK,
                              include_all_metadata="true")
        except (SourceError, _Unsure):
            return None
        for msg in page.get("messages") or []:
            meta = msg.get("metadata") if isinstance(msg, dict) else None
            if (isinstance(meta, dict) and meta.get("event_type") == EVENT_TYPE
                    and isinstance(meta.get("event_payload"), dict)
                    and meta["event_payload"].get("incident_id") == incident and msg.get("ts")):
                return {"destination": channel, "remote_id": str(msg["ts"]), "version": 0}
        return None

    def _update(self, channel: str, before: dict[str, Any], text: str) -> dict[str, Any] | None:
        try:
            return self._call("chat.update", channel=before["destination"], ts=before["remote_id"], text=text)
        except _Gone:
            return None     # deleted, or too old to edit: post a new one

    def _permalink(self, channel: str, ts: str) -> str | None:
        try:
            return self._call("chat.getPermalink", channel=channel, message_ts=ts).get("permalink")
        except SourceError:
            return None     # the message is posted; a missing link only leaves the url empty

    def _call(self, method: str, **params) -> dict[str, Any]:
        if method in ("chat.postMessage", "chat.update"):
            params.update(parse="none", link_names=False, unfurl_links=False, unfurl_media=False)
        web = self.poster if method == "chat.postMessage" else self.web
        try:
            if method in ("chat.getPermalink", "conversations.history"):
                return web.api_call(method, http_verb="GET", params=params).data
            return web.api_call(method, json=params).data
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            if method == "chat.postMessage" and getattr(exc.response, "status_code", 200) >= 500:
                raise _Unsure(f"HTTP {exc.response.status_code}") from None
            if method == "chat.update" and data.get("error") in GONE:
                raise _Gone() from None
            if data.get("error") in ("channel_not_found", "not_in_channel", "is_archived"):
                raise PublishError(NAME, f"{method} to channel {params.get('channel')}: {data['error']} "
                                   "(invite the bot, or check the channel)") from None
            err = _slack_error(NAME, method, exc.response, [self.web.token or ""])
            raise PublishError(NAME, f"{method}: {str(err).split(': ', 1)[-1]}") from None
        except (OSError, ValueError) as exc:
            if method == "chat.postMessage":
                raise _Unsure(f"connection error ({type(exc).__name__})") from None
            raise PublishError(NAME, f"{method}: connection error ({type(exc).__name__}) after retries") from None


class _Gone(Exception):
    pass


class _Unsure(Exception):
    """A post whose outcome is unknown (5xx, dropped connection): not retried."""
