"""Secrets: the patterns of known token shapes, and the one redactor every stage uses.

Export redacts every draft, correlate the catalog's incident tables, normalize event text
when a source asks for it (`redact: events`), ingest every error line built from a
response body. Each pattern names the kind of secret it found, so a reviewer sees that
something was removed and what it was, never the value. A pattern with a group keeps the
group (the label, e.g. `password=`) and replaces the rest.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable

_TOKEN_CHARS = r"[A-Za-z0-9_\-./+=~]"

# A pattern runs only on text holding one of its trigger words (lower case): ordinary text
# then costs a few substring checks instead of every regex.
_PAIR_WORDS = ("pass", "pwd", "secret", "key", "token")
_PATTERNS: list[tuple[str, tuple[str, ...], re.Pattern[str]]] = [
    ("private-key", ("private key",), re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S)),
    ("slack-webhook", ("hooks.slack",), re.compile(
        r"https://hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]+")),
    ("slack-token", ("xox",), re.compile(r"\b(?:xox[abeoprs]|xoxe\.xox[bp])-[A-Za-z0-9-]{10,}")),
    ("slack-app-token", ("xapp-",), re.compile(r"\bxapp-\d-[A-Za-z0-9-]{20,}")),
    ("github-token", ("gh", "github_pat_"), re.compile(
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})")),
    ("aws-access-key", ("akia", "asia", "agpa", "aida", "aroa"), re.compile(
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b")),
    ("aws-secret", ("aws_secret_access_key",), re.compile(
        r"(?i)(aws_secret_access_key[\"']?\s*[=:]\s*[\"']?)[A-Za-z0-9/+=]{40}")),
    ("jira-token", ("atatt", "atctt"), re.compile(r"\bAT(?:ATT|CTT)[A-Za-z0-9_\-=]{20,}")),
    ("pagerduty-token", ("token=",), re.compile(r"(?i)(\btoken\s+token=)[A-Za-z0-9_+\-]{16,}")),
    ("pagerduty-key", ("_key",), re.compile(
        r"(?i)(\b(?:routing|integration|service)_key[\"']?\s*[=:]\s*[\"']?)[0-9a-z]{32}\b")),
    ("jwt", ("eyj",), re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("bearer", ("bearer",), re.compile(rf"(?i)(\bbearer\s+){_TOKEN_CHARS}{{12,}}")),
    ("basic-auth", ("basic",), re.compile(
        r"(?i)(\bauthorization:\s*basic\s+|\bbasic\s+(?=[A-Za-z0-9+/]{16,}={0,2}(?:\s|$)))[A-Za-z0-9+/]{12,}={0,2}")),
    # A title cut short by the normaliser ("…") can end in the first part of a token.
    ("truncated-secret", ("…",), re.compile(
        r"\b(?:xox[a-z]-|xapp-|gh[pousr]_|github_pat_|AKIA|ASIA|AT[AC]TT|eyJ)[A-Za-z0-9_\-./+=]*…")),
    ("url-password", ("://",), re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s/:@]+:)[^\s/@]+(?=@)")),
    # key=value is a pair whatever the value; after a colon the value must look like a
    # secret (a digit or symbol in it, or 16+ token characters), so prose survives.
    ("password", _PAIR_WORDS, re.compile(
        r"(?i)(\b[a-z_]*(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?key|token)[\"']?\s*=\s*[\"']?)"
        r"[^\s&\"',;]+")),
    ("password", _PAIR_WORDS, re.compile(
        r"(?i)(\b(?:password|passwd|pwd)[\"']?\s*:\s*[\"']?)(?=[^\s\"',;]*[0-9!#$%^&*@?~])[^\s\"',;]{4,}")),
    ("password", _PAIR_WORDS, re.compile(
        rf"(?i)(\b(?:secret|api[_-]?key|access[_-]?key|token)[\"']?\s*:\s*[\"']?)"
        rf"(?=[^\s\"',;]*[0-9])(?=[^\s\"',;]*[A-Za-z]){_TOKEN_CHARS}{{16,}}")),
]


def redact(text: str | None) -> str | None:
    if not text:
        return text
    lowered = text.lower()
    for name, triggers, pattern in _PATTERNS:
        if not any(t in lowered for t in triggers):
            continue
        if pattern.groups:
            text = pattern.sub(lambda m, n=name: _keep_label(m, n), text)
        else:
            text = pattern.sub(f"[REDACTED {name}]", text)
    return text


def _keep_label(match: re.Match[str], name: str) -> str:
    if match.group(0)[len(match.group(1)):].startswith("[REDACTED"):
        return match.group(0)   # an earlier, more specific pattern got there first
    return match.group(1) + f"[REDACTED {name}]"


def redact_value(value: Any) -> Any:
    """Strings redacted; lists and dicts walked; everything else as it is."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    return value


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_TRIGGERS = frozenset(word for _name, words, _pattern in _PATTERNS for word in words)


def redact_json(text: str) -> str:
    """JSON text with every string in it redacted, whatever its nesting (no recursion: a
    record nested a thousand deep is redacted like any other), still valid JSON."""
    lowered = text.lower()
    if not any(word in lowered for word in _TRIGGERS):
        return text

    def one(match: re.Match[str]) -> str:
        literal = match.group(0)
        value = json.loads(literal) if "\\" in literal else literal[1:-1]
        redacted = redact(value)
        # ASCII escapes: a lone surrogate the record escaped stays an escape
        return literal if redacted == value else json.dumps(redacted)
    return _JSON_STRING.sub(one, text)


# What an error line may quote of a response body: enough to recognise a proxy's login
# page or the vendor's message, never a whole page.
SNIPPET_CHARS = 160


def scrub(text: str, known: Iterable[str] = ()) -> str:
    """`text` with every `known` secret value (the credentials a connector sends) and every
    known token shape replaced."""
    for value in sorted({k for k in known if k and len(k) >= 4}, key=len, reverse=True):
        text = text.replace(value, "[REDACTED secret]")
    return redact(text) or ""


def snippet(body: Any, known: Iterable[str] = (), limit: int = SNIPPET_CHARS) -> str:
    """A response body as an error line may quote it: one line, secrets redacted (before
    it is cut, so no cut leaves part of one), at most `limit` characters."""
    text = scrub(" ".join(str(body if body is not None else "").split()), known)
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    marker = cut.rfind("[REDACTED")
    if marker >= 0 and "]" not in cut[marker:]:
        cut = cut[:marker]   # never half a label
    return cut + "…"
