"""Slack messages and replies (API and export) mapped in DuckDB, a column at a time.

Mirrors `normalize.mappers.slack.SlackMapper` field for field; a test checks both give the
same events. Declined, and left to the mapper: other streams, payloads the strict reader
does not take (strict.py: not one JSON object, a field read here of another type or
repeated, ...), messages without channel or ts, messages with attachments, messages with
no text that share files, `file_comment`, `bot_add` and `bot_remove` messages, and text
with HTML entities or whitespace this SQL does not reproduce exactly.
"""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..mapping import Context
from ..mappers.slack import _name, _object, _text
from .frame import register_raw, split
from .strict import parse_strict
from .sql import (ODD_TEXT, OTHER_ENTITY, odd_ref_text_sql, cut_line_sql, first_line_sql, html_unescape_sql, lit,
                  own_and_found_sql, refs_sql)

_S = pa.string()
# The fields the mapper reads (see strict.py: a payload where one of them has another
# type, a number for ts say, or is repeated, is left to the mapper).
_MESSAGE = pa.schema([("ts", _S), ("user", _S), ("text", _S), ("subtype", _S), ("bot_id", _S), ("thread_ts", _S),
                      ("username", _S), ("channel", _S), ("bot_profile", pa.struct([("name", _S)])),
                      ("user_profile", pa.struct([("real_name", _S)]))])
_OBJECTS = ("bot_profile", "user_profile")
_KINDS = {"channel_join": "chat.join", "channel_leave": "chat.leave", "channel_topic": "chat.topic",
          "channel_purpose": "chat.topic", "pinned_item": "chat.pin"}
_TOKEN = "<([^<>]+)>"
# Left to the mapper: a comment on a file (its author is comment.user) and a person adding
# or removing an integration (a bot_id, but the person's event).
_MAPPER_SUBTYPES = "('file_comment', 'bot_add', 'bot_remove')"


def _users(ctx: Context) -> pa.Table:
    rows = []
    for uid, user in (ctx.entities.get("users") or {}).items():
        if not isinstance(user, dict):
            continue
        profile = _object(user.get("profile"))
        rows.append({"id": uid, "name": _name(user), "email": _text(profile.get("email")),
                     "is_bot": bool(user.get("is_bot"))})
    return pa.Table.from_pylist(rows, schema=pa.schema([("id", pa.string()), ("name", pa.string()),
                                                         ("email", pa.string()), ("is_bot", pa.bool_())]))


def _channels(ctx: Context) -> pa.Table:
    rows = [{"id": cid, "name": _text(c.get("name"))} for cid, c in (ctx.entities.get("channels") or {}).items()
            if isinstance(c, dict)]
    return pa.Table.from_pylist(rows, schema=pa.schema([("id", pa.string()), ("name", pa.string())]))


def _token_sql(target: str, label: str, user_name: str) -> str:
    """One <target|label> token as text.slack_to_text renders it."""
    rest = f"substr({target}, 2)"
    return f"""(CASE
        WHEN starts_with({target}, '@') THEN '@' || coalesce(nullif({label}, ''), {user_name}, {rest})
        WHEN starts_with({target}, '#') THEN '#' || coalesce(nullif({label}, ''), {rest})
        WHEN starts_with({target}, '!') THEN '@' || coalesce(nullif({label}, ''), split_part({rest}, '^', 1))
        WHEN {label} <> '' AND {label} <> {target} THEN {label} || ' (' || {target} || ')'
        WHEN starts_with({target}, 'mailto:') THEN substr({target}, 8)
        ELSE {target} END)"""


def slack_fast(raw: pa.Table, ctx: Context) -> tuple[pa.Table, pa.Table]:
    con = duckdb.connect()
    try:
        register_raw(con, _messages(raw))
        con.register("users", _users(ctx))
        con.register("channels", _channels(ctx))
        con.execute(_messages_sql(ctx))
        con.execute(_USER_NAMES)
        drafts = con.sql(_drafts_sql(ctx)).to_arrow_table().sort_by("rid")
    finally:
        con.close()
    return split(raw, drafts)


def _messages(raw: pa.Table) -> pa.Table:
    """Messages and replies with their fields read (p_*) where they read cleanly (rid: the row in raw)."""
    wanted = pc.is_in(raw["stream"], pa.array(["messages", "replies"]))
    rids = pc.indices_nonzero(pc.fill_null(wanted, False))
    payloads = raw["payload"].take(rids)
    parsed, ok = parse_strict(payloads, _MESSAGE)
    # Seen, not read: messages with attachments are declined, and so are those with no
    # text that share files (the mapper reads the files' titles).
    attachments = pc.fill_null(pc.match_substring(payloads, '"attachments"'), False)
    files = pc.fill_null(pc.match_substring_regex(payloads, '"files?"'), False)
    return pa.table({"rid": rids.cast(pa.int64()), "parent_id": raw["parent_id"].take(rids),
                     "ok": pc.and_(pa.array(ok), pc.invert(attachments)), "has_files": files,
                     **{f"p_{name}": parsed[name] for name in _MESSAGE.names if name not in _OBJECTS},
                     "p_bot_name": pc.struct_field(parsed["bot_profile"], "name"),
                     "p_user_real_name": pc.struct_field(parsed["user_profile"], "real_name")})


def _messages_sql(ctx: Context) -> str:
    """Every message read cleanly, with what the mapper reads, and whether this path takes it.
    Declined: text with whitespace this SQL does not strip as Python does, entities other
    than the three Slack writes, and non-ASCII text naming a ref (RE2's \\w, \\d and \\b
    are ASCII, Python's are not)."""
    return f"""
CREATE TEMP TABLE m AS
WITH msg AS (
    SELECT * EXCLUDE (ok, has_files, parent_id, p_channel, p_ts, p_thread_ts, p_text),
           coalesce(nullif(parent_id, ''), nullif(p_channel, '')) AS channel, p_ts AS ts,
           p_thread_ts AS thread_ts, coalesce(p_text, '') AS raw_text,
           (has_files AND coalesce(p_text, '') = '') OR coalesce(p_subtype IN {_MAPPER_SUBTYPES}, false) AS odd
    FROM raw WHERE ok)
SELECT msg.*, u.name AS user_name, u.email AS email, c.name AS channel_name,
       (p_subtype = 'bot_message' OR coalesce(p_bot_id, '') <> '' OR coalesce(u.is_bot, false)) AS is_bot,
       channel IS NOT NULL AND coalesce(ts, '') <> '' AND NOT odd
           AND NOT (strlen(raw_text) <> length(raw_text) AND regexp_matches(raw_text, {lit(ODD_TEXT)}))
           AND NOT {odd_ref_text_sql(ctx.refs, 'raw_text')}
           AND NOT (contains(raw_text, '&') AND regexp_matches(
                    replace(replace(replace(raw_text, '&amp;', ''), '&lt;', ''), '&gt;', ''), {lit(OTHER_ENTITY)}))
           AS taken
FROM msg LEFT JOIN users u ON u.id = msg.p_user LEFT JOIN channels c ON c.id = msg.channel"""


# A <target|label> token split at its first bar.
_TARGET = "(CASE WHEN strpos(tok, '|') > 0 THEN left(tok, strpos(tok, '|') - 1) ELSE tok END)"
_LABEL = "(CASE WHEN strpos(tok, '|') > 0 THEN substr(tok, strpos(tok, '|') + 1) ELSE '' END)"
# Mentions are looked up in a map of user id -> name, set once per run (no join, no regroup).
_USER_NAMES = "SET VARIABLE slack_user_names = (SELECT map(list(id), list(name)) FROM users WHERE name IS NOT NULL)"
_MENTIONED = "getvariable('slack_user_names')[substr(" + _TARGET + ", 2)]"
_RENDERED = (f"list_transform(regexp_extract_all(raw_text, {lit(_TOKEN)}, 1), "
             f"lambda tok: {_token_sql(_TARGET, _LABEL, _MENTIONED)})")


def _drafts_sql(ctx: Context) -> str:
    workspace = ctx.spec.options.get("workspace_url")
    url = (f"{lit(str(workspace).rstrip('/') + '/archives/')} || channel || '/p' || replace(ts, '.', '')"
           if workspace else "NULL")
    kinds = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in _KINDS.items())
    joined = (f"array_to_string(list_transform(string_split_regex(raw_text, {lit(_TOKEN)}), "
              f"lambda piece, i: piece || coalesce(rendered[i], '')), '')")
    return f"""
    WITH r AS (
        SELECT *, CASE WHEN strpos(raw_text, '<') > 0 THEN {_RENDERED} END AS rendered FROM m WHERE taken),
    t AS (
        SELECT r.*, {html_unescape_sql(f"CASE WHEN rendered IS NULL THEN raw_text ELSE {joined} END")} AS text,
               CASE p_subtype {kinds} ELSE CASE WHEN coalesce(thread_ts, '') <> '' AND thread_ts <> ts
                    THEN 'chat.reply' ELSE 'chat.message' END END AS kind
        FROM r),
    lines AS (SELECT *, {first_line_sql('text')} AS line, {refs_sql(ctx.refs, 'raw_text')} AS found FROM t)
    SELECT kind, ts AS ts_raw, NULL::VARCHAR AS ts_format,
           coalesce(CASE WHEN is_bot
               THEN coalesce(nullif(p_username, ''), nullif(p_bot_name, ''), user_name, nullif(p_bot_id, ''))
               ELSE coalesce(user_name, nullif(p_user_real_name, ''), nullif(p_user, '')) END,
               'unknown') AS actor,
           CASE WHEN is_bot THEN 'bot' ELSE 'human' END AS actor_type,
           coalesce(email, nullif(p_user, ''), nullif(p_bot_id, '')) AS actor_id,
           NULL::VARCHAR AS subject, {cut_line_sql('line')} AS title, text AS body,
           NULL::VARCHAR AS severity, NULL::VARCHAR AS service, {url} AS url,
           channel || ':' || ts AS native_id, {own_and_found_sql("'slack:' || channel", 'found')} AS refs,
           json_object('channel', channel, 'channel_name', channel_name,
                       'subtype', p_subtype, 'thread_ts', thread_ts) AS attrs,
           NULL::VARCHAR AS record, rid
    FROM lines"""
