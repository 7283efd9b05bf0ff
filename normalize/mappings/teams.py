"""Microsoft Teams channel messages and replies (Graph chatMessage) -> chat.* events.

- a message is `chat.message`, a reply (it has `replyToId`) `chat.reply`, its thread in
  `attrs.thread_id` (the root's native id) and `attrs.parent_id` (a reply's root);
- a system event (`messageType: systemEventMessage`, its `eventDetail` naming what
  happened) is `chat.join` (members added or joined), `chat.leave` (deleted or left),
  `chat.topic` (channel renamed or its description changed), `chat.pin`, else `chat.system`;
  its text says what happened, its actor is `eventDetail.initiator`;
- a deleted message (`deletedDateTime`) keeps its kind, so its event replaces the earlier
  version's (same event id), but not its text: it reads "(message deleted)";
- an edited one is the version fetched last (the same native id: the newest fetch wins),
  `attrs.edited` its lastEditedDateTime;
- the actor is `from.user.displayName` (human), else `from.application.displayName` (bot),
  else the user's or the application's id; nobody (a system event) is `system`;
- the text: an html body as plain text (mentions `@Name`, links `label (href)`, entities
  decoded, tags stripped: normalize.text.teams_html_to_text), a text body as it is; a
  message with a `subject` has it as its title; a message that is only attachments (a
  bot's card, a shared file) reads as what they say: a card's titles, texts, facts and
  links, a file's name (and a reference's link).
Time: createdDateTime. Refs: `teams:<channel id>`, then the ticket keys, incident ids and
links the text and subject name.
"""
from __future__ import annotations

import json
import re
from typing import Any, Mapping as TMapping

from ..sql import lit
from ..mapping import SourceSpec
from ..text import teams_html_to_text
from ..transforms import TRANSFORMS, Transform
from . import Check, Const, Field, Mapping, Or, Parent, Present, Rule, Time, Value, attrs, call

SYSTEM = "systemEventMessage"
DELETED_TITLE = "(message deleted)"
EVENT_KINDS = {"membersAdded": "chat.join", "membersJoined": "chat.join", "membersDeleted": "chat.leave",
               "membersLeft": "chat.leave", "channelRenamed": "chat.topic",
               "channelDescriptionUpdated": "chat.topic", "messagePinned": "chat.pin"}
# what a system event says it did, after its initiator's name
_PHRASES = {"membersAdded": "added {members}", "membersJoined": "joined: {members}",
            "membersDeleted": "removed {members}", "membersLeft": "left: {members}",
            "channelRenamed": "renamed the channel to {channel}",
            "channelDescriptionUpdated": "changed the channel description to {description}"}

_READ = {"id": "id", "reply_to": "replyToId", "message_type": "messageType", "created": "createdDateTime",
         "deleted": "deletedDateTime", "edited": "lastEditedDateTime", "user_name": "from.user.displayName",
         "user_id": "from.user.id", "app_name": "from.application.displayName", "app_id": "from.application.id",
         "content": "body.content", "content_type": "body.contentType", "subject": "subject", "web_url": "webUrl",
         "own_channel": "channelIdentity.channelId", "event_detail": "eventDetail", "attachments": "attachments"}


def teams_mapping(spec: SourceSpec) -> Mapping:
    from incident_timeline.ingest.teams import channels

    names = Const(json.dumps({k: v for k, v in channels(spec.options.get("channels")).items() if v},
                             sort_keys=True))
    channel = Or((Parent(), Value("own_channel", "truthy")))
    message_type = Value("message_type")
    reply_to = Value("reply_to", "truthy")
    deleted = Value("deleted", "truthy")
    detail = Value("event_detail", "object")
    cards = call("teams_attachment_text", Value("attachments", "object"), Value("attachments", "json"))
    text = call("teams_text", Value("content"), Value("content_type"), deleted, message_type, detail, cards)
    user = Or((Value("user_name", "truthy"), Value("user_id", "truthy")))
    app = Or((Value("app_name", "truthy"), Value("app_id", "truthy")))
    initiator = call("teams_initiator", message_type, detail)
    subject = Or((Value("subject", "truthy"), Const(None)))
    root = call("concat", channel, Const("/"), Or((reply_to, Value("id"))))
    draft = {
        "kind": call("teams_kind", message_type, reply_to, detail),
        "ts_raw": Value("created"),
        "actor": Or((Value("user_name", "truthy"), Value("app_name", "truthy"), Value("user_id", "truthy"),
                     Value("app_id", "truthy"), initiator, Const("unknown"))),
        "actor_type": Present(user, Const("human"), Present(app, Const("bot"), Present(
            initiator, Const("human"), Const("system")))),
        "actor_id": Or((Value("user_id", "truthy"), Value("app_id", "truthy"), Const(None))),
        "title": Present(deleted, Const(DELETED_TITLE), Or((subject, call("first_line", text, Const(140))))),
        "body": text,
        "refs": call("own_and_found_refs", call("concat", Const("teams:"), channel), text,
                     Present(deleted, Const(None), subject), Present(deleted, Const(None), cards)),
        "url": Or((Value("web_url", "truthy"), Const(None))),
        "native_id": call("concat", channel, Const("/"), Value("id")),
        "attrs": attrs(channel=channel, channel_name=call("teams_channel_name", channel, names), thread_id=root,
                       parent_id=Present(reply_to, call("concat", channel, Const("/"), reply_to), Const(None)),
                       message_type=message_type, edited=Value("edited"), deleted=deleted),
    }
    rule = Rule(streams=("messages", "replies"), fields=tuple(Field(n, c, required=False) for n, c in _READ.items()),
                checks=(Check(channel, "channel", "message names no channel"), Check(Value("id"), "id", "missing"),
                        Check(Value("created"), "createdDateTime", "missing")), draft=draft,
                time_field="createdDateTime")
    return Mapping(source_type=spec.type, rules=(rule,), time=Time(field="createdDateTime", format="iso8601"))


# ------------------------------------------------------------------ transforms
def _object(value: Any) -> TMapping[str, Any]:
    return value if isinstance(value, TMapping) else {}


def _detail(value: Any) -> TMapping[str, Any]:
    """A record's eventDetail (an object argument: the value as json.loads gives it)."""
    return _object(value)


def _event(detail: TMapping[str, Any]) -> str:
    """`#microsoft.graph.membersAddedEventMessageDetail` -> `membersAdded`."""
    kind = detail.get("@odata.type")
    kind = kind if isinstance(kind, str) else ""
    return kind.rsplit(".", 1)[-1].removesuffix("EventMessageDetail")


def _name(identity: Any) -> str | None:
    """An identitySet's or a teamworkUserIdentity's display name (else its id)."""
    identity = _object(identity)
    for who in (identity, _object(identity.get("user")), _object(identity.get("application"))):
        for key in ("displayName", "id"):
            value = who.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def teams_kind(message_type: str | None, reply_to: str | None, payload: Any) -> str:
    if message_type == SYSTEM:
        return EVENT_KINDS.get(_event(_detail(payload)), "chat.system")
    return "chat.reply" if reply_to else "chat.message"


def _kind_sql(_ctx, message_type: str, reply_to: str, _payload: str) -> str:
    return f"CASE WHEN coalesce({reply_to}, '') <> '' THEN 'chat.reply' ELSE 'chat.message' END"


def _not_system(_ctx, message_type: str, *_rest: str) -> str:
    return f"{message_type} IS DISTINCT FROM {lit(SYSTEM)}"


def teams_initiator(message_type: str | None, payload: Any) -> str | None:
    return _name(_detail(payload).get("initiator")) if message_type == SYSTEM else None


def event_text(detail: TMapping[str, Any]) -> str:
    """What a system event did, in words: `Robin Kline added Alex Wilber, Megan Bowen`."""
    event = _event(detail)
    members = [n for n in (_name(m) for m in detail.get("members") or [] if isinstance(detail.get("members"), list))
               if n]
    facts = {"members": ", ".join(members) or "members",
             "channel": str(detail.get("channelDisplayName") or "?"),
             "description": str(detail.get("channelDescription") or "(none)")}
    phrase = _PHRASES.get(event)
    if phrase is None:
        words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", event).lower().strip() or "system event"
        phrase = words
    said = phrase.format(**facts)
    who = _name(detail.get("initiator"))
    return f"{who} {said}" if who else said[:1].upper() + said[1:]


def teams_text(content: str | None, content_type: str | None, deleted: str | None, message_type: str | None,
               detail: Any, cards: str | None) -> str:
    """A message's text; a message that is only attachments (a bot's card, a shared file)
    reads as what they say."""
    if deleted:
        return ""
    if message_type == SYSTEM:
        return event_text(_detail(detail))
    text = (content or "") if content_type == "text" else teams_html_to_text(content)
    return text or cards or ""


def _plain_sql(_ctx, content: str, *rest: str) -> str:
    cards = rest[-1]
    return f"CASE WHEN coalesce({content}, '') <> '' THEN {content} ELSE coalesce({cards}, '') END"


_CARD_KEYS = ("title", "subtitle", "text", "url")
_CARD_STRINGS = 50


def teams_attachment_text(attachments: Any, _as_json: str | None = None) -> str:
    """What a message's attachments say, a line each: a file's name (and a reference's
    link), a card's titles, texts and action links (its `content` is JSON text)."""
    parts: list[str] = []
    for att in attachments if isinstance(attachments, list) else ():
        if not isinstance(att, TMapping):
            continue
        kind = att.get("contentType") if isinstance(att.get("contentType"), str) else ""
        for key in ("name", "contentUrl") if kind == "reference" else ("name",):
            value = att.get(key)
            if isinstance(value, str) and value:
                parts.append(value)
        content = att.get("content")
        if isinstance(content, str) and kind.startswith("application/vnd.microsoft.card"):
            try:
                content = json.loads(content)
            except (ValueError, RecursionError):
                content = None
        parts += _card_strings(content)
    return "\n".join(dict.fromkeys(p.strip() for p in parts if p.strip()))


def _card_strings(card: Any) -> list[str]:
    """The strings under a card's title/subtitle/text/url keys, a fact as `title: value`, in
    order (bounded, no recursion)."""
    out: list[str] = []
    stack = [card]
    while stack and len(out) < _CARD_STRINGS:
        node = stack.pop()
        if isinstance(node, TMapping):
            if isinstance(node.get("title"), str) and isinstance(node.get("value"), str):   # a fact
                out.append(f"{node['title']}: {node['value']}")
            else:
                out += [node[k] for k in _CARD_KEYS if isinstance(node.get(k), str)]
            stack += reversed([v for k, v in node.items() if k not in _CARD_KEYS and isinstance(v, (list, TMapping))])
        elif isinstance(node, list):
            stack += reversed([v for v in node if isinstance(v, (list, TMapping))])
    return out[:_CARD_STRINGS]


# One line of printable ASCII without a tag, an entity or a run of spaces: what Python's
# html-to-text leaves as it is (RE2's \s is ASCII where Python's split() is not: anything
# else goes to Python)
_PLAIN_TEXT = r"[!-%'-;=?-~]+( [!-%'-;=?-~]+)*"


def _plain(_ctx, content: str, content_type: str, deleted: str, message_type: str, *_rest: str) -> str:
    """Where SQL gives Python's answer: a live, non-system message with a text body, or
    an html body that is plain text already."""
    return (f"{deleted} IS NULL AND {message_type} IS DISTINCT FROM {lit(SYSTEM)} AND "
            f"({content_type} = 'text' OR coalesce(regexp_full_match({content}, {lit(_PLAIN_TEXT)}), false))")


def teams_channel_name(channel: str | None, names: str) -> str | None:
    value = json.loads(names).get(channel or "")
    return value if isinstance(value, str) and value else None


TRANSFORMS.update({
    "teams_kind": Transform(teams_kind, sql=_kind_sql, exact=_not_system),
    "teams_initiator": Transform(teams_initiator, sql=lambda _c, _m, _p: "NULL::VARCHAR", exact=_not_system),
    "teams_text": Transform(teams_text, sql=_plain_sql, exact=_plain),
    "teams_channel_name": Transform(teams_channel_name, distinct=True),
    # a message without attachments (the common case) has no text of theirs
    "teams_attachment_text": Transform(teams_attachment_text, sql=lambda _c, _o, _j: "''",
                                       exact=lambda _c, _o, j: f"coalesce({j}, '[]') IN ('[]', 'null')"),
})
