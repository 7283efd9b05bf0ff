"""ServiceNow journal entries (comments, work notes) and audit rows mapped in DuckDB.

Mirrors `normalize.mappers.servicenow.ServiceNowMapper` for `sys_journal_field` and
`sys_audit`, the streams that grow with an incident; a test checks both give the same
events. Their fields are plain strings, read by the strict reader (strict.py: a field of
another type, a reference object say, or a repeated one leaves the row to the mapper).
Declined as well: the `incident` stream, rows without their incident number, a missing
sys_id, time or field name, text holding `[code]…[/code]` (HTML, turned into text by the
mapper), text with whitespace this SQL does not strip as Python does,
non-ASCII text naming a ref, and (when `base_url` is set) a sys_id that URL quoting
would change.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..mappers.servicenow import AUDIT_KINDS, JOURNAL_AUDIT, STATES
from ..mapping import Context
from ..severity import to_sev
from ..text import HAS_CODE_BLOCK
from .sql import (ODD_TEXT, cut_line_sql, drafts_from_query, first_line_sql, lit, odd_ref_text_sql,
                  own_and_found_sql, refs_sql)
from .strict import parse_strict

_S = pa.string()
_FIELDS = {"sys_journal_field": ("sys_id", "element", "element_id", "sys_created_by", "sys_created_on", "value"),
           "sys_audit": ("sys_id", "fieldname", "oldvalue", "newvalue", "user", "documentkey", "sys_created_on")}
_COLUMNS = sorted({f for fields in _FIELDS.values() for f in fields})
# quote(..., safe="") leaves these alone: a sys_id made of them goes into the URL as it is
_UNRESERVED = r"^[A-Za-z0-9_.~-]+$"


def servicenow_fast(raw: pa.Table, ctx: Context) -> tuple[pa.Table, pa.Table]:
    return drafts_from_query(raw, _drafts_sql(ctx), {"severity": to_sev}, registered=_rows(raw))


def _rows(raw: pa.Table) -> pa.Table:
    """Journal and audit rows with their fields read (rid: the row in raw)."""
    parts = []
    for stream, fields in _FIELDS.items():
        rids = pc.indices_nonzero(pc.fill_null(pc.equal(raw["stream"], stream), False))
        parsed, ok = parse_strict(raw["payload"].take(rids), pa.schema([(f, _S) for f in fields]))
        columns = {"rid": rids.cast(pa.int64()), "stream": pa.array([stream] * len(rids), _S),
                   "parent_id": raw["parent_id"].take(rids), "ok": pa.array(ok)}
        columns.update({f: parsed[f] if f in fields else pa.nulls(len(rids), _S) for f in _COLUMNS})
        parts.append(pa.table(columns))
    return pa.concat_tables(parts)


def _url_sql(ctx: Context, sys_id: str) -> str:
    base = ctx.spec.options.get("base_url")
    if not base:
        return "NULL::VARCHAR"
    prefix = lit(f"{str(base).rstrip('/')}/nav_to.do?uri=incident.do%3Fsys_id%3D")
    return f"CASE WHEN coalesce({sys_id}, '') <> '' THEN {prefix} || {sys_id} END"


def _state_sql(value: str) -> str:
    cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in STATES.items())
    return f"CASE {value} {cases} ELSE {value} END"


def _drafts_sql(ctx: Context) -> str:
    kinds = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in AUDIT_KINDS.items())
    skipped = ", ".join(lit(f) for f in JOURNAL_AUDIT)
    url_key = "CASE WHEN stream = 'sys_audit' THEN nullif(documentkey, '') ELSE nullif(element_id, '') END"
    url_ok = (f"(coalesce({url_key}, '') = '' OR regexp_matches({url_key}, {lit(_UNRESERVED)}))"
              if ctx.spec.options.get("base_url") else "true")
    return f"""
    WITH r AS (
        SELECT *, nullif(parent_id, '') AS number, coalesce(value, '') AS text,
               coalesce(nullif(element, ''), 'comments') AS element_name,
               CASE WHEN stream = 'sys_audit' THEN CASE fieldname {kinds} ELSE 'ticket.updated' END
                    ELSE 'ticket.comment' END AS kind,
               {url_key} AS url_key
        FROM raw),
    v AS (
        SELECT *,
               CASE WHEN kind = 'ticket.status' THEN {_state_sql("nullif(oldvalue, '')")}
                    ELSE nullif(oldvalue, '') END AS before,
               CASE WHEN kind = 'ticket.status' THEN {_state_sql("nullif(newvalue, '')")}
                    ELSE nullif(newvalue, '') END AS after,
               ok AND number IS NOT NULL AND coalesce(sys_id, '') <> '' AND coalesce(sys_created_on, '') <> ''
                  AND (stream = 'sys_journal_field' OR coalesce(fieldname, '') <> '')
                  AND NOT regexp_matches(text, {lit(HAS_CODE_BLOCK)})
                  AND NOT (strlen(text) <> length(text) AND regexp_matches(text, {lit(ODD_TEXT)}))
                  AND NOT {odd_ref_text_sql(ctx.refs, 'text')}
                  AND {url_ok} AS taken,
               NOT (stream = 'sys_audit' AND fieldname IN ({skipped})) AS emit
        FROM r),
    t AS (
        SELECT *, {first_line_sql('text')} AS line,
               CASE WHEN stream = 'sys_journal_field' THEN {refs_sql(ctx.refs, 'text')} ELSE []::VARCHAR[] END
                   AS found
        FROM v)
    SELECT rid, taken, emit, kind, sys_created_on AS ts_raw, NULL::VARCHAR AS ts_format,
           CASE WHEN stream = 'sys_audit' THEN "user" ELSE sys_created_by END AS actor,
           CASE WHEN stream = 'sys_audit' AND "user" = 'system' THEN 'system' ELSE 'human' END AS actor_type,
           NULL::VARCHAR AS actor_id,
           CASE WHEN kind = 'ticket.assigned' THEN after END AS subject,
           CASE WHEN stream = 'sys_audit'
                THEN number || ' ' || fieldname || ': ' || coalesce(nullif(before, ''), '(none)') || ' → '
                     || coalesce(nullif(after, ''), '(none)')
                ELSE number || CASE WHEN element_name = 'work_notes' THEN ' work note: ' ELSE ' comment: ' END
                     || {cut_line_sql('line', 100)} END AS title,
           CASE WHEN stream = 'sys_audit' THEN '' ELSE text END AS body,
           CASE WHEN kind = 'ticket.priority' THEN after END AS severity,
           NULL::VARCHAR AS service, {_url_sql(ctx, 'url_key')} AS url, sys_id AS native_id,
           {own_and_found_sql("'servicenow:' || number", 'found')} AS refs,
           CASE WHEN stream = 'sys_audit'
                THEN json_object('field', fieldname, 'from', before, 'key', number, 'to', after)
                ELSE json_object('element', element_name, 'key', number) END AS attrs
    FROM t"""
