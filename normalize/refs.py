"""Ids an event mentions or belongs to, as prefixed refs (pagerduty:Q1ABC, jira:OPS-12, ...).

The patterns are written for both Python's `re` and DuckDB's RE2 (no look-arounds), so
the vectorised path finds exactly the refs the per-record path finds.
"""
from __future__ import annotations

import re
from typing import Iterable

_PAGERDUTY_URL = r"https?://[\w.-]*pagerduty\.com/(?:incidents|alerts)/([A-Z0-9]{5,})"
_JIRA_BROWSE = r"/browse/([A-Z][A-Z0-9_]+-\d+)\b"
# Jira Cloud's board and project views (`.../projects/OPS/issues/OPS-12`, `?selectedIssue=OPS-12`)
# and REST links (`/rest/api/3/issue/OPS-12`)
_JIRA_ISSUE_URL = r"(?:/issues/|[?&]selectedIssue=|/rest/api/(?:2|3|latest)/issue/)([A-Z][A-Z0-9_]+-\d+)\b"
_SLACK_CHANNEL = r"<#([CGD][A-Z0-9]{6,})(?:\|[^>]*)?>"
_SLACK_ARCHIVE = r"https?://[\w.-]*slack\.com/(?:archives|client/T[A-Z0-9]+)/([CGD][A-Z0-9]{6,})\b"
# A message permalink, `/archives/C0123ABC/p1791986534000100`: `p` and the message's ts
# without its dot. Rewritten (see REWRITES) to the message's own id, `C0123ABC:1791986534.000100`.
_SLACK_MESSAGE = r"slack\.com/archives/([CGD][A-Z0-9]{6,}/p[0-9]{16})\b"
_SERVICENOW = r"\b((?:INC|CHG|PRB|RITM)\d{7})\b"
# A record link by sys_id: `nav_to.do?uri=incident.do?sys_id=<id>` (also URL-encoded, as
# nav_to.do and the Next Experience UI write it), `/incident.do?sys_id=<id>`, the service
# portal's `?table=incident&sys_id=<id>` and the workspaces' `/record/incident/<id>`.
_SN_TABLES = r"(?:incident|change_request|problem|sc_req_item|sc_task)"
_SERVICENOW_SYS_ID = (r"(?:\b" + _SN_TABLES + r"\.do(?:\?|%3[fF])sys_id(?:=|%3[dD])|[?&]table=" + _SN_TABLES
                      + r"&sys_id=|/record/" + _SN_TABLES + r"/)([0-9a-f]{32})\b")
# Opsgenie alert ids are `<uuid>-<epoch ms>` (incident ids are plain uuids), on the US and
# EU hosts alike (`acme.app.opsgenie.com`, `acme.app.eu.opsgenie.com`).
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_OPSGENIE_URL = r"opsgenie\.com/(?:alert/detail/|incident/detail/|alert/V2#/show/)(" + _UUID + r"(?:-[0-9]{10,13})?)"
# Grafana's alert rule links (`/alerting/grafana/<rule uid>/view`, `/alerting/<uid>/edit`)
_GRAFANA_RULE = r"/alerting/(?:grafana/)?([A-Za-z0-9_-]{6,40})/(?:view|edit)\b"
# and the silence link of its notifications (`/alerting/silence/new?matcher=__alert_rule_uid__%3D<uid>`)
_GRAFANA_SILENCE = r"__alert_rule_uid__(?:=|%3[dD])([A-Za-z0-9_-]{6,40})"
# Statuspage incidents: the public page and the management app
_STATUSPAGE = r"statuspage\.io/(?:pages/[a-z0-9]+/)?incidents/([a-z0-9]{12})\b"

# pattern -> (regex, replacement) applied to each match (Python's re.sub and DuckDB's
# regexp_replace read `\1` alike)
REWRITES = {_SLACK_MESSAGE: (r"^([CGD][A-Z0-9]+)/p([0-9]{10})([0-9]{6})$", r"\1:\2.\3")}


class RefFinder:
    """Finds refs in free text. Jira keys are only taken for known project keys: a bare
    pattern like ABC-123 also matches UTF-8 and SEV-1."""

    def __init__(self, jira_projects: Iterable[str] = ()):
        keys = sorted({p.upper() for p in jira_projects if p and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", p)})
        jira_key = [("jira", r"\b((?:%s)-\d+)\b" % "|".join(keys), tuple(f"{k}-" for k in keys))] if keys else []
        # (prefix, pattern with the id in group 1, literals one of which any match holds),
        # in the order refs are listed
        self.patterns: list[tuple[str, str, tuple[str, ...]]] = [
            ("pagerduty", _PAGERDUTY_URL, ("pagerduty.com/incidents/", "pagerduty.com/alerts/")),
            ("jira", _JIRA_BROWSE, ("/browse/",)),
            *jira_key, ("jira", _JIRA_ISSUE_URL, ("/issues/", "selectedIssue=", "/issue/")),
            ("slack", _SLACK_CHANNEL, ("<#",)),
            ("slack", _SLACK_ARCHIVE, ("slack.com/archives/", "slack.com/client/")),
            ("slack", _SLACK_MESSAGE, ("slack.com/archives/",)),
            ("servicenow", _SERVICENOW, ("INC", "CHG", "PRB", "RITM")),
            ("servicenow", _SERVICENOW_SYS_ID, ("sys_id", "/record/")),
            ("opsgenie", _OPSGENIE_URL, ("opsgenie.com/alert/detail/", "opsgenie.com/incident/detail/",
                                         "opsgenie.com/alert/V2#/show/")),
            ("grafana", _GRAFANA_RULE, ("/alerting/",)), ("grafana", _GRAFANA_SILENCE, ("__alert_rule_uid__",)),
            ("statuspage", _STATUSPAGE, ("statuspage.io/",))]
        # each pattern with one compiled search for any of its hints (a C loop, not a Python one)
        self._compiled = [(prefix, re.compile(p), _any_of(hints), _rewrite(p)) for prefix, p, hints in self.patterns]
        # Most texts name no ref: one search for any hint skips every pattern for them.
        self._any_hint = _any_of([h for _p, _r, hints in self.patterns for h in hints])

    def find(self, *texts: str | None) -> list[str]:
        refs: list[str] = []
        for text in texts:
            if not text or (text.__class__ is str and not self._any_hint.search(text)):
                continue
            for prefix, pattern, hint, rewrite in self._compiled:
                if hint.search(text):
                    refs += [f"{prefix}:{rewrite(m)}" for m in pattern.findall(text)]
        return unique(refs)


def _rewrite(pattern: str):
    if pattern not in REWRITES:
        return lambda m: m
    search, replace = REWRITES[pattern]
    compiled = re.compile(search)
    return lambda m: compiled.sub(replace, m)


def _any_of(literals: Iterable[str]) -> re.Pattern:
    return re.compile("|".join(re.escape(h) for h in literals))


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))
