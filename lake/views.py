"""Cross-incident views for analysts, and the comments that document the lake views.

The views read only the catalog's incident tables, so they are cheap and always agree
with what `build` stored.
"""
from __future__ import annotations

from incident_timeline.contract.incidents import REPEAT_WINDOW_DAYS

CROSS_INCIDENT_VIEWS = {
    "resolve_time_by_month": (
        "Time to resolve (and to acknowledge) per month of detection and per service.",
        """
        SELECT date_trunc('month', detected)::DATE AS month, service,
               count(*) AS incidents,
               count(time_to_resolve_s) AS resolved,
               avg(time_to_resolve_s) AS mean_time_to_resolve_s,
               median(time_to_resolve_s) AS median_time_to_resolve_s,
               quantile_cont(time_to_resolve_s, 0.9) AS p90_time_to_resolve_s,
               avg(time_to_acknowledge_s) AS mean_time_to_acknowledge_s
        FROM (SELECT i.*, unnest(CASE WHEN len(services) > 0 THEN services ELSE [NULL] END) AS service
              FROM incidents AS i)
        WHERE detected IS NOT NULL
        GROUP BY ALL
        """),
    "repeat_incidents": (
        f"Incidents that repeat an earlier one: same service or same alert fingerprint, detected "
        f"within {REPEAT_WINDOW_DAYS} days after it.",
        f"""
        WITH keys AS (
            SELECT incident_id, detected, 'service' AS reason, unnest(services) AS shared FROM incidents
            UNION ALL
            SELECT incident_id, detected, 'alert' AS reason,
                   unnest(list_filter(refs, lambda r: starts_with(r, 'alert:'))) AS shared FROM incidents
        )
        SELECT later.incident_id, earlier.incident_id AS earlier_incident_id, later.reason, later.shared,
               later.detected, earlier.detected AS earlier_detected,
               date_diff('second', earlier.detected, later.detected) / 86400.0 AS days_apart
        FROM keys AS later JOIN keys AS earlier
          ON later.reason = earlier.reason AND later.shared = earlier.shared
         AND later.incident_id <> earlier.incident_id
         AND earlier.detected < later.detected
         AND later.detected <= earlier.detected + INTERVAL {REPEAT_WINDOW_DAYS} DAY
        """),
    "action_item_closure": (
        "Action items per month of the incident's detection: how many, how many done, the rate.",
        """
        SELECT date_trunc('month', i.detected)::DATE AS month,
               count(DISTINCT a.incident_id) AS incidents,
               count(*) AS items,
               count(*) FILTER (WHERE a.status = 'done') AS done,
               count(*) FILTER (WHERE a.status <> 'done') AS not_done,
               round(count(*) FILTER (WHERE a.status = 'done') / count(*), 3) AS closure_rate
        FROM action_items AS a JOIN incidents AS i USING (incident_id)
        GROUP BY ALL
        """),
}

VIEW_COMMENTS = {
    "events": "Every canonical event in the lake, one row per event_id (the newest ingest wins).",
    "rejects": ("Records that could not be ingested or normalised, with the field and the reason; one row "
                "per record and reason (a record rejected again on a later run is one row, the newest "
                "rejection wins)."),
}

EVENT_COLUMN_COMMENTS = {
    "event_id": "stable hash of (source, native_id, kind)",
    "source": "the connector's name in connectors.yaml",
    "source_type": "slack, slack_export, pagerduty, opsgenie, alertmanager, grafana, jira, servicenow, file",
    "category": "alert, chat, ticket, note or change",
    "kind": "dotted kind: alert.triggered, chat.message, ticket.status, ...",
    "ts": "when it happened, UTC",
    "ts_raw": "the time exactly as the source wrote it",
    "ts_assumed_tz": "the zone assumed for a naive time (from configuration), else null",
    "actor": "who did it",
    "actor_type": "human, bot or system",
    "actor_id": "the source's id or e-mail of the actor",
    "subject": "who the action was aimed at (paged person, assignee)",
    "title": "one-line summary (untrusted text)",
    "body": "full text (untrusted text)",
    "severity": "SEV1..SEV4",
    "service": "the affected service, when the source names one",
    "refs": "prefixed ids it mentions or belongs to: pagerduty:Q1ABC, jira:OPS-1, slack:C0123, alert:<fp>",
    "url": "deep link back to the source",
    "native_id": "the record's id in its source",
    "attrs": "JSON object of structured facts (ticket status, due date, channel name, ...)",
    "warnings": "provenance: DST resolution, clock offset, ...",
    "ingested_at": "when the record was fetched",
}

REJECT_COLUMN_COMMENTS = {
    "source": "the source", "source_type": "its type", "stage": "ingest or normalize",
    "native_id": "the record's id, when known", "field": "the field that failed",
    "reason": "why", "record": "the raw record, verbatim", "run_id": "the run that rejected it",
    "rejected_at": "when",
}
