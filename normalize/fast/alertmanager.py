"""Alertmanager webhook notifications mapped in DuckDB, a column at a time.

Mirrors `normalize.mappers.alertmanager.AlertmanagerMapper` for the `notifications` stream
(the alert storms) and the `alerts` API snapshot; a test checks both give the same events.
Declined, and left to the mapper: other streams, payloads that only DuckDB's lenient
reader accepts, with a repeated key where one is read, or escapes DuckDB and Python read
or write differently; a notification missing one of the fields Alertmanager always sends;
anything but a string where the mapper reads one; labels or annotations that are not an
object of strings (labels are copied into `attrs`, sorted as json.dumps sorts them); a
resolved alert without an end; an alert without a fingerprint (the mapper computes it from
the labels); and non-ASCII text that names a ref.
"""
from __future__ import annotations

import json

import pyarrow as pa

from ..mapping import Context
from ..severity import to_sev
from .sql import (distinct_keys_sql, drafts_from_query, is_string_sql, lit, odd_json_sql, odd_ref_text_sql,
                  own_and_found_sql, refs_sql, sorted_object_sql, string_map_sql)

# Every field Alertmanager's webhook always sends and the mapper reads: the strict reader
# refuses a payload missing one or repeating one (left to the mapper). Strings stay JSON
# text, so that a number is told from a string.
_PAYLOAD = {"receiver": "JSON", "groupKey": "JSON", "externalURL": "JSON",
            "alert": {"fingerprint": "JSON", "startsAt": "JSON", "endsAt": "JSON", "status": "VARCHAR",
                      "generatorURL": "JSON", "labels": "JSON", "annotations": "JSON"}}
# An alert of the API snapshot is read as a notification of no group (its status, an
# object there, is not read: the mapper counts every snapshot alert as firing).
_SNAPSHOT_GROUP = '{"receiver":null,"groupKey":null,"externalURL":null,"alert":'
# Read from labels and annotations once they are known to hold only strings.
_LABELS = {"alertname": "VARCHAR", "severity": "VARCHAR", "service": "VARCHAR", "job": "VARCHAR"}
_NOTES = {"summary": "VARCHAR", "message": "VARCHAR", "description": "VARCHAR", "runbook_url": "VARCHAR"}
_STRINGS = {"receiver": "p.receiver", "group_key": "p.groupKey", "external_url": "p.externalURL",
            "fingerprint": "p.alert.fingerprint", "starts": "p.alert.startsAt", "ends": "p.alert.endsAt",
            "generator_url": "p.alert.generatorURL"}


def alertmanager_fast(raw: pa.Table, ctx: Context) -> tuple[pa.Table, pa.Table]:
    return drafts_from_query(raw, _drafts_sql(ctx), {"severity": to_sev})


def _drafts_sql(ctx: Context) -> str:
    strings = ", ".join(f"{path} AS {name}_j" for name, path in _STRINGS.items())
    odd_text = " OR ".join(odd_ref_text_sql(ctx.refs, t) for t in ("summary", "description", "runbook"))
    found = refs_sql(ctx.refs, "summary", "description", "runbook")
    # No WHERE below the first scan: DuckDB would push each filter down and repeat, inside
    # it, every expression the filter reads (a JSON parse per reference). Whether a row is
    # taken is a column, applied to the Arrow result.
    return f"""
WITH parsed AS (
    SELECT rid, stream, payload, try(json_transform_strict(CASE stream WHEN 'notifications' THEN payload
                                                                 ELSE {lit(_SNAPSHOT_GROUP)} || payload || '}}' END,
                                                            {lit(json.dumps(_PAYLOAD))})) AS p
    FROM raw WHERE stream IN ('notifications', 'alerts') AND starts_with(payload, '{{')),
fields AS (
    SELECT rid, payload, p IS NOT NULL AS parsed, {strings},
           stream = 'notifications' AND p.alert.status = 'resolved' AS resolved,
           CASE WHEN starts_with(p.alert.labels, '{{') THEN p.alert.labels::VARCHAR END AS labels,
           CASE WHEN starts_with(p.alert.annotations, '{{') THEN p.alert.annotations::VARCHAR END AS notes
    FROM parsed),
keyed AS (SELECT *, json_keys(labels) AS label_keys, json_keys(notes) AS note_keys FROM fields),
vals AS (
    SELECT rid, coalesce(resolved, false) AS resolved,
           coalesce({sorted_object_sql("labels", "label_keys", "VARCHAR")}, '{{}}') AS labels,
           {", ".join(f"{c}_j ->> '$' AS {c}" for c in _STRINGS)},
           json_transform(labels, {lit(json.dumps(_LABELS))}) AS l,
           json_transform(notes, {lit(json.dumps(_NOTES))}) AS a,
           parsed AND {" AND ".join(is_string_sql(c + "_j") for c in _STRINGS)}
               AND (labels IS NULL OR ({string_map_sql("labels")} AND {distinct_keys_sql("label_keys")}))
               AND (notes IS NULL OR ({string_map_sql("notes")} AND {distinct_keys_sql("note_keys")}))
               AND NOT {odd_json_sql("payload")} AS shapes_ok
    FROM keyed),
texts AS (
    SELECT *, coalesce(nullif(a.summary, ''), nullif(a.message, ''), '') AS summary,
           coalesce(a.description, '') AS description, a.runbook_url AS runbook,
           coalesce(nullif(l.alertname, ''), 'alert') AS name
    FROM vals),
checked AS (
    SELECT *, CASE WHEN summary <> '' THEN name || ': ' || summary ELSE name END AS label,
           coalesce(shapes_ok AND coalesce(fingerprint, '') <> '' AND coalesce(starts, '') <> ''
                    AND NOT (resolved AND (coalesce(ends, '') = '' OR starts_with(ends, '0001-')))
                    AND NOT ({odd_text}), false) AS taken
    FROM texts),
refd AS (SELECT *, CASE WHEN taken THEN {found} END AS found,
                CASE WHEN coalesce(group_key, '') <> '' THEN 'dedup:' || sha256(group_key) END AS group_ref
         FROM checked),
events AS (SELECT *, unnest(CASE WHEN taken AND resolved THEN [false, true] ELSE [false] END) AS is_end FROM refd)
SELECT CASE WHEN is_end THEN 'alert.resolved' ELSE 'alert.triggered' END AS kind,
       CASE WHEN is_end THEN ends ELSE starts END AS ts_raw, NULL::VARCHAR AS ts_format,
       'Alertmanager' AS actor, 'system' AS actor_type, NULL::VARCHAR AS actor_id, receiver AS subject,
       CASE WHEN is_end THEN 'Resolved: ' ELSE 'Firing: ' END || label AS title,
       CASE WHEN description <> '' THEN description ELSE summary END AS body, l.severity AS severity,
       CASE WHEN coalesce(l.service, '') <> '' THEN l.service ELSE l.job END AS service,
       nullif(generator_url, '') AS url, fingerprint || '@' || starts AS native_id,
       {own_and_found_sql("'alert:' || fingerprint", "found", "group_ref")} AS refs,
       json_object('alertname', name, 'external_url', external_url, 'fingerprint', fingerprint,
                   'group_key', group_key, 'labels', labels::JSON, 'receiver', receiver) AS attrs,
       rid, taken, true AS emit
FROM events"""
