"""Source markup to readable plain text: Slack mrkdwn and Jira's Atlassian Document Format.

The result is plain, unescaped text; escaping for HTML is the exporter's job.
"""
from __future__ import annotations

import html
import re
from typing import Any, Callable, Mapping

_SLACK_TOKEN = re.compile(r"<([^<>]+)>")


def slack_to_text(text: str | None, user_name: Callable[[str], str | None] = lambda _u: None) -> str:
    if not text:
        return ""

    def token(m: re.Match) -> str:
        inner = m.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            name = label or user_name(target[1:]) or target[1:]
            return "@" + name
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        if label and label != target:
            return f"{label} ({target})"
        return target.removeprefix("mailto:")

    return html.unescape(_SLACK_TOKEN.sub(token, text))


def adf_to_text(node: Any) -> str:
    """Flatten an ADF document (or a v2 plain string) to text with paragraph breaks."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    out: list[str] = []
    _walk_adf(node, out)
    text = "".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_BLOCKS = {"paragraph", "heading", "blockquote", "codeBlock", "rule", "panel"}


def _walk_adf(node: Mapping[str, Any], out: list[str]) -> None:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        text = node.get("text", "")
        href = next((m.get("attrs", {}).get("href") for m in node.get("marks") or []
                     if m.get("type") == "link"), None)
        out.append(f"{text} ({href})" if href and href != text else text)
    elif kind == "hardBreak":
        out.append("\n")
    elif kind == "mention":
        out.append(str(attrs.get("text") or "@" + str(attrs.get("id", ""))))
    elif kind in ("inlineCard", "blockCard"):
        out.append(str(attrs.get("url", "")))
    elif kind == "emoji":
        out.append(str(attrs.get("text") or attrs.get("shortName", "")))
    elif kind == "listItem":
        out.append("- ")
    for child in node.get("content") or []:
        _walk_adf(child, out)
    if kind in _BLOCKS or kind == "listItem":
        out.append("\n")


def first_line(text: str, limit: int = 140) -> str:
    line = (text or "").strip().split("\n", 1)[0].strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
