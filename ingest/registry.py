"""Every connector type, by name. A type missing here cannot be configured."""
from __future__ import annotations

from .alertmanager import AlertmanagerConnector
from .base import Connector
from .change_file import ChangeFileConnector
from .datadog import DatadogConnector
from .file import FileConnector
from .github import GitHubConnector
from .gitlab import GitLabConnector
from .grafana import GrafanaConnector
from .jira import JiraConnector
from .opsgenie import OpsgenieConnector
from .pagerduty import PagerDutyConnector
from .pagerduty_changes import PagerDutyChangesConnector
from .servicenow import ServiceNowConnector
from .slack import SlackConnector
from .slack_export import SlackExportConnector
from .teams import TeamsConnector
from .statuspage import StatuspageConnector

CONNECTORS: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    if cls.type in CONNECTORS:
        raise ValueError(f"connector type {cls.type!r} registered twice")
    CONNECTORS[cls.type] = cls
    return cls


for _cls in (PagerDutyConnector, SlackExportConnector, JiraConnector, SlackConnector):
    register(_cls)

for _cls in (OpsgenieConnector, AlertmanagerConnector, GrafanaConnector, ServiceNowConnector,
             FileConnector):
    register(_cls)

register(ChangeFileConnector)
register(GitHubConnector)
register(PagerDutyChangesConnector)
register(GitLabConnector)
register(DatadogConnector)
register(TeamsConnector)
register(StatuspageConnector)
