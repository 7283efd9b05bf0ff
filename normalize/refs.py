"""Ids an event mentions or belongs to, as prefixed refs (pagerduty:Q1ABC, jira:OPS-12, ...)."""
from __future__ import annotations

import re
from typing import Iterable

_PAGERDUTY_URL = re.compile(r"https?://[\w.-]*pagerduty\.com/incidents/([A-Z0-9]{5,})")
_JIRA_BROWSE = re.compile(r"/browse/([A-Z][A-Z0-9_]+-\d+)\b")
_SLACK_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]{6,})(?:\|[^>]*)?>")
_SLACK_ARCHIVE = re.compile(r"https?://[\w.-]*slack\.com/archives/([CGD][A-Z0-9]{6,})\b")
_SERVICENOW = re.compile(r"\b((?:INC|CHG|PRB|RITM)\d{7})\b")
_OPSGENIE_URL = re.compile(r"opsgenie\.com/alert/detail/([0-9a-f-]{36})")


class RefFinder:
    """Finds refs in free text. Jira keys are only taken for known project keys: a bare
    pattern like ABC-123 also matches UTF-8 and SEV-1."""

    def __init__(self, jira_projects: Iterable[str] = ()):
        keys = sorted({p.upper() for p in jira_projects if p})
        self._jira_key = re.compile(r"\b((?:%s)-\d+)\b" % "|".join(map(re.escape, keys))) if keys else None

    def find(self, *texts: str | None) -> list[str]:
        refs: list[str] = []
        for text in texts:
            if not text:
                continue
            refs += [f"pagerduty:{m}" for m in _PAGERDUTY_URL.findall(text)]
            refs += [f"jira:{m}" for m in _JIRA_BROWSE.findall(text)]
            if self._jira_key is not None:
                refs += [f"jira:{m}" for m in self._jira_key.findall(text)]
            refs += [f"slack:{m}" for m in _SLACK_CHANNEL.findall(text)]
            refs += [f"slack:{m}" for m in _SLACK_ARCHIVE.findall(text)]
            refs += [f"servicenow:{m}" for m in _SERVICENOW.findall(text)]
            refs += [f"opsgenie:{m}" for m in _OPSGENIE_URL.findall(text)]
        return unique(refs)


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))
