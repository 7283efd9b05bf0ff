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
import pyarrow.compute as pc

from ..mappers.pagerduty import KINDS, _key_refs, _urgency_sev
from ..mapping import Context
from ..severity import to_sev
from .frame import register_raw, split
from .sql import lit, odd_ref_text_sql, own_and_found_sql, refs_sql
from .strict import parse_strict

_S = pa.string()
# The fields the mapper reads; Arrow's reader refuses an entry where any of them is of
# another type or repeated (see strict.py), and the mapper takes it.
_ENTRY = pa.schema([
    ("id", _S), ("type", _S), ("created_at", _S), ("summary", _S), ("note", _S),
    ("agent", pa.struct([("id", _S), ("type", _S), ("summary", _S), ("name", _S), ("email", _S),
                         ("html_url", _S), ("self", _S)])),
    ("channel", pa.struct([("type", _S), ("summary", _S)])),
    ("user", pa.struct([("summary", _S), ("name", _S), ("email", _S)])),
    ("event_details", pa.struct([("description", _S)])), ("service", pa.struct([("id", _S), ("summary", _S)])),
    ("incident", pa.struct([("id", _S), ("type", _S), ("html_url", _S), ("summary", _S)])),
    ("assignees", pa.list_(pa.struct([("summary", _S)]))),
])
# (column, object, key): the string leaves read from the entry's objects
_LEAVES = (("agent_id", "agent", "id"), ("agent_type", "agent", "type"), ("agent_summary", "agent", "summary"),
           ("agent_name", "agent", "name"), ("agent_email", "agent", "email"),
           ("agent_html_url", "agent", "html_url"), ("agent_self", "agent", "self"),
           ("channel_type", "channel", "type"), ("channel_summary", "channel", "summary"),
           ("user_summary", "user", "summary"), ("user_name", "user", "name"), ("user_email", "user", "email"),
           ("description", "event_details", "description"), ("service_id", "service", "id"),
           ("service_summary", "service", "summary"), ("ref_id", "incident", "id"),
           ("ref_type", "incident", "type"), ("ref_url", "incident", "html_url"),
           ("ref_summary", "incident", "summary"))
# `payload.get("service") or incident.get("service")`: an empty service object falls
# back to the incident's, which a struct cannot tell from a service without a summary.
_EMPTY_SERVICE = r'"service"\s*:\s*\{\s*\}'
# normalize.mappers.pagerduty.is_person, on the string leaves (empty is as good as none)
_LINKS = "coalesce(agent_html_url, '') || ' ' || coalesce(agent_self, '')"
_HUMAN_SQL = f"""CASE WHEN coalesce(agent_type, '') <> '' THEN agent_type IN ('user_reference', 'user')
     WHEN coalesce(agent_email, '') <> '' THEN true
     WHEN contains({_LINKS}, '/users/') THEN true
     WHEN contains({_LINKS}, '/services/') OR contains({_LINKS}, '/integrations/') THEN false
     ELSE coalesce(nullif(agent_summary, ''), nullif(agent_name, '')) IS NOT NULL
          AND NOT (coalesce(agent_id, '') <> '' AND agent_id IS NOT DISTINCT FROM service_id) END"""
_INCIDENTS = pa.schema([("inc_id", pa.string()), ("inc_severity", pa.string()), ("inc_service", pa.string()),
                        ("inc_service_id", pa.string()),
                        ("inc_url", pa.string()), ("inc_number", pa.string()), ("inc_title", pa.string()),
                        ("inc_key", pa.string()), ("inc_odd", pa.bool_())])


def _incident_row(iid: str, inc: Any) -> dict:
    """One fetched incident as the mapper reads it; `odd` when the SQL could not follow."""
    try:
        priority = (inc.get("priority") or {}).get("summary")
        row = {"inc_id": iid, "inc_severity": to_sev(priority) or _urgency_sev(inc.get("urgency")),
               "inc_service": (inc.get("service") or {}).get("summary"),
               "inc_service_id": (inc.get("service") or {}).get("id"), "inc_url": inc.get("html_url"),
               "inc_number": json.dumps(inc.get("incident_number")), "inc_title": inc.get("title") or None,
               "inc_key": (_key_refs(inc.get("incident_key")) or [None])[0]}
    except (AttributeError, TypeError, ValueError):
        return {"inc_id": iid, "inc_odd": True}
    strings_ok = all(row[k] is None or isinstance(row[k], str)
                     for k in ("inc_service", "inc_service_id", "inc_url", "inc_title"))
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
        register_raw(con, _entries(raw))
        con.register("incidents", _incidents(ctx))
        drafts = con.sql(_drafts_sql(ctx)).to_arrow_table()
    finally:
        con.close()
    # One pipelined query; its rows come back in no set order, and odd texts are declined here.
    drafts = drafts.filter(pc.invert(drafts["odd_text"])).drop_columns(["odd_text"]).sort_by("rid")
    return split(raw, drafts)


def _entries(raw: pa.Table) -> pa.Table:
    """The log entries of `raw` with their fields read (rid: the row in `raw`)."""
    rids = pc.indices_nonzero(pc.fill_null(pc.equal(raw["stream"], "log_entries"), False))
    payloads = raw["payload"].take(rids)
    parsed, ok = parse_strict(payloads, _ENTRY)
    ok &= ~pc.fill_null(pc.match_substring_regex(payloads, _EMPTY_SERVICE), False).to_numpy(zero_copy_only=False)
    columns = {"rid": rids.cast(pa.int64()), "parent_id": raw["parent_id"].take(rids), "ok": pa.array(ok)}
    for name in ("id", "type", "created_at", "summary", "note", "assignees"):
        columns[name] = parsed[name]
    for column, obj, key in _LEAVES:
        columns[column] = pc.struct_field(parsed[obj], key)
    columns["has_service"] = pc.is_valid(parsed["service"])
    return pa.table(columns)


# Every entry read cleanly, joined to its incident, and whether this path takes it.
_ENTRIES_SQL = """
WITH vals AS (SELECT *, coalesce(nullif(ref_id, ''), nullif(parent_id, '')) AS incident_id FROM raw WHERE ok)
SELECT vals.*, i.* EXCLUDE (inc_odd),
       coalesce(len(assignees), 0) = 0 AND coalesce(id, '') <> '' AND coalesce(type, '') <> ''
           AND coalesce(created_at, '') <> '' AND incident_id IS NOT NULL
           AND NOT coalesce(inc_odd, false) AND (inc_id IS NOT NULL OR coalesce(ref_type, '') <> 'incident')
           AS taken
FROM vals LEFT JOIN incidents i ON inc_id = incident_id"""


def _drafts_sql(ctx: Context) -> str:
    kinds = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in KINDS.items())
    odd_text = " OR ".join(odd_ref_text_sql(ctx.refs, t) for t in ("body", "title"))
    return f"""
    WITH e AS ({_ENTRIES_SQL}),
    a AS (
        SELECT *, regexp_replace(type, '_log_entry$', '') AS action, {_HUMAN_SQL} AS human
        FROM e WHERE taken),
    b AS (
        SELECT *, CASE WHEN action = 'annotate' THEN coalesce(nullif(note, ''), nullif(channel_summary, ''), '')
                       ELSE coalesce(nullif(note, ''), nullif(description, ''), '') END AS body
        FROM a),
    c AS (
        SELECT *, CASE WHEN action = 'annotate' AND body <> '' THEN 'Note: ' || body
                       ELSE coalesce(nullif(summary, ''), action) END AS title
        FROM b),
    d AS (SELECT *, {refs_sql(ctx.refs, 'body', 'title')} AS found FROM c)
    SELECT CASE action {kinds} ELSE 'alert.' || action END AS kind, created_at AS ts_raw,
           NULL::VARCHAR AS ts_format,
           coalesce(nullif(agent_summary, ''), nullif(agent_name, ''), nullif(agent_email, ''),
                    CASE WHEN human THEN NULL ELSE 'PagerDuty' END) AS actor,
           CASE WHEN human THEN 'human' ELSE 'system' END AS actor_type,
           CASE WHEN human THEN coalesce(nullif(agent_id, ''), nullif(agent_email, '')) END AS actor_id,
           coalesce(nullif(user_summary, ''), nullif(user_name, ''), nullif(user_email, '')) AS subject,
           title, body, inc_severity AS severity,
           CASE WHEN has_service THEN service_summary ELSE inc_service END AS service,
           coalesce(nullif(ref_url, ''), inc_url) AS url, id AS native_id, {own_and_found_sql("'pagerduty:' || incident_id", 'found', 'inc_key')} AS refs,
           json_object('channel', channel_type, 'incident_number', coalesce(inc_number, 'null')::JSON,
                       'incident_title', coalesce(nullif(inc_title, ''), ref_summary),
                       'service_id', CASE WHEN has_service THEN service_id ELSE inc_service_id END) AS attrs,
           rid, ({odd_text}) AS odd_text
    FROM d"""
