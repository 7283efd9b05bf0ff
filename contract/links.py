"""How refs name things, for the normaliser that writes them and the correlation that
follows them.

A ref is `<prefix>:<id>`. Incident refs name one alert, incident or ticket; a container
ref names a place many incidents pass through (a chat channel). A Slack message ref
(`slack:<channel>:<ts>`) names one message: it is neither, and pulls in that message and
its thread, never the channel.

`dedup:<key>` is the key an integration deduplicates an alert by, the same on both sides
of the integration: Opsgenie's `alias`, PagerDuty's `incident_key` / alert `alert_key`
(the Events API's `dedup_key`), and for an Alertmanager notification the SHA-256 (hex) of
its group key, which is what Alertmanager's Opsgenie notifier sends as `alias` and its
PagerDuty notifier as `dedup_key` (`notify.Key.Hash` in prometheus/alertmanager).
"""
from __future__ import annotations

import hashlib

DEDUP = "dedup:"
INCIDENT_PREFIXES = ("pagerduty:", "opsgenie:", "servicenow:", "alert:", DEDUP, "grafana:", "statuspage:")
CONTAINER_PREFIXES = ("slack:", "teams:")
# Only Slack's refs name a message by a second colon: a Teams channel id holds colons of
# its own (`teams:19:4a95…@thread.tacv2` is a channel)
MESSAGE_REF_PREFIXES = ("slack:",)
MESSAGE_SOURCE_TYPES = ("slack", "slack_export")


def group_key_hash(group_key: str) -> str:
    """What Alertmanager's Opsgenie and PagerDuty notifiers send as the alert's key."""
    return hashlib.sha256(group_key.encode("utf-8", "surrogatepass")).hexdigest()


def is_message_ref(ref: str) -> bool:
    """`slack:C0123:1791986534.000100` names a message; `slack:C0123` a channel."""
    return ref.startswith(MESSAGE_REF_PREFIXES) and ref.count(":") >= 2


def is_container_ref(ref: str) -> bool:
    return ref.startswith(CONTAINER_PREFIXES) and not is_message_ref(ref)
