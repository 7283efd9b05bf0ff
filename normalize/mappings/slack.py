"""Slack messages and replies (API or workspace export) -> chat.* events; users and
channels are context (entity streams), read through the transforms below.

A message is a reject when it names no channel (neither its parent nor `channel`) or
has no `ts`. Its text is `text`, else its attachments' (title link, fallback or text),
else the titles (else names) of the files it shares; mentions render with the users'
names. Integrations post with a `bot_id` (often no user): their actor is the username,
the bot profile's name, the user's name or the bot id. `bot_add` / `bot_remove` are a
person's event although they carry the bot's id. A `file_comment`'s author is the
comment's user.
"""
from __future__ import annotations

from typing import Any, Mapping as TMapping

from ..sql import lit
from ..mapping import Context, SourceSpec
from ..text import slack_to_text
from ..transforms import TRANSFORMS, Transform, render
from . import Check, Const, Field, Mapping, Or, Parent, Present, Rule, Time, Value, attrs, call

KINDS = {"channel_join": "chat.join", "channel_leave": "chat.leave", "channel_topic": "chat.topic",
         "channel_purpose": "chat.topic", "pinned_item": "chat.pin"}
PERSON_SUBTYPES = ("bot_add", "bot_remove")

_READ = {"channel": "channel", "ts": "ts", "subtype": "subtype", "user": "user", "comment_user": "comment.user",
         "bot_id": "bot_id", "username": "username", "bot_name": "bot_profile.name",
         "real_name": "user_profile.real_name", "text": "text", "thread_ts": "thread_ts",
         "attachments": "attachments", "files": "files", "file": "file"}


def slack_mapping(spec: SourceSpec) -> Mapping:
    channel = Or((Parent(), Value("channel", "truthy")))
    ts = Value("ts")
    subtype = Value("subtype")
    author = call("slack_author", Value("user", "truthy"), subtype, Value("comment_user", "truthy"))
    bot = call("slack_bot", subtype, Value("bot_id", "truthy"), author)
    user_name = call("slack_user_name", author)
    attachment_text = call("slack_attachment_text", Value("attachments", "object"))
    raw_text = Or((Value("text", "truthy"), attachment_text,
                   call("slack_files_text", Value("files", "object"), Value("file", "object")), Const("")))
    text = call("slack_text", raw_text)
    workspace = spec.options.get("workspace_url")
    draft = {
        "kind": call("slack_kind", subtype, Value("thread_ts", "truthy"), ts),
        "ts_raw": ts,
        "actor": Or((Present(bot, Or((Value("username", "truthy"), Value("bot_name", "truthy"), user_name,
                                      Value("bot_id", "truthy"))),
                             Or((user_name, Value("real_name", "truthy"), author))), Const("unknown"))),
        "actor_type": Present(bot, Const("bot"), Const("human")),
        "actor_id": Or((call("slack_user_email", author), author, Value("bot_id", "truthy"), Const(None))),
        "title": call("first_line", text, Const(140)),
        "body": text,
        "refs": call("own_and_found_refs", call("concat", Const("slack:"), channel), raw_text, attachment_text),
        "url": (call("concat", Const(str(workspace).rstrip("/") + "/archives/"), channel, Const("/p"),
                     call("without_dots", ts)) if workspace else Const(None)),
        "native_id": call("concat", channel, Const(":"), ts),
        "attrs": attrs(channel=channel, channel_name=call("slack_channel_name", channel),
                       thread_ts=Value("thread_ts"), subtype=subtype),
    }
    rule = Rule(streams=("messages", "replies"), fields=tuple(Field(n, c, required=False) for n, c in _READ.items()),
                checks=(Check(channel, "channel", "message names no channel"), Check(ts, "ts", "missing")), draft=draft)
    return Mapping(source_type=spec.type, rules=(rule,), time=Time(field="ts", format="slack_ts"),
                   entity_streams=("users", "channels"), knows_emails=True)


# ------------------------------------------------------------------ transforms
def _object(value: Any) -> TMapping[str, Any]:
    """A user's or channel's (nested) object; anything else in its place reads as empty."""
    return value if isinstance(value, TMapping) else {}


def _text(value: Any) -> str | None:
    """A name or e-mail of a user or channel: only a non-empty string names anyone."""
    return value if isinstance(value, str) and value else None


def _user(ctx: Context, uid: str | None) -> TMapping[str, Any]:
    return _object(ctx.entity("users", uid))


def user_name(user: TMapping[str, Any]) -> str | None:
    profile = _object(user.get("profile"))
    return (_text(user.get("real_name")) or _text(profile.get("real_name")) or _text(profile.get("display_name"))
            or _text(user.get("name")))


def slack_author(user: str | None, subtype: str | None, comment_user: str | None) -> str | None:
    return user or (comment_user if subtype == "file_comment" else None) or None


def slack_bot(ctx: Context, subtype: str | None, bot_id: str | None, author: str | None) -> str | None:
    """"bot" when an integration posted it, else None."""
    is_bot = bool(_user(ctx, author).get("is_bot"))
    if subtype in PERSON_SUBTYPES and author and not is_bot:
        return None   # a person added or removed an integration: the bot_id is what was added
    return "bot" if subtype == "bot_message" or bot_id or is_bot else None


def slack_kind(subtype: str | None, thread_ts: str | None, ts: str | None) -> str:
    kind = KINDS.get(subtype or "")
    if kind is None:
        kind = "chat.reply" if thread_ts and thread_ts != ts else "chat.message"
    return kind


def _kind_sql(_ctx, subtype: str, thread_ts: str, ts: str) -> str:
    kinds = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in KINDS.items())
    return (f"CASE {subtype} {kinds} ELSE CASE WHEN coalesce({thread_ts}, '') <> '' AND {thread_ts} IS DISTINCT FROM "
            f"{ts} THEN 'chat.reply' ELSE 'chat.message' END END")


def slack_attachment_text(attachments: Any) -> str:
    parts: list[str | None] = []
    for att in attachments if isinstance(attachments, list) else ():
        if isinstance(att, TMapping):
            parts += [render(att.get("title_link"), "truthy"),
                      render(att.get("fallback"), "truthy") or render(att.get("text"), "truthy")]
    return "\n".join(p for p in parts if p)


def slack_files_text(files: Any, file: Any) -> str:
    """A message that only shares files reads as their titles (else their names)."""
    listed = files if isinstance(files, list) and files else [file] if file else []
    names = [render(f.get("title"), "truthy") or render(f.get("name"), "truthy") or ""
             for f in listed if isinstance(f, TMapping)]
    return ", ".join(n for n in names if n)


def slack_text(ctx: Context, raw_text: str | None) -> str:
    return slack_to_text(raw_text, lambda uid: user_name(_user(ctx, uid)))


def _absent(_ctx, *args: str) -> str:
    return " AND ".join(f"{a} IS NULL" for a in args)


TRANSFORMS.update({
    "slack_author": Transform(slack_author, sql=lambda _c, u, s, c: f"coalesce({u}, CASE WHEN {s} = 'file_comment' "
                                                                      f"THEN {c} END)",
                              exact=lambda *_a: "true"),
    "slack_bot": Transform(slack_bot, with_ctx=True, distinct=True),
    "slack_kind": Transform(slack_kind, sql=_kind_sql, exact=lambda *_a: "true"),
    "slack_user_name": Transform(lambda ctx, uid: user_name(_user(ctx, uid)), with_ctx=True, distinct=True),
    "slack_user_email": Transform(lambda ctx, uid: _text(_object(_user(ctx, uid).get("profile")).get("email")),
                                  with_ctx=True, distinct=True),
    "slack_channel_name": Transform(lambda ctx, cid: _text(_object(ctx.entity("channels", cid)).get("name")),
                                    with_ctx=True, distinct=True),
    # a message without attachments (files) has no text of theirs
    "slack_attachment_text": Transform(slack_attachment_text, sql=lambda _c, _a: "''", exact=_absent),
    "slack_files_text": Transform(slack_files_text, sql=lambda _c, _a, _b: "''", exact=_absent),
    # text without a token or an entity is itself
    "slack_text": Transform(slack_text, with_ctx=True, sql=lambda _c, t: f"coalesce({t}, '')",
                            exact=lambda _c, t: f"NOT coalesce(regexp_matches({t}, '[<&]'), false)"),
})
