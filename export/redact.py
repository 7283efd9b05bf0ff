"""Secrets pasted into chat or tickets are redacted before anything is exported."""
from __future__ import annotations

import re

_PATTERNS = [
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("slack-webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+")),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("aws-secret", re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*)[A-Za-z0-9/+=]{40}")),
    ("jira-token", re.compile(r"\bATATT[A-Za-z0-9_\-=]{20,}")),
    ("pagerduty-token", re.compile(r"(?i)(token\s+token=)[A-Za-z0-9_+\-]{16,}")),
    ("bearer", re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{12,}")),
    ("basic-auth", re.compile(r"(?i)(\bbasic\s+)[A-Za-z0-9+/=]{12,}")),
    ("password", re.compile(r"(?i)(\b(?:password|passwd|pwd|secret|api[_-]?key|token)\s*[=:]\s*)[^\s&\"',;]+")),
    ("private-key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)),
]


def redact(text: str | None) -> str | None:
    if not text:
        return text
    for name, pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m, n=name: m.group(1) + f"[REDACTED {n}]", text)
        else:
            text = pattern.sub(f"[REDACTED {name}]", text)
    return text
