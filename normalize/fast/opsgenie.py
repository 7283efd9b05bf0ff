"""Opsgenie alerts, activity logs and notes mapped in DuckDB, a column at a time.

Mirrors `normalize.mappers.opsgenie.OpsgenieMapper` field for field; a test checks both
give the same events. An activity log's kind comes from the mapper's own ordered table of
patterns (case-insensitive, first match wins). Declined, and left to the mapper: payloads
that only DuckDB's lenient reader accepts, with a repeated key, or with escapes DuckDB and
Python write differently; anything but a string where the mapper reads one (a count that
is not a small integer, tags that are not a list of strings); a log or note without its
alert id; closed alerts (the mapper derives their resolution from report.closeTime); non-ASCII log lines (Python's case-insensitive matching folds more than ASCII);
text with whitespace str.strip() knows and this SQL does not; and non-ASCII text that
names a ref.
"""
from __future__ import annotations

import json

import pyarrow as pa

from ..mappers.opsgenie import LOG_KINDS
from ..mapping import Context
from ..severity import to_sev
from .sql import (ODD_TEXT, cut_line_sql, drafts_from_query, first_line_sql, is_string_sql, lit, odd_json_sql,
                  odd_ref_text_sql, own_and_found_sql, refs_sql)

# One parse serves every stream: fields of alerts, logs and notes, all as JSON text so
# that a string is told from anything else.
_STRINGS = ("id", "tinyId", "alias", "message", "description", "status", "priority", "source", "owner", "entity",
            "createdAt", "lastOccurredAt", "log", "note", "type", "offset")
_FIELDS = _STRINGS + ("count", "tags", "details", "responders", "teams")
_COLUMN = {f: f for f in _STRINGS} | {"offset": "item_offset"}   # OFFSET is an SQL keyword
_STRING_LIST = r'\[\]|\[(?:"(?:[^"\\]|\\.)*",)*"(?:[^"\\]|\\.)*"\]'
_SMALL_INT = r"-?[0-9]{1,15}"
# mappers.opsgenie._tag_service: the first `service:NAME` or `service=NAME` tag
_TAG_SERVICE = ("list_transform(list_filter(from_json(tags, '[\"VARCHAR\"]'), lambda t: left(t, 8) IN "
                "('service:', 'service=') AND length(t) > 8), lambda t: substr(t, 9))[1]")



def _team_name_sql(item: str) -> str:
    return (f"CASE WHEN json_type({item}, '$.name') = 'VARCHAR' AND {item} ->> '$.name' <> '' THEN {item} ->> '$.name' "
            f"WHEN json_type({item}, '$.id') = 'VARCHAR' AND {item} ->> '$.id' <> '' THEN {item} ->> '$.id' END")


# mappers.opsgenie.alert_teams: team responders and `teams`, by name where known, sorted
_TEAMS = f"""list_sort(list_distinct(list_filter(list_concat(
    CASE WHEN json_type(responders_j) = 'ARRAY' THEN list_transform(list_filter(json_extract(responders_j, '$[*]'),
        lambda r: json_type(r) = 'OBJECT' AND json_type(r, '$.type') = 'VARCHAR' AND r ->> '$.type' = 'team'),
        lambda r: {_team_name_sql('r')}) ELSE []::VARCHAR[] END,
    CASE WHEN json_type(teams_j) = 'ARRAY' THEN list_transform(json_extract(teams_j, '$[*]'),
        lambda t: CASE WHEN json_type(t) = 'VARCHAR' THEN nullif(t ->> '$', '')
                       WHEN json_type(t) = 'OBJECT' THEN {_team_name_sql('t')} END) ELSE []::VARCHAR[] END),
    lambda x: x IS NOT NULL)))"""


def opsgenie_fast(raw: pa.Table, ctx: Context) -> tuple[pa.Table, pa.Table]:
    return drafts_from_query(raw, _drafts_sql(ctx), {"severity": to_sev})


def _log_kind_sql(text: str) -> str:
    """normalize.mappers.opsgenie.log_kind for ASCII text ('' where it gives None)."""
    # Lower-case patterns match the lower-cased ASCII text as re.I does, faster than RE2's
    # case-insensitive mode (which any other pattern gets).
    cases = " ".join(f"WHEN regexp_matches(lower({text}), {lit(pattern.pattern)}) THEN {lit(kind or '')}"
                     if pattern.pattern == pattern.pattern.lower() else
                     f"WHEN regexp_matches({text}, {lit('(?i)' + pattern.pattern)}) THEN {lit(kind or '')}"
                     for pattern, kind in LOG_KINDS)
    return (f"CASE {cases} WHEN type = 'alertRecipient' THEN 'alert.notified' ELSE 'alert.updated' END")


def _drafts_sql(ctx: Context) -> str:
    structure = lit(json.dumps({f: "JSON" for f in _FIELDS}))
    texts = ("message_text", "description_text", "text")
    odd_text = " OR ".join(odd_ref_text_sql(ctx.refs, t) for t in texts)
    found = refs_sql(ctx.refs, *texts)
    line = first_line_sql("text")
    # No WHERE below the first scan: DuckDB would push each filter down and repeat the
    # expressions it reads. Whether a row is taken is a column, applied to the Arrow result.
    return f"""
WITH parsed AS (
    SELECT rid, stream, nullif(parent_id, '') AS alert_id, payload, json_transform(payload, {structure}) AS p
    FROM raw WHERE stream IN ('alerts', 'logs', 'notes') AND starts_with(payload, '{{')),
fields AS (
    SELECT rid, stream, alert_id, payload, json_keys(payload) AS keys, p.count AS count_j, p.tags AS tags_j,
           p.details AS details_j, p.responders AS responders_j, p.teams AS teams_j,
           {", ".join(f'p."{f}" AS {_COLUMN[f]}_j' for f in _STRINGS)}
    FROM parsed),
vals AS (
    SELECT rid, stream, alert_id, count_j, coalesce(tags_j, '[]') AS tags, {_TEAMS} AS teams,
           CASE WHEN json_type(details_j, '$.service') = 'VARCHAR' THEN nullif(details_j ->> '$.service', '')
                END AS detail_service,
           {", ".join(f"{_COLUMN[f]}_j ->> '$' AS {_COLUMN[f]}" for f in _STRINGS)},
           len(keys) = len(list_distinct(keys))
               AND {" AND ".join(is_string_sql(_COLUMN[f] + "_j") for f in _STRINGS)}
               AND (count_j IS NULL OR regexp_full_match(count_j, {lit(_SMALL_INT)}))
               AND (tags_j IS NULL OR regexp_full_match(tags_j, {lit(_STRING_LIST)}))
               AND (details_j IS NULL OR NOT starts_with(details_j, '{{')
                    OR len(json_keys(details_j)) = len(list_distinct(json_keys(details_j))))
               AND NOT {odd_json_sql("payload")} AS shapes_ok
    FROM fields),
activity AS (
    SELECT *, CASE WHEN stream = 'notes' THEN coalesce(note, 'None') WHEN stream = 'logs' THEN coalesce(log, '')
                   ELSE '' END AS text,
              CASE WHEN stream = 'alerts' THEN coalesce(message, '') ELSE '' END AS message_text,
              CASE WHEN stream = 'alerts' THEN coalesce(description, '') ELSE '' END AS description_text
    FROM vals),
kinds AS (
    SELECT *, CASE stream WHEN 'alerts' THEN 'alert.triggered' WHEN 'notes' THEN 'alert.annotated'
                          ELSE CASE WHEN strlen(text) = length(text) THEN {_log_kind_sql('text')} END END AS kind,
              {line} AS line
    FROM activity),
people AS (
    SELECT *, kind = 'alert.notified' AS notified, contains(coalesce(owner, ''), '@') AS human,
           CASE WHEN kind = 'alert.annotated' THEN 'Note: ' || {cut_line_sql('line', 100)}
                ELSE {cut_line_sql('line', 120)} END AS log_title,
           coalesce(shapes_ok AND kind IS NOT NULL AND coalesce(createdAt, '') <> ''
                    AND (stream = 'alerts' AND coalesce(id, '') <> '' AND status IS DISTINCT FROM 'closed'
                         OR stream <> 'alerts' AND alert_id IS NOT NULL)
                    AND NOT (strlen(text) <> length(text) AND regexp_matches(text, {lit(ODD_TEXT)}))
                    AND NOT ({odd_text}), false) AS taken
    FROM kinds),
refd AS (
    SELECT *, CASE WHEN stream = 'alerts' THEN 'opsgenie:' || id ELSE 'opsgenie:' || alert_id END AS own,
           CASE WHEN stream = 'alerts' AND coalesce(alias, '') <> '' THEN 'dedup:' || alias END AS alias_ref,
           CASE WHEN taken THEN {found} END AS found
    FROM people)
SELECT kind, createdAt AS ts_raw, NULL::VARCHAR AS ts_format,
       CASE WHEN stream = 'alerts' THEN coalesce(nullif(source, ''), 'Opsgenie')
            WHEN notified THEN 'Opsgenie' WHEN NOT human THEN coalesce(nullif(owner, ''), 'Opsgenie')
            ELSE owner END AS actor,
       CASE WHEN stream <> 'alerts' AND human AND NOT notified THEN 'human' ELSE 'system' END AS actor_type,
       CASE WHEN stream <> 'alerts' AND human AND NOT notified THEN owner END AS actor_id,
       CASE WHEN stream = 'alerts' THEN nullif(owner, '') WHEN notified THEN owner END AS subject,
       CASE WHEN stream = 'alerts'
            THEN coalesce(nullif(message_text, ''), 'Opsgenie alert ' || coalesce(nullif(tinyId, ''), id))
            ELSE coalesce(nullif(log_title, ''), kind) END AS title,
       CASE WHEN stream = 'alerts' THEN description_text ELSE text END AS body,
       CASE WHEN stream = 'alerts' THEN priority END AS severity,
       CASE WHEN stream = 'alerts' THEN coalesce(nullif(entity, ''), detail_service, {_TAG_SERVICE}) END AS service,
       NULL::VARCHAR AS url,
       CASE WHEN stream = 'alerts' THEN id
            ELSE alert_id || '/' || stream || '/' || coalesce(nullif(item_offset, ''), createdAt) END AS native_id,
       {own_and_found_sql("own", "found", "alias_ref")} AS refs,
       CASE WHEN stream = 'alerts'
            THEN json_object('alias', alias, 'count', count_j::JSON, 'incident_title', nullif(message_text, ''),
                             'last_occurred_at', lastOccurredAt,
                             'priority', priority, 'status', status, 'tags', tags::JSON, 'teams', teams,
                             'tiny_id', tinyId)
            ELSE json_object('alert_id', alert_id, 'log_type', type) END AS attrs,
       rid, taken, kind IS DISTINCT FROM '' AS emit
FROM refd"""
