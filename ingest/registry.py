"""Every connector type, by name. A type missing here cannot be configured."""
from __future__ import annotations

from .base import Connector
from .jira import JiraConnector
from .pagerduty import PagerDutyConnector
from .slack_export import SlackExportConnector

CONNECTORS: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    if cls.type in CONNECTORS:
        raise ValueError(f"connector type {cls.type!r} registered twice")
    CONNECTORS[cls.type] = cls
    return cls


for _cls in (PagerDutyConnector, SlackExportConnector, JiraConnector):
    register(_cls)
