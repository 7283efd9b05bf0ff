"""The project keys of the configured Jira sources, read from their `projects:` and `jql:`."""
from __future__ import annotations

import re
from typing import Iterable

from .base import SourceSettings

_JQL_PROJECT = re.compile(r"project\s*(?:=|in)\s*\(?\s*([A-Za-z0-9_,\s\"']+)\)?", re.IGNORECASE)


def jira_projects(sources: Iterable[SourceSettings]) -> list[str]:
    """Project keys whose issue keys are recognised in free text."""
    keys: set[str] = set()
    for s in sources:
        if s.type != "jira":
            continue
        keys.update(str(k) for k in s.get("projects") or [])
        m = _JQL_PROJECT.search(str(s.get("jql") or ""))
        if m:
            keys.update(k.strip(" \"'") for k in m.group(1).split(",") if k.strip(" \"'"))
    return sorted(keys)
