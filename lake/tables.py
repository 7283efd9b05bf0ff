"""The catalog's tables, declared once: columns, types and what each one holds.

From this one list come the DDL, the Arrow schemas correlate fills, the catalog's own
COMMENTs (so `duckdb_columns()` documents every column), and the check that keeps
docs/catalog.md true.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from incident_timeline.contract.schemas import TS

_VISIBLE = "STRUCT(ts TIMESTAMPTZ, source VARCHAR, actor VARCHAR, text VARCHAR, event_id VARCHAR)[]"
_ARROW = {
    "VARCHAR": pa.string(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
    "TIMESTAMPTZ": TS, "DATE": pa.date32(), "VARCHAR[]": pa.list_(pa.string()),
    _VISIBLE: pa.list_(pa.struct([("ts", TS), ("source", pa.string()), ("actor", pa.string()),
                                  ("text", pa.string()), ("event_id", pa.string())])),
}


@dataclass(frozen=True)
class Table:
    name: str
    comment: str
    columns: tuple[tuple[str, str, str], ...]     # (name, DuckDB type, comment)
    key: tuple[str, ...] = ()

    def ddl(self) -> str:
        cols = [f'"{name}" {type_}' for name, type_, _ in self.columns]
        if self.key:
            cols.append(f"PRIMARY KEY ({', '.join(self.key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({', '.join(cols)})"

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(name, _ARROW[type_]) for name, type_, _ in self.columns])


_IID = ("incident_id", "VARCHAR", "the incident's identity: its alerting source's incident (pagerduty:, opsgenie:, "
        "servicenow:) when one is found, else the ref it was first built from; incident_aliases maps any other ref to it")

INCIDENTS = Table("incidents", "One row per built incident: its milestones, metrics and window.", (
    _IID,
    ("seed", "VARCHAR", "the seed as typed"),
    ("seed_kind", "VARCHAR", "ref, channel or service_window"),
    ("seed_ref", "VARCHAR", "the ref the seed stands for (a channel's id for its name; a window's first incident ref)"),
    ("title", "VARCHAR", "the incident's title from its alerting source, else its ticket, else the seed"),
    ("severity", "VARCHAR", "highest severity among its alerts (SEV1 is highest)"),
    ("services", "VARCHAR[]", "every service its events name"),
    ("sources", "VARCHAR[]", "every source that contributed an event"),
    ("refs", "VARCHAR[]", "the refs expansion followed (pagerduty:, jira:, slack:, alert:<fingerprint>, ...)"),
    ("started", "TIMESTAMPTZ", "milestone: earliest alert start time (alert.started), else null"),
    ("detected", "TIMESTAMPTZ", "milestone: first alert.triggered, else the first event"),
    ("acknowledged", "TIMESTAMPTZ", "milestone: first alert.acknowledged at or after detected"),
    ("first_response", "TIMESTAMPTZ", "milestone: first human action at or after detected that is not an "
                                       "acknowledgement or a channel join"),
    ("mitigated", "TIMESTAMPTZ", "milestone: first human message/note/status saying the impact stopped"),
    ("resolved", "TIMESTAMPTZ", "milestone: last alert.resolved once every alert resolved; else the first "
                                "ticket.resolved when there were no alerts"),
    ("time_to_detect_s", "DOUBLE", "seconds from started to detected"),
    ("time_to_acknowledge_s", "DOUBLE", "seconds from detected to acknowledged"),
    ("time_to_first_response_s", "DOUBLE", "seconds from detected to first_response"),
    ("time_to_mitigate_s", "DOUBLE", "seconds from detected to mitigated"),
    ("time_to_resolve_s", "DOUBLE", "seconds from detected to resolved"),
    ("escalations", "INTEGER", "timeline rows of kind alert.escalated"),
    ("pages", "INTEGER", "timeline rows of kind alert.notified (one per person per notification)"),
    ("responders", "INTEGER", "distinct people who acted (rows in responders that acted)"),
    ("messages", "INTEGER", "human chat messages and replies"),
    ("gaps", "INTEGER", "silences longer than correlation.gap between detected and resolved"),
    ("window_start", "TIMESTAMPTZ", "start of the padded window expansion searched"),
    ("window_end", "TIMESTAMPTZ", "end of the padded window expansion searched"),
    ("event_count", "INTEGER", "events in the incident (before dedup)"),
    ("row_count", "INTEGER", "timeline rows (after dedup and storm collapse)"),
    ("rejects", "INTEGER", "rejected records in the incident's sources"),
    ("warnings", "VARCHAR[]", "data-quality warnings: assumed zones, DST, clock offsets, shared channels"),
    ("built_at", "TIMESTAMPTZ", "when this row was computed"),
    ("aliases", "VARCHAR[]", "every other ref that names it: the seeds it was built from, the refs expansion "
                             "followed, incidents merged into it (incident_aliases has one row each)"),
    ("alerting_incident", "VARCHAR", "the first alerting-source incident (pagerduty:, opsgenie:, servicenow:) its "
                                     "events name, else null: the identity when the incident is new"),
), key=("incident_id",))

TIMELINE = Table("timeline", "The incident's timeline: one row per happening, deduplicated across "
                 "sources, alert storms collapsed.", (
    _IID,
    ("seq", "INTEGER", "position in the timeline, sorted by (ts, source, event_ids[1])"),
    ("ts", "TIMESTAMPTZ", "when it happened, from the row's primary event (an alert over a chat post)"),
    ("last_ts", "TIMESTAMPTZ", "the last event folded into the row (a storm's last repeat)"),
    ("span_s", "DOUBLE", "seconds from ts to last_ts"),
    ("source", "VARCHAR", "the primary event's source"),
    ("kind", "VARCHAR", "the primary event's kind (alert.triggered, chat.message, ...)"),
    ("category", "VARCHAR", "alert, chat, ticket, note, change or comms"),
    ("actor", "VARCHAR", "who did it"),
    ("actor_type", "VARCHAR", "human, bot or system"),
    ("title", "VARCHAR", "one-line summary (untrusted text)"),
    ("body", "VARCHAR", "full text (untrusted text)"),
    ("sources", "VARCHAR[]", "every source that saw this happening"),
    ("count", "INTEGER", "repeats collapsed into the row; > 1 marks an alert storm"),
    ("url", "VARCHAR", "link back to the primary event in its source"),
    ("event_ids", "VARCHAR[]", "every event in the row, the primary first"),
))

INCIDENT_EVENTS = Table("incident_events", "Membership: every event of every built incident and "
                        "the timeline row it was folded into.", (
    _IID,
    ("event_id", "VARCHAR", "the event (join events on event_id)"),
    ("source", "VARCHAR", "the event's own source"),
    ("kind", "VARCHAR", "the event's own kind"),
    ("ts", "TIMESTAMPTZ", "the event's own time"),
    ("seq", "INTEGER", "the timeline row (timeline.seq) holding it"),
    ("native_id", "VARCHAR", "the event's id in its own system (kept here so a report never scans the lake)"),
))

MILESTONES = Table("milestones", "Each milestone with the event it came from and the rule that chose it.", (
    _IID,
    ("name", "VARCHAR", "started, detected, acknowledged, first_response, mitigated or resolved"),
    ("ts", "TIMESTAMPTZ", "when"),
    ("event_id", "VARCHAR", "the evidence: the event that set it"),
    ("source", "VARCHAR", "the evidence's source"),
    ("evidence", "VARCHAR", "the evidence's title"),
    ("rule", "VARCHAR", "the rule that chose it"),
))

RESPONDERS = Table("responders", "Everyone who acted or was paged, when they joined, and whether they answered.", (
    _IID,
    ("name", "VARCHAR", "the person"),
    ("first_seen", "TIMESTAMPTZ", "their first event in the incident (page, join or action)"),
    ("first_action", "TIMESTAMPTZ", "their first action (not a join, not being paged), else null"),
    ("paged", "BOOLEAN", "they were notified by the alerting system"),
    ("paged_at", "TIMESTAMPTZ", "their first notification"),
    ("acknowledged", "BOOLEAN", "they acknowledged an alert"),
    ("spoke", "BOOLEAN", "they wrote a message, comment or note"),
    ("answered", "BOOLEAN", "paged and then acted (acknowledged, spoke, changed something); null if not paged"),
    ("response_delay_s", "DOUBLE", "seconds from paged_at to their first action after it"),
))

ESCALATIONS = Table("escalations", "Each escalation, who it went to, and how long until they acted.", (
    _IID,
    ("ts", "TIMESTAMPTZ", "when it escalated"),
    ("event_id", "VARCHAR", "the escalation event"),
    ("by_actor", "VARCHAR", "who or what escalated (a person, or the escalation policy)"),
    ("to_whom", "VARCHAR", "who it went to (comma-separated)"),
    ("level", "INTEGER", "escalation level when the source says it, else null"),
    ("since_detected_s", "DOUBLE", "seconds from detected to the escalation"),
    ("answered_at", "TIMESTAMPTZ", "first action by someone it went to, after it"),
    ("answer_delay_s", "DOUBLE", "seconds from the escalation to answered_at"),
))

GAPS = Table("gaps", "Silences in the response: no human action for longer than correlation.gap "
             "between detected and resolved.", (
    _IID,
    ("start_ts", "TIMESTAMPTZ", "the last human action (or the detected milestone) before the silence"),
    ("end_ts", "TIMESTAMPTZ", "the next human action (or the resolved milestone) after it"),
    ("duration_s", "DOUBLE", "seconds of silence"),
    ("before_event_id", "VARCHAR", "the event at start_ts"),
    ("after_event_id", "VARCHAR", "the event at end_ts"),
))

DECISION_POINTS = Table("decision_points", "For each human decision (acknowledge, escalate, status "
                        "change, mitigation, resolve), what was visible just before it.", (
    _IID,
    ("ts", "TIMESTAMPTZ", "when the decision was taken"),
    ("event_id", "VARCHAR", "the decision's event"),
    ("seq", "INTEGER", "its timeline row"),
    ("actor", "VARCHAR", "who took it"),
    ("decision", "VARCHAR", "acknowledge, escalate, status_change, mitigation or resolve"),
    ("title", "VARCHAR", "the decision's event title"),
    ("alerts_firing", _VISIBLE, "alerts triggered and not yet resolved at ts"),
    ("last_messages", _VISIBLE, "the last messages (chat, notes, comments) before ts, oldest first"),
    ("recent_changes", _VISIBLE, "what had just changed: the last deploys, rollbacks and config changes of the "
                                 "incident's services within correlation.change_window before ts, oldest first"),
))

ACTION_ITEMS = Table("action_items", "Follow-ups: linked tickets created after detection, and chat lines "
                     "that mark one (Follow-up:, Action item:, TODO:).", (
    _IID,
    ("title", "VARCHAR", "what to do"),
    ("owner", "VARCHAR", "assignee or named owner, else null"),
    ("due", "DATE", "due date when the data holds one"),
    ("ref", "VARCHAR", "the ticket (jira:OPS-1240), else null"),
    ("status", "VARCHAR", "done, open, or the ticket's status"),
    ("origin", "VARCHAR", "the event it came from"),
))

INCIDENT_LINKS = Table("incident_links", "Why each ref is in the incident or was kept out: the event "
                       "that linked it, or the guard that refused it (what build --explain prints).", (
    _IID,
    ("ref", "VARCHAR", "the ref (pagerduty:Q1ABC, dedup:<key>, slack:C0123, ...)"),
    ("status", "VARCHAR", "seed, joined, shared (a shared channel: not followed) or foreign (another incident: "
                          "left out)"),
    ("hop", "INTEGER", "0 for the seed, else the expansion step that met it"),
    ("via_event_id", "VARCHAR", "the earliest event that carries it next to a ref of the incident"),
    ("via_source", "VARCHAR", "that event's source"),
    ("via_ref", "VARCHAR", "the incident's ref that event carries"),
    ("via_title", "VARCHAR", "that event's title"),
    ("reason", "VARCHAR", "why, in words"),
))

STATUS_UPDATES = Table("status_updates", "What customers were told: each status page update in the "
                       "incident (comms.status_update), oldest first.", (
    _IID,
    ("ts", "TIMESTAMPTZ", "when the update was posted"),
    ("event_id", "VARCHAR", "the update's event"),
    ("seq", "INTEGER", "its timeline row"),
    ("source", "VARCHAR", "the status page source"),
    ("status", "VARCHAR", "investigating, identified, monitoring or resolved (scheduled maintenances: "
                          "scheduled, in_progress, verifying, completed)"),
    ("impact", "VARCHAR", "the status page incident's impact: none, minor, major, critical"),
    ("page_incident", "VARCHAR", "the status page incident's name (untrusted text)"),
    ("page_incident_id", "VARCHAR", "the status page incident's id (its ref is statuspage:<id>)"),
    ("shortlink", "VARCHAR", "the public link to the status page incident"),
    ("text", "VARCHAR", "what the update said (untrusted text)"),
    ("since_detected_s", "DOUBLE", "seconds from detected to the update (negative: before detection)"),
))

RUNS = Table("runs", "The pipeline's runs (ingest, normalize, backfill).", (
    ("run_id", "VARCHAR", "the run"), ("command", "VARCHAR", "ingest, normalize, backfill, ..."),
    ("started_at", "TIMESTAMPTZ", "start"), ("finished_at", "TIMESTAMPTZ", "end"),
    ("status", "VARCHAR", "ok or failed"), ("summary", "VARCHAR", "JSON: per-source counts and errors"),
), key=("run_id",))

CURSORS = Table("cursors", "Where each source's partition is ingested up to.", (
    ("source", "VARCHAR", "the source"), ("partition", "VARCHAR", "channel, service, project, ..."),
    ("value", "TIMESTAMPTZ", "ingested up to (exclusive)"), ("updated_at", "TIMESTAMPTZ", "when it moved"),
), key=("source", '"partition"'))

CURSOR_LINKS = Table("cursor_links", "The link an API gave for where to continue (Microsoft Graph's delta link), "
                     "per source partition: stored with its cursor, once the data is durable.", (
    ("source", "VARCHAR", "the source"), ("partition", "VARCHAR", "channel, ..."),
    ("link", "VARCHAR", "the URL the next cursor run of this partition asks first"),
    ("updated_at", "TIMESTAMPTZ", "when it was stored"),
), key=("source", '"partition"'))

INCIDENT_ALIASES = Table("incident_aliases", "Every ref that names an incident, mapped to its identity: "
                         "join on alias to find an incident by any of its refs.", (
    ("alias", "VARCHAR", "a ref or seed as typed (jira:OPS-1234, slack:#inc-4213-checkout, alert:<fingerprint>)"),
    ("incident_id", "VARCHAR", "the incident it names (incidents.incident_id)"),
    ("kind", "VARCHAR", "identity (the incident itself), seed (it was built from it), ref (its expansion "
                        "followed it) or merged (an incident merged into it)"),
    ("added_at", "TIMESTAMPTZ", "when the alias was recorded"),
), key=("alias", "incident_id"))

INCIDENT_DECISIONS = Table("incident_decisions", "What a person decided that the data could not: incidents "
                           "merged and forgotten. Kept in the lake too (tables/incident_decisions/).", (
    ("decision", "VARCHAR", "merge or forget"),
    ("incident_id", "VARCHAR", "merge: the incident kept; forget: the incident forgotten"),
    ("other", "VARCHAR", "merge: the incident merged into it (now one of its aliases); forget: null"),
    ("decided_at", "TIMESTAMPTZ", "when"),
))

INCIDENT_DRAFTS = Table("incident_drafts", "When each incident's draft post-mortem was written.", (
    ("incident_id", "VARCHAR", "the incident (incidents.incident_id)"),
    ("first_built_at", "TIMESTAMPTZ", "when its first draft was written"),
    ("last_built_at", "TIMESTAMPTZ", "when its latest draft was written"),
), key=("incident_id",))

INCIDENT_PUBLICATIONS = Table("incident_publications", "Where each incident's post-mortem was published "
                              "(`publish`): the page, file or message a republish updates in place.", (
    ("incident_id", "VARCHAR", "the incident (incidents.incident_id)"),
    ("target", "VARCHAR", "confluence, gdrive, slack or jira"),
    ("destination", "VARCHAR", "where in the target: the Confluence space key, the Drive folder id, the Slack "
                               "channel id, the Jira issue key"),
    ("remote_id", "VARCHAR", "the Confluence page id, the Google Doc's file id, the Slack message ts, the Jira "
                             "remote link id and its globalId (id|globalId)"),
    ("url", "VARCHAR", "where a person opens it"),
    ("version", "INTEGER", "how many times it was published (Confluence: the page's version number)"),
    ("first_published_at", "TIMESTAMPTZ", "when it was first published"),
    ("last_published_at", "TIMESTAMPTZ", "when it was last updated"),
), key=("incident_id", "target", "destination"))

INCIDENT_TABLES = (INCIDENTS, TIMELINE, INCIDENT_EVENTS, MILESTONES, RESPONDERS, ESCALATIONS, GAPS,
                   DECISION_POINTS, ACTION_ITEMS, INCIDENT_LINKS, STATUS_UPDATES)
IDENTITY_TABLES = (INCIDENT_ALIASES, INCIDENT_DECISIONS, INCIDENT_DRAFTS, INCIDENT_PUBLICATIONS)
ALL_TABLES = INCIDENT_TABLES + IDENTITY_TABLES + (RUNS, CURSORS, CURSOR_LINKS)
