"""Every source's severity on one scale, SEV1 (worst) to SEV4."""
from __future__ import annotations

_MAP = {
    # PagerDuty / Opsgenie priorities
    "p1": "SEV1", "p2": "SEV2", "p3": "SEV3", "p4": "SEV4", "p5": "SEV4",
    # Jira priorities
    "highest": "SEV1", "blocker": "SEV1", "high": "SEV2", "critical": "SEV1", "major": "SEV2",
    "medium": "SEV3", "minor": "SEV4", "low": "SEV4", "lowest": "SEV4", "trivial": "SEV4",
    # alert severities
    "error": "SEV2", "warning": "SEV3", "warn": "SEV3", "info": "SEV4",
    # ServiceNow "1 - Critical" style, already stripped to the number
    "1": "SEV1", "2": "SEV2", "3": "SEV3", "4": "SEV4", "5": "SEV4",
    "sev1": "SEV1", "sev2": "SEV2", "sev3": "SEV3", "sev4": "SEV4",
}


def to_sev(value: str | None) -> str | None:
    if value is None:
        return None
    key = str(value).strip().lower().split(" - ")[0].replace("-", "").replace(" ", "")
    return _MAP.get(key)
