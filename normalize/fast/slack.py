"""Slack messages and replies (API and export) mapped in DuckDB, a column at a time.

Mirrors `normalize.mappers.slack.SlackMapper` field for field; a test checks both give the
same events. Declined, and left to the mapper: other streams, payloads that are not a
JSON object (or that only DuckDB's lenient reader accepts), messages without channel or
string ts, messages with attachments, and text with HTML entities or whitespace this SQL
does not reproduce exactly.
"""
from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from ..mapping import Context
from .frame import register_raw, split
from .sql import (LENIENT_JSON, ODD_TEXT, OTHER_ENTITY, cut_line_sql, first_line_sql, html_unescape_sql, lit,
                  refs_sql, unique_sql)

# ts and thread_ts stay JSON text so that a number is told from a string; attachments only
# need to be seen. One parse of the payload serves every field.
_FIELDS = {"ts": "JSON", "user": "VARCHAR", "text": "VARCHAR", "subtype": "VARCHAR", "bot_id": "VARCHAR",
           "thread_ts": "JSON", "username": "VARCHAR", "channel": "VARCHAR", "attachments": "JSON",
           "bot_profile": {"name": "VARCHAR"}, "user_profile": {"real_name": "VARCHAR"}}
_KINDS = {"channel_join": "chat.join", "channel_leave": "chat.leave", "channel_topic": "chat.topic",
          "channel_purpose": "chat.topic", "pinned_item": "chat.pin"}
_TOKEN = "<([^<>]+)>"


def _json_string(col: str) -> str:
    """A JSON string value without escapes, unquoted; NULL for anything else."""
    return (f"CASE WHEN starts_with({col}, '\"') AND NOT contains({col}, '\\') "
            f"THEN substr({col}, 2, length({col}) - 2) END")


def _users(ctx: Context) -> pa.Table:
    rows = []
    for uid, user in (ctx.entities.get("users") or {}).items():
        profile = user.get("profile") or {}
        name = (user.get("real_name") or profile.get("real_name") or profile.get("display_name")
                or user.get("name") or None)
        rows.append({"id": uid, "name": name, "email": profile.get("email") or None,
                     "is_bot": bool(user.get("is_bot"))})
    return pa.Table.from_pylist(rows, schema=pa.schema([("id", pa.string()), ("name", pa.string()),
                                                         ("email", pa.string()), ("is_bot", pa.bool_())]))


def _channels(ctx: Context) -> pa.Table:
    rows = [{"id": cid, "name": c.get("name")} for cid, c in (ctx.entities.get("channels") or {}).items()]
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
        register_raw(con, raw)
        con.register("users", _users(ctx))
        con.register("channels", _channels(ctx))
        con.execute(_MESSAGES)
        con.execute(_TOKENS)
        drafts = con.sql(_drafts_sql(ctx)).to_arrow_table().sort_by("rid")
        rest_ids = con.sql("SELECT rid FROM raw WHERE rid NOT IN (SELECT rid FROM m WHERE taken) "
                           "ORDER BY rid").to_arrow_table()
    finally:
        con.close()
    return split(raw, drafts, rest_ids)


# Every usable message with the fields the mapper reads, and whether this path takes it.
_MESSAGES = f"""
CREATE TEMP TABLE m AS
WITH parsed AS (
    SELECT rid, payload, nullif(parent_id, '') AS parent_id,
           try(json_transform(payload, {lit(json.dumps(_FIELDS))})) AS p
    FROM raw WHERE stream IN ('messages', 'replies')),
msg AS (
    SELECT rid, regexp_matches(payload, {lit(LENIENT_JSON)}) AS lenient, p,
           coalesce(parent_id, nullif(p.channel, '')) AS channel,
           {_json_string('p.ts')} AS ts, {_json_string('p.thread_ts')} AS thread_ts,
           coalesce(p.text, '') AS raw_text, p.attachments IS NOT NULL AS has_attachments,
           (p.thread_ts IS NULL OR p.thread_ts = 'null' OR {_json_string('p.thread_ts')} IS NOT NULL) AS plain_types
    FROM parsed WHERE p IS NOT NULL)
SELECT msg.*, u.name AS user_name, u.email AS email, c.name AS channel_name,
       (p.subtype = 'bot_message' OR coalesce(p.bot_id, '') <> '' OR coalesce(u.is_bot, false)) AS is_bot,
       channel IS NOT NULL AND plain_types AND coalesce(ts, '') <> '' AND NOT has_attachments
           AND NOT lenient
           AND NOT (strlen(raw_text) <> length(raw_text) AND regexp_matches(raw_text, {lit(ODD_TEXT)}))
           AND NOT (contains(raw_text, '&') AND regexp_matches(
                    replace(replace(replace(raw_text, '&amp;', ''), '&lt;', ''), '&gt;', ''), {lit(OTHER_ENTITY)}))
           AS taken
FROM msg LEFT JOIN users u ON u.id = msg.p.user LEFT JOIN channels c ON c.id = msg.channel"""


# The <...> tokens of every taken message, rendered, in order (mentions joined to users).
_TOKENS = f"""
CREATE TEMP TABLE tokens AS
WITH tok AS (
    SELECT rid, unnest(toks) AS tok, unnest(range(1, len(toks) + 1)) AS i
    FROM (SELECT rid, regexp_extract_all(raw_text, {lit(_TOKEN)}, 1) AS toks
          FROM m WHERE taken AND strpos(raw_text, '<') > 0)),
parts AS (
    SELECT rid, i, CASE WHEN strpos(tok, '|') > 0 THEN left(tok, strpos(tok, '|') - 1) ELSE tok END AS target,
           CASE WHEN strpos(tok, '|') > 0 THEN substr(tok, strpos(tok, '|') + 1) ELSE '' END AS label
    FROM tok)
SELECT rid, list({_token_sql('target', 'label', 'u.name')} ORDER BY i) AS rendered
FROM parts LEFT JOIN users u ON starts_with(target, '@') AND u.id = substr(target, 2)
GROUP BY rid"""


def _drafts_sql(ctx: Context) -> str:
    workspace = ctx.spec.options.get("workspace_url")
    url = (f"{lit(str(workspace).rstrip('/') + '/archives/')} || channel || '/p' || replace(ts, '.', '')"
           if workspace else "NULL")
    kinds = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in _KINDS.items())
    joined = (f"array_to_string(list_transform(string_split_regex(raw_text, {lit(_TOKEN)}), "
              f"lambda piece, i: piece || coalesce(rendered[i], '')), '')")
    all_refs = f"list_concat(['slack:' || channel], {refs_sql(ctx.refs, 'raw_text')})"
    return f"""
    WITH t AS (
        SELECT m.*, {html_unescape_sql(f"CASE WHEN rendered IS NULL THEN raw_text ELSE {joined} END")} AS text,
               CASE p.subtype {kinds} ELSE CASE WHEN coalesce(thread_ts, '') <> '' AND thread_ts <> ts
                    THEN 'chat.reply' ELSE 'chat.message' END END AS kind
        FROM m LEFT JOIN tokens USING (rid) WHERE taken),
    lines AS (SELECT *, {first_line_sql('text')} AS line, {all_refs} AS all_refs FROM t)
    SELECT kind, ts AS ts_raw, NULL::VARCHAR AS ts_format,
           coalesce(CASE WHEN is_bot
               THEN coalesce(nullif(p.username, ''), nullif(p.bot_profile.name, ''), user_name)
               ELSE coalesce(user_name, nullif(p.user_profile.real_name, ''), nullif(p.user, '')) END,
               'unknown') AS actor,
           CASE WHEN is_bot THEN 'bot' ELSE 'human' END AS actor_type,
           coalesce(email, nullif(p.user, ''), nullif(p.bot_id, '')) AS actor_id,
           NULL::VARCHAR AS subject, {cut_line_sql('line')} AS title, text AS body,
           NULL::VARCHAR AS severity, NULL::VARCHAR AS service, {url} AS url,
           channel || ':' || ts AS native_id, {unique_sql('all_refs')} AS refs,
           json_object('channel', channel, 'channel_name', channel_name,
                       'subtype', p.subtype, 'thread_ts', thread_ts) AS attrs,
           NULL::VARCHAR AS record, rid
    FROM lines"""
