"""Ids an event mentions or belongs to, as prefixed refs (pagerduty:Q1ABC, jira:OPS-12, ...).

The patterns are written for both Python's `re` and DuckDB's RE2 (no look-arounds), so
the vectorised path finds exactly the refs the per-record path finds.
"""
from __future__ import annotations

import re
from typing import Iterable

_PAGERDUTY_URL = r"https?://[\w.-]*pagerduty\.com/incidents/([A-Z0-9]{5,})"
_JIRA_BROWSE = r"/browse/([A-Z][A-Z0-9_]+-\d+)\b"
_SLACK_CHANNEL = r"<#([CGD][A-Z0-9]{6,})(?:\|[^>]*)?>"
_SLACK_ARCHIVE = r"https?://[\w.-]*slack\.com/archives/([CGD][A-Z0-9]{6,})\b"
_SERVICENOW = r"\b((?:INC|CHG|PRB|RITM)\d{7})\b"
_OPSGENIE_URL = r"opsgenie\.com/alert/detail/([0-9a-f-]{36})"


class RefFinder:
    """Finds refs in free text. Jira keys are only taken for known project keys: a bare
    pattern like ABC-123 also matches UTF-8 and SEV-1."""

    def __init__(self, jira_projects: Iterable[str] = ()):
        keys = sorted({p.upper() for p in jira_projects if p and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", p)})
        jira_key = [("jira", r"\b((?:%s)-\d+)\b" % "|".join(keys), tuple(f"{k}-" for k in keys))] if keys else []
        # (prefix, pattern with the id in group 1, literals one of which any match holds),
        # in the order refs are listed
        self.patterns: list[tuple[str, str, tuple[str, ...]]] = [
            ("pagerduty", _PAGERDUTY_URL, ("pagerduty.com/incidents/",)), ("jira", _JIRA_BROWSE, ("/browse/",)),
            *jira_key, ("slack", _SLACK_CHANNEL, ("<#",)), ("slack", _SLACK_ARCHIVE, ("slack.com/archives/",)),
            ("servicenow", _SERVICENOW, ("INC", "CHG", "PRB", "RITM")),
            ("opsgenie", _OPSGENIE_URL, ("opsgenie.com/alert/detail/",))]
        # each pattern with one compiled search for any of its hints (a C loop, not a Python one)
        self._compiled = [(prefix, re.compile(p), _any_of(hints)) for prefix, p, hints in self.patterns]
        # Most texts name no ref: one search for any hint skips every pattern for them.
        self._any_hint = _any_of([h for _p, _r, hints in self.patterns for h in hints])

    def find(self, *texts: str | None) -> list[str]:
        refs: list[str] = []
        for text in texts:
            if not text or (text.__class__ is str and not self._any_hint.search(text)):
                continue
            for prefix, pattern, hint in self._compiled:
                if hint.search(text):
                    refs += [f"{prefix}:{m}" for m in pattern.findall(text)]
        return unique(refs)


def _any_of(literals: Iterable[str]) -> re.Pattern:
    return re.compile("|".join(re.escape(h) for h in literals))


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))
