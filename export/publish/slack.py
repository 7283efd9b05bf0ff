"""Slack: a short message in the incident's channel and/or a configured one: the summary, the
key metrics and links to the published pages (chat.postMessage through slack_sdk's WebClient,
with the same retries as the Slack source). A republish edits the message (chat.update).

Every text is escaped for mrkdwn (&, <, >), so no `<!channel>`, `<@U…>` or `<url|label>` a
title or a chat line carries can mention anyone or hide a link; `parse: none` and no
`link_names` keep Slack from turning a bare @channel into a mention."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from slack_sdk.errors import SlackApiError

from ingest.errors import SourceError
from ingest.slack import _slack_error, web_client
from export.filters import duration, utc

from .base import Publication, Request, next_version, reveal
from .errors import PublishError

NAME = "slack"
PAGE_NAMES = {"confluence": "Confluence page", "gdrive": "Google Doc"}
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
    lines += [escape(s) for s in draft.summary]
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
        for channel in self.channels(req.draft):
            before = req.before(channel)
            posted = self._update(channel, before, text) if before else None
            if posted is None:
                posted = self._call("chat.postMessage", channel=channel, text=text)
                before = None
            permalink = self._permalink(posted["channel"], posted["ts"])
            out.append(Publication(NAME, channel, posted["ts"], permalink, next_version(before)))
            req.record(out[-1])
        return out

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
        try:
            return self.web.api_call(method, json=params).data if method != "chat.getPermalink" else \
                self.web.api_call(method, http_verb="GET", params=params).data
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            if method == "chat.update" and data.get("error") in GONE:
                raise _Gone() from None
            if data.get("error") in ("channel_not_found", "not_in_channel", "is_archived"):
                raise PublishError(NAME, f"{method} to channel {params.get('channel')}: {data['error']} "
                                   "(invite the bot, or check the channel)") from None
            err = _slack_error(NAME, method, exc.response, [self.web.token or ""])
            raise PublishError(NAME, f"{method}: {str(err).split(': ', 1)[-1]}") from None
        except (OSError, ValueError) as exc:
            raise PublishError(NAME, f"{method}: connection error ({type(exc).__name__}) after retries") from None


class _Gone(Exception):
    pass
