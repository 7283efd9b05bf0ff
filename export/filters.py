"""Jinja2 filters shared by the Markdown and HTML drafts, and the template environment."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"


def environment(template_dir: Path | None, *, autoescape: bool,
                display_tz: str | None = None) -> jinja2.Environment:
    """Templates from `template_dir` win; any template it lacks comes from the built-ins."""
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES)))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters.update(utc=utc, local=local_filter(display_tz), duration=duration, md_cell=md_cell,
                       md_url=md_url, safe_url=safe_url, cell=cell)
    env.filters["md_text"] = md_text
    return env


def display_zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"--display-tz {name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None


def utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if value is None:
        return "unknown"
    return value.astimezone(timezone.utc).strftime(fmt) + " UTC"


def local_filter(display_tz: str | None):
    zone = display_zone(display_tz)

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
        if value is None or zone is None:
            return ""
        return value.astimezone(zone).strftime(fmt)
    return local


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    sign = "-" if seconds < 0 else ""
    h, rem = divmod(abs(seconds), 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{sign}{h}h {m:02d}m {s:02d}s"
    if m:
        return f"{sign}{m}m {s:02d}s"
    return f"{sign}{s}s"


def safe_url(value: Any) -> str | None:
    """Only absolute http(s) links leave the exporter as links: never javascript:, data:, …"""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        return None
    return text


_MD_ESCAPES = str.maketrans({"\\": "\\\\", "|": "\\|", "[": "\\[", "]": "\\]", "`": "\\`",
                             "<": "&lt;", ">": "&gt;"})


def md_cell(text: Any, limit: int = 200) -> str:
    """Untrusted text safe inside a Markdown table cell: one line, no table breaks, no links
    or HTML of its own."""
    value = cell(text, limit)
    return value.translate(_MD_ESCAPES)


_MD_EMPHASIS = str.maketrans({"*": "\\*", "_": "\\_", "~": "\\~"})


def md_text(text: Any, limit: int = 2000) -> str:
    """Untrusted text inside a sentence of prose: as md_cell, and no emphasis either, so that
    quoted words cannot restyle the sentence around them."""
    return md_cell(text, limit).translate(_MD_EMPHASIS)


def md_url(value: Any) -> str | None:
    """An http(s) link usable as a Markdown link target (parentheses and spaces encoded)."""
    url = safe_url(value)
    if url is None:
        return None
    return url.replace("(", "%28").replace(")", "%29").replace("|", "%7C")


def cell(value: Any, limit: int = 200) -> str:
    """One line of text, cut at `limit` characters; times as UTC, lists joined."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        value = "; ".join("" if v is None else str(v) for v in value)
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


FORMULA_START = ("=", "+", "-", "@")


def csv_safe(value: Any) -> Any:
    """A cell a spreadsheet would run as a formula gets a leading `'`: one starting with
    = + - @, also behind spaces, tabs or line breaks (spreadsheets skip them), and one
    starting with a tab or a line break."""
    if isinstance(value, str) and (value[:1] in ("\t", "\r", "\n")
                                   or value.lstrip()[:1] in FORMULA_START):
        return "'" + value
    return value
