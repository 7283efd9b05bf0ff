"""Slack messages (API or workspace export) -> chat.* events; users and channels are context."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..mapping import Context, Mapper, RecordError, require
from ..text import first_line, slack_to_text

_KINDS = {"channel_join": "chat.join", "channel_leave": "chat.leave", "channel_topic": "chat.topic",
          "channel_purpose": "chat.topic", "pinned_item": "chat.pin"}
# Messages whose `user` is a person although they carry a bot_id (the integration concerned).
PERSON_SUBTYPES = ("bot_add", "bot_remove")


class SlackMapper(Mapper):
    source_type = "slack"
    time_format = "slack_ts"
    entity_streams = ("users", "channels")
    time_fields = {"messages": ("ts",), "replies": ("ts",)}
    knows_emails = True

    def map(self, stream: str, payload: Mapping[str, Any], parent_id: str | None,
            ctx: Context) -> Iterable[dict]:
        if stream not in ("messages", "replies"):
            return super().map(stream, payload, parent_id, ctx)
        channel = parent_id or payload.get("channel")
        if not channel:
            raise RecordError("channel", "message names no channel")
        ts = require(payload, "ts")
        subtype = payload.get("subtype")
        user_id = author(payload)
        user = ctx.entity("users", user_id) or {}
        is_bot = bool(subtype == "bot_message" or payload.get("bot_id") or user.get("is_bot"))
        if subtype in PERSON_SUBTYPES and user_id and not user.get("is_bot"):
            is_bot = False   # a person added or removed an integration: the bot_id is what was added
        raw_text = payload.get("text") or _attachment_text(payload) or files_text(payload)
        text = slack_to_text(raw_text, lambda uid: _name(ctx.entity("users", uid)))
        if is_bot:
            # integrations (GitHub, Jira Cloud, ...) post with a bot_id and often no user
            actor = (payload.get("username") or (payload.get("bot_profile") or {}).get("name") or _name(user)
                     or payload.get("bot_id"))
        else:
            actor = _name(user) or (payload.get("user_profile") or {}).get("real_name") or user_id
        kind = _KINDS.get(subtype or "")
        if kind is None:
            thread_ts = payload.get("thread_ts")
            kind = "chat.reply" if thread_ts and thread_ts != ts else "chat.message"
        email = _text(_object(user.get("profile")).get("email"))
        return [{
            "kind": kind,
            "ts_raw": ts,
            "actor": actor or "unknown",
            "actor_type": "bot" if is_bot else "human",
            "actor_id": email or user_id or payload.get("bot_id"),
            "subject": None,
            "title": first_line(text),
            "body": text,
            "severity": None,
            "service": None,
            "refs": [f"slack:{channel}"] + ctx.refs.find(raw_text, _attachment_text(payload)),
            "url": _permalink(ctx.spec.options.get("workspace_url"), channel, ts),
            "native_id": f"{channel}:{ts}",
            "attrs": {"channel": channel, "channel_name": _text((ctx.entity("channels", channel) or {}).get("name")),
                      "thread_ts": payload.get("thread_ts"), "subtype": subtype},
        }]


class SlackExportMapper(SlackMapper):
    source_type = "slack_export"


def _name(user: Mapping[str, Any] | None) -> str | None:
    if not user:
        return None
    profile = _object(user.get("profile"))
    return (_text(user.get("real_name")) or _text(profile.get("real_name")) or _text(profile.get("display_name"))
            or _text(user.get("name")))


def _object(value: Any) -> Mapping[str, Any]:
    """A user's or channel's nested object; anything else in its place reads as empty."""
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    """A name or e-mail of a user or channel (context records): only a non-empty string
    names anyone; another value in its place names no one (the vectorised path reads the same)."""
    return value if isinstance(value, str) and value else None


def author(payload: Mapping[str, Any]) -> str | None:
    """Who wrote the message: `user`, or for a comment on a file (`file_comment`, older
    workspaces) the comment's own `user`."""
    user = payload.get("user")
    comment = payload.get("comment")
    if not user and payload.get("subtype") == "file_comment" and isinstance(comment, Mapping):
        user = comment.get("user")
    return user or None


def files_text(payload: Mapping[str, Any]) -> str:
    """A message that only shares files reads as their titles (else their names)."""
    files = payload.get("files") or ([payload["file"]] if payload.get("file") else [])
    names = [str(f.get("title") or f.get("name") or "") for f in files if isinstance(f, Mapping)]
    return ", ".join(n for n in names if n)


def _attachment_text(payload: Mapping[str, Any]) -> str:
    parts = []
    for att in payload.get("attachments") or []:
        parts += [att.get("title_link") or "", att.get("fallback") or att.get("text") or ""]
    return "\n".join(p for p in parts if p)


def _permalink(workspace_url: str | None, channel: str, ts: str) -> str | None:
    if not workspace_url:
        return None
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
