"""The lake's schemas, one for each table a stage writes and a later one reads: raw
(ingest -> normalize), events and rejects (normalize -> correlate, export); and the values
an event's columns may hold. Every stage imports them from here."""
import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

EVENT_SCHEMA = pa.schema([
    ("event_id", pa.string()),          # stable hash of (source, native_id, kind)
    ("source", pa.string()),            # connector name from connectors.yaml
    ("source_type", pa.string()),
    ("category", pa.string()),          # alert, chat, ticket, note, change, comms
    ("kind", pa.string()),              # dotted, e.g. alert.triggered
    ("ts", TS),
    ("ts_raw", pa.string()),            # exactly as the source wrote it
    ("ts_assumed_tz", pa.string()),     # zone assumed for a naive timestamp, else null
    ("actor", pa.string()),
    ("actor_type", pa.string()),        # human, bot, system
    ("actor_id", pa.string()),          # the source's id (or e-mail) of the actor
    ("subject", pa.string()),           # who the action was aimed at (paged user, assignee)
    ("title", pa.string()),
    ("body", pa.string()),
    ("severity", pa.string()),          # SEV1..SEV4
    ("service", pa.string()),
    ("refs", pa.list_(pa.string())),    # prefixed: pagerduty:Q1ABC, jira:OPS-1, slack:C0123
    ("url", pa.string()),
    ("native_id", pa.string()),
    ("attrs", pa.string()),             # JSON object of structured facts (ticket status, due, ...)
    ("warnings", pa.list_(pa.string())),  # provenance: DST resolution, clock offset, ...
    ("ingested_at", TS),
])

REJECT_SCHEMA = pa.schema([
    ("source", pa.string()),
    ("source_type", pa.string()),
    ("stage", pa.string()),             # ingest or normalize
    ("native_id", pa.string()),
    ("field", pa.string()),
    ("reason", pa.string()),
    ("record", pa.string()),            # the raw payload, verbatim
    ("run_id", pa.string()),
    ("rejected_at", TS),
])

# Columns of the raw lake (lake/raw/<source>/date=.../<run>.parquet), written by ingest/.
RAW_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("source", pa.string()),
    ("source_type", pa.string()),
    ("stream", pa.string()),            # which endpoint/entity: log_entries, messages, ...
    ("partition", pa.string()),         # cursor partition: channel, service, project
    ("native_id", pa.string()),
    ("parent_id", pa.string()),         # the record's container: issue key, channel id
    ("payload", pa.string()),           # the API item, verbatim JSON
    ("fetched_at", TS),
])

# comms: what the customers or stakeholders were told (a status page's updates)
CATEGORIES = ("alert", "chat", "ticket", "note", "change", "comms")
# the comms kinds (category comms); contract/changes.py lists the change kinds
STATUS_UPDATE = "comms.status_update"
COMMS_KINDS = (STATUS_UPDATE,)
ACTOR_TYPES = ("human", "bot", "system")
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
