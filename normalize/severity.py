"""Every source's severity on one scale, SEV1 (worst) to SEV4.

Keys are compared lower-cased with spaces and dashes removed, and ServiceNow's
"1 - Critical" is read by its number: "P1", "p-1", "Sev 1" and "SEV-1" are one key.
"""
from __future__ import annotations

_MAP = {
    # PagerDuty / Opsgenie priorities (P5 is informational)
    "p1": "SEV1", "p2": "SEV2", "p3": "SEV3", "p4": "SEV4", "p5": "SEV4",
    # Jira priorities
    "highest": "SEV1", "blocker": "SEV1", "high": "SEV2", "critical": "SEV1", "major": "SEV2",
    "medium": "SEV3", "minor": "SEV4", "low": "SEV4", "lowest": "SEV4", "trivial": "SEV4",
    # alert severities (Alertmanager labels, Grafana, PagerDuty alerts, syslog levels)
    "emergency": "SEV1", "emerg": "SEV1", "fatal": "SEV1", "page": "SEV1",
    "error": "SEV2", "err": "SEV2", "warning": "SEV3", "warn": "SEV3", "moderate": "SEV3",
    "info": "SEV4", "informational": "SEV4", "notice": "SEV4", "debug": "SEV4", "none": "SEV4",
    # ServiceNow "1 - Critical" style, already stripped to the number
    "1": "SEV1", "2": "SEV2", "3": "SEV3", "4": "SEV4", "5": "SEV4",
    "sev1": "SEV1", "sev2": "SEV2", "sev3": "SEV3", "sev4": "SEV4", "sev5": "SEV4",
    "s1": "SEV1", "s2": "SEV2", "s3": "SEV3", "s4": "SEV4",
}


def to_sev(value: str | None) -> str | None:
    """The SEV1-SEV4 value for a source's own severity or priority; None when unknown."""
    if value is None:
        return None
    key = str(value).strip().lower().split(" - ")[0].replace("-", "").replace(" ", "").replace("_", "")
    return _MAP.get(key)
