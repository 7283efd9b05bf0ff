"""Grafana alert state history mapped in DuckDB, a column at a time.

Mirrors `normalize.mappers.grafana.GrafanaMapper` field for field; a test checks both give
the same events. Declined, and left to the mapper: payloads that only DuckDB's lenient
reader accepts, with a repeated key where one is read, or with escapes DuckDB and Python
write differently; a state line missing a field Grafana always writes; anything but a
string where the mapper reads one, or a time that is not an integer or a string; labels
that are not an object of strings, and values that are not an object of plain numbers
(both are copied into `attrs`, sorted as json.dumps writes them);
states with whitespace str.strip() knows and this SQL does not; and non-ASCII error text
that names a ref.
"""
from __future__ import annotations

import json

import pyarrow as pa

from ..mapping import Context
from ..severity import to_sev
from .sql import (ODD_TEXT, distinct_keys_sql, drafts_from_query, is_string_sql, lit, odd_json_sql,
                  odd_ref_text_sql, own_and_found_sql, refs_sql, sorted_object_sql, string_map_sql, strip_sql)

# Every field Grafana's state history line always carries and the mapper reads (`error`
# is left out when empty, so it is read on its own): the strict reader refuses a payload
# missing one or repeating one.
_PAYLOAD = {"time": "JSON", "line": {"previous": "JSON", "current": "JSON", "fingerprint": "JSON",
                                     "ruleTitle": "JSON", "ruleUID": "JSON", "labels": "JSON", "values": "JSON"}}
_LABELS = {"alertname": "VARCHAR", "severity": "VARCHAR", "service": "VARCHAR", "job": "VARCHAR"}
_STRINGS = {"previous": "p.line.previous", "current": "p.line.current", "fingerprint": "p.line.fingerprint",
            "rule_title": "p.line.ruleTitle", "rule_uid": "p.line.ruleUID", "error": "error_j"}
# Numbers json.dumps writes as DuckDB does: no exponent (Python writes 1e-05 and 1e+16).
_NUMBER = r"null|-?[1-9][0-9]{0,14}(?:\.[0-9]+)?|-?0\.[0-9]+|0"
_NUMBER_MAP = (r'\{\}|\{(?:"(?:[^"\\]|\\.)*":(?:' + _NUMBER + r'),)*"(?:[^"\\]|\\.)*":(?:' + _NUMBER + r')\}')
_TINY_FRACTION = r"[:,]-?0\.0000"
_TIME = r'0|-?[1-9][0-9]{0,17}|"(?:[^"\\]|\\.)+"'
_TWO_ERRORS = r'"error"\s*:(?s:.*)"error"\s*:'


def grafana_fast(raw: pa.Table, ctx: Context) -> tuple[pa.Table, pa.Table]:
    return drafts_from_query(raw, _drafts_sql(ctx), {"severity": to_sev})


def _state_sql(text: str) -> str:
    """mappers.grafana._state: "Alerting (NoData)" -> "Alerting"."""
    return strip_sql(f"split_part(coalesce({text}, ''), ' (', 1)")


def _drafts_sql(ctx: Context) -> str:
    # No WHERE below the first scan: DuckDB would push each filter down and repeat the
    # expressions it reads. Whether a row is taken is a column, applied to the Arrow result.
    return f"""
WITH parsed AS (
    SELECT rid, payload, try(json_transform_strict(payload, {lit(json.dumps(_PAYLOAD))})) AS p,
           CASE WHEN contains(payload, '"error"') THEN nullif(json_extract(payload, '$.line.error')::VARCHAR, 'null')
                END AS error_j
    FROM raw WHERE stream = 'history' AND starts_with(payload, '{{')),
fields AS (
    SELECT rid, payload, p.line IS NOT NULL AS has_line, p.time::VARCHAR AS time_j,
           {", ".join(f"{path} AS {name}_j" for name, path in _STRINGS.items())},
           CASE WHEN starts_with(p.line.labels, '{{') THEN p.line.labels::VARCHAR END AS labels,
           p.line."values"::VARCHAR AS vals
    FROM parsed),
keyed AS (SELECT *, json_keys(labels) AS label_keys, json_keys(vals) AS value_keys FROM fields),
vals AS (
    SELECT rid, coalesce({sorted_object_sql("labels", "label_keys", "VARCHAR")}, '{{}}') AS labels,
           {sorted_object_sql("vals", "value_keys", "JSON")} AS vals,
           CASE WHEN starts_with(time_j, '"') THEN time_j ->> '$' ELSE time_j END AS time_ms,
           {", ".join(f"{name}_j ->> '$' AS {name}" for name in _STRINGS)},
           json_transform(labels, {lit(json.dumps(_LABELS))}) AS l,
           coalesce(has_line AND {" AND ".join(is_string_sql(name + "_j") for name in _STRINGS)}
               AND regexp_full_match(time_j, {lit(_TIME)})
               AND (labels IS NULL OR ({string_map_sql("labels")} AND {distinct_keys_sql("label_keys")}))
               AND (vals IS NULL OR (regexp_full_match(vals, {lit(_NUMBER_MAP)})
                                     AND NOT regexp_matches(vals, {lit(_TINY_FRACTION)})
                                     AND {distinct_keys_sql("value_keys")}))
               AND NOT CASE WHEN contains(payload, '"error"') THEN regexp_matches(payload, {lit(_TWO_ERRORS)})
                            ELSE false END
               AND NOT {odd_json_sql("payload")}, false) AS shapes_ok
    FROM keyed),
states AS (
    SELECT *, {_state_sql("previous")} AS prev_state, {_state_sql("current")} AS cur_state,
           coalesce(error, '') AS error_text,
           coalesce(nullif(rule_title, ''), nullif(l.alertname, ''), 'Grafana alert') AS title_base
    FROM vals),
checked AS (
    SELECT *, coalesce(shapes_ok AND coalesce(current, '') <> '' AND coalesce(time_ms, '') <> ''
                       AND NOT (strlen(coalesce(previous, '') || current) <> length(coalesce(previous, '') || current)
                                AND regexp_matches(coalesce(previous, '') || current, {lit(ODD_TEXT)}))
                       AND NOT {odd_ref_text_sql(ctx.refs, "error_text")}, false) AS taken
    FROM states),
refd AS (SELECT *, CASE WHEN taken THEN {refs_sql(ctx.refs, "error_text")} END AS found FROM checked)
SELECT CASE WHEN cur_state = 'Alerting' THEN 'alert.triggered'
            WHEN cur_state = 'Normal' AND prev_state IN ('Alerting', 'Recovering') THEN 'alert.resolved'
            ELSE 'alert.state' END AS kind,
       time_ms AS ts_raw, NULL::VARCHAR AS ts_format, 'Grafana' AS actor, 'system' AS actor_type,
       NULL::VARCHAR AS actor_id, NULL::VARCHAR AS subject,
       title_base || ': ' || coalesce(nullif(prev_state, ''), '?') || ' → ' || current AS title,
       error_text AS body, l.severity AS severity,
       CASE WHEN coalesce(l.service, '') <> '' THEN l.service ELSE l.job END AS service, NULL::VARCHAR AS url,
       coalesce(rule_uid, 'None') || '/' || coalesce(fingerprint, 'None') || '/' || time_ms || '/' || current
           AS native_id,
       {own_and_found_sql("CASE WHEN coalesce(fingerprint, '') <> '' THEN 'alert:' || fingerprint END", "found",
                           "CASE WHEN coalesce(rule_uid, '') <> '' THEN 'grafana:' || rule_uid END")} AS refs,
       json_object('current', current, 'labels', labels::JSON, 'previous', previous, 'rule_uid', rule_uid,
                   'values', vals::JSON) AS attrs,
       rid, taken, true AS emit
FROM refd"""
