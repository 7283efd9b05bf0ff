"""Source markup to readable plain text: Slack mrkdwn, Jira's Atlassian Document Format,
HTML (ServiceNow's `[code]…[/code]` journal values).

The result is plain, unescaped text; escaping for HTML is the exporter's job.
"""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser
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


_CODE_BLOCK = re.compile(r"\[code\](.*?)(?:\[/code\]|$)", re.IGNORECASE | re.DOTALL)
HAS_CODE_BLOCK = r"(?i)\[code\]"   # the same test, for the vectorised paths (RE2)


def servicenow_to_text(value: str | None) -> str:
    """A ServiceNow journal or text value: what is wrapped in `[code]…[/code]` is HTML
    (a user's rich text, or a script's), the rest plain text."""
    if not value:
        return ""
    if not re.search(HAS_CODE_BLOCK, value):
        return value
    return _CODE_BLOCK.sub(lambda m: html_to_text(m.group(1)), value).strip()


# Tags that end a line of text; their content is kept. Content of _DROPPED is not text.
_BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table",
           "ul", "ol", "hr", "section", "article", "header", "footer", "dt", "dd"}
_DROPPED = {"script", "style", "head", "title", "template", "noscript"}


class _TextOf(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.dropping = 0
        self.links: list[tuple[str | None, int]] = []   # (href, where its label starts in out)

    def handle_starttag(self, tag, attrs):
        if tag in _DROPPED:
            self.dropping += 1
        elif tag in _BREAKS:
            self.out.append("\n")
            if tag == "li":
                self.out.append("- ")
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.out)))

    def handle_startendtag(self, tag, attrs):
        if tag in _BREAKS:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in _DROPPED:
            self.dropping = max(0, self.dropping - 1)
        elif tag in _BREAKS and tag not in ("br", "li"):
            self.out.append("\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.out[start:]).strip()
            if href and href.strip() and href.strip() != label:
                self.out.append(f" ({href.strip()})" if label else href.strip())

    def handle_data(self, data):
        if not self.dropping:
            self.out.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(markup: str | None) -> str:
    """HTML to plain text: tags gone (never run), entities unescaped, blocks and `<br>` as
    line breaks, list items as `- `, links as `label (href)` like Slack's and Jira's."""
    return _text_of(_TextOf(), markup)


def _text_of(parser: "_TextOf", markup: str | None) -> str:
    if not markup:
        return ""
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _TeamsTextOf(_TextOf):
    """Teams' message HTML: `<at id="0">Name</at>` is a mention (@Name), an `<emoji>` its
    `alt`, an `<img>` its alt text; `<attachment>` and `<systemEventMessage/>` hold no text."""

    _EMPTY = {"attachment", "systemeventmessage"}

    def handle_starttag(self, tag, attrs):
        if tag == "at":
            self.out.append("@")
        elif tag in ("emoji", "img"):
            alt = dict(attrs).get("alt")
            if alt and not self.dropping:
                self.out.append(alt)
        elif tag in self._EMPTY:
            self.dropping += 1
        else:
            super().handle_starttag(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        if tag in ("emoji", "img"):
            self.handle_starttag(tag, attrs)
        elif tag not in self._EMPTY:
            super().handle_startendtag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in self._EMPTY:
            self.dropping = max(0, self.dropping - 1)
        elif tag not in ("at", "emoji", "img"):
            super().handle_endtag(tag)


def teams_html_to_text(markup: str | None) -> str:
    """A Teams message body (contentType html) as plain text: mentions as @Name, links as
    `label (href)`, entities decoded, tags gone (never run)."""
    return _text_of(_TeamsTextOf(), markup)
