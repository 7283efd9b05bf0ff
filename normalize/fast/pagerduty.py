"""PagerDuty log entries mapped in DuckDB, a column at a time.

Mirrors `normalize.mappers.pagerduty.PagerDutyMapper` for the `log_entries` stream; a test
checks both give the same events. The few incidents (context) are read in Python with the
mapper's own rules, once per incident. Declined, and left to the mapper: other streams,
payloads that are not a JSON object (or that only DuckDB's lenient reader accepts, or with
a repeated key), any field read here holding something else than a string (or an object
where one belongs), a missing id/type/created_at/incident, an incident embedded in the
entry but not fetched, entries with assignees, and non-ASCII text that names a ref (RE2's
\\w and \\b are ASCII, Python's are not).
"""
from __future__ import annotations

import json
from typing import Any

import duckdb
import pyarrow as pa

from ..mappers.pagerduty import KINDS, _urgency_sev
from ..mapping import Context
from ..severity import to_sev
from .frame import register_raw, split
from .sql import LENIENT_JSON, lit, refs_sql, unique_sql

_FIELDS = {k: "JSON" for k in ("id", "type", "created_at", "summary", "note", "agent", "channel", "user",
                               "assignees", "event_details", "service", "incident")}
_OBJECTS = ("agent", "channel", "user", "event_details", "service", "incident")
# (column, object, key): string leaves read from the entry's objects
_LEAVES = (("agent_id", "agent", "id"), ("agent_type", "agent", "type"), ("agent_summary", "agent", "summary"),
           ("channel_type", "channel", "type"), ("channel_summary", "channel", "summary"),
           ("user_summary", "user", "summary"), ("description", "event_details", "description"),
           ("service_summary", "service", "summary"), ("ref_id", "incident", "id"),
           ("ref_type", "incident", "type"), ("ref_url", "incident", "html_url"),
           ("ref_summary", "incident", "summary"))
_TOP_LEAVES = ("id", "type", "created_at", "summary", "note")
# Also escapes of a lone surrogate or NUL, which json.loads keeps and DuckDB does not.
_ODD_JSON = LENIENT_JSON + r"|\\u[dD][89a-fA-F]|\\u0000"
_INCIDENTS = pa.schema([("inc_id", pa.string()), ("inc_severity", pa.string()), ("inc_service", pa.string()),
                        ("inc_url", pa.string()), ("inc_number", pa.string()), ("inc_title", pa.string()),
                        ("inc_odd", pa.bool_())])


def _incident_row(iid: str, inc: Any) -> dict:
    """One fetched incident as the mapper reads it; `odd` when the SQL could not follow."""
    try:
        priority = (inc.get("priority") or {}).get("summary")
        row = {"inc_id": iid, "inc_severity": to_sev(priority) or _urgency_sev(inc.get("urgency")),
               "inc_service": (inc.get("service") or {}).get("summary"), "inc_url": inc.get("html_url"),
               "inc_number": json.dumps(inc.get("incident_number")), "inc_title": inc.get("title") or None}
    except (AttributeError, TypeError, ValueError):
        return {"inc_id": iid, "inc_odd": True}
    strings_ok = all(row[k] is None or isinstance(row[k], str) for k in ("inc_service", "inc_url", "inc_title"))
    number = inc.get("incident_number")
    number_ok = number is None or isinstance(number, str) or (isinstance(number, int) and not isinstance(number, bool))
    return {**row, "inc_odd": False} if strings_ok and number_ok else {"inc_id": iid, "inc_odd": True}


def _incidents(ctx: Context) -> pa.Table:
    # A falsy incident is as good as none: the mapper's `ctx.entity(...) or ...` skips it.
    rows = [_incident_row(iid, inc) for iid, inc in (ctx.entities.get("incidents") or {}).items() if inc]
    return pa.Table.from_pylist(rows, schema=_INCIDENTS)


def pagerduty_fast(raw: pa.Table, ctx: Context) -> tuple[pa.Table, pa.Table]:
    con = duckdb.connect()
    try:
        register_raw(con, raw)
        con.register("incidents", _incidents(ctx))
        con.execute(_entries_sql(ctx))
        con.execute(f"CREATE TEMP TABLE d AS {_drafts_sql(ctx)}")
        drafts = con.sql("SELECT * EXCLUDE (odd_text) FROM d WHERE NOT odd_text ORDER BY rid").to_arrow_table()
        rest_ids = con.sql("SELECT rid FROM raw WHERE rid NOT IN (SELECT rid FROM d WHERE NOT odd_text) "
                           "ORDER BY rid").to_arrow_table()
    finally:
        con.close()
    return split(raw, drafts, rest_ids)


def _is_str(x: str) -> str:
    return f"({x} IS NULL OR json_type({x}) IN ('VARCHAR', 'NULL'))"


def _str(x: str) -> str:
    return f"CASE WHEN json_type({x}) = 'VARCHAR' THEN {x} ->> '$' END"


def _no_repeated_keys(x: str) -> str:
    return f"({x} IS NULL OR json_type({x}) <> 'OBJECT' OR len(json_keys({x})) = len(list_distinct(json_keys({x}))))"


def _hint_sql(ctx: Context, text: str) -> str:
    hints = sorted({h for _prefix, _pattern, hs in ctx.refs.patterns for h in hs})
    return "(" + " OR ".join(f"contains({text}, {lit(h)})" for h in hints) + ")"


def _entries_sql(ctx: Context) -> str:
    objects = ", ".join(f"p.{o} AS {o}" for o in _OBJECTS)
    tops = ", ".join(f"p.{k} AS {k}_j" for k in _TOP_LEAVES)
    values = ", ".join(f"{_str(c + '_j')} AS {c}" for c in [c for c, _o, _k in _LEAVES] + list(_TOP_LEAVES))
    strings_ok = " AND ".join(_is_str(c + "_j") for c in [c for c, _o, _k in _LEAVES] + list(_TOP_LEAVES))
    objects_ok = " AND ".join(f"({o} IS NULL OR json_type({o}) IN ('OBJECT', 'NULL'))"
                              for o in _OBJECTS if o != "user")
    keys_ok = " AND ".join(_no_repeated_keys(x) for x in ("payload::JSON",) + _OBJECTS)
    return f"""
CREATE TEMP TABLE e AS
WITH parsed AS (
    SELECT rid, payload, nullif(parent_id, '') AS parent_id,
           try(json_transform(payload, {lit(json.dumps(_FIELDS))})) AS p
    FROM raw WHERE stream = 'log_entries' AND try(json_type(payload)) = 'OBJECT'),
cols AS (
    SELECT rid, payload, parent_id, regexp_matches(payload, {lit(_ODD_JSON)}) AS lenient, {objects}, {tops},
           CASE WHEN json_type(p.user) = 'OBJECT' THEN json_extract(p.user, '$.summary') END AS user_summary_j,
           {", ".join(f"json_extract(p.{o}, {lit('$.' + k)}) AS {c}_j" for c, o, k in _LEAVES if o != "user")},
           (p.assignees IS NULL OR json_type(p.assignees) = 'NULL' OR p.assignees::VARCHAR = '[]') AS no_assignees
    FROM parsed WHERE p IS NOT NULL),
vals AS (
    SELECT *, {values}, {strings_ok} AND {objects_ok} AS shapes_ok FROM cols)
SELECT vals.*, coalesce(nullif(ref_id, ''), parent_id) AS incident_id, i.* EXCLUDE (inc_odd),
       shapes_ok AND no_assignees AND NOT lenient AND coalesce(id, '') <> '' AND coalesce(type, '') <> ''
           AND coalesce(created_at, '') <> '' AND coalesce(nullif(ref_id, ''), parent_id) IS NOT NULL
           AND NOT coalesce(inc_odd, false) AND (inc_id IS NOT NULL OR coalesce(ref_type, '') <> 'incident')
           AND {keys_ok}
           AS taken
FROM vals LEFT JOIN incidents i ON inc_id = coalesce(nullif(ref_id, ''), parent_id)"""


def _drafts_sql(ctx: Context) -> str:
    kinds = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in KINDS.items())
    all_refs = f"list_concat(['pagerduty:' || incident_id], {refs_sql(ctx.refs, 'body', 'title')})"
    odd_text = " OR ".join(f"(strlen({t}) <> length({t}) AND {_hint_sql(ctx, t)})" for t in ("body", "title"))
    return f"""
    WITH a AS (
        SELECT *, regexp_replace(type, '_log_entry$', '') AS action,
               agent_type IN ('user_reference', 'user') AS human
        FROM e WHERE taken),
    b AS (
        SELECT *, CASE WHEN action = 'annotate' THEN coalesce(nullif(note, ''), nullif(channel_summary, ''), '')
                       ELSE coalesce(nullif(description, ''), '') END AS body
        FROM a),
    c AS (
        SELECT *, CASE WHEN action = 'annotate' AND body <> '' THEN 'Note: ' || body
                       ELSE coalesce(nullif(summary, ''), action) END AS title
        FROM b)
    SELECT CASE action {kinds} ELSE 'alert.' || action END AS kind, created_at AS ts_raw,
           NULL::VARCHAR AS ts_format,
           coalesce(nullif(agent_summary, ''), CASE WHEN human THEN NULL ELSE 'PagerDuty' END) AS actor,
           CASE WHEN human THEN 'human' ELSE 'system' END AS actor_type,
           CASE WHEN human THEN agent_id END AS actor_id,
           nullif(user_summary, '') AS subject, title, body, inc_severity AS severity,
           CASE WHEN service IS NOT NULL AND json_type(service) = 'OBJECT' AND service::VARCHAR <> '{{}}'
                THEN service_summary ELSE inc_service END AS service,
           coalesce(nullif(ref_url, ''), inc_url) AS url, id AS native_id, {unique_sql(all_refs)} AS refs,
           json_object('channel', channel_type, 'incident_number', coalesce(inc_number, 'null')::JSON,
                       'incident_title', coalesce(nullif(inc_title, ''), ref_summary)) AS attrs,
           rid, ({odd_text}) AS odd_text
    FROM c"""
