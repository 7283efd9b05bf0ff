"""Render a loaded incident into files. Templates are Jinja2 and a user may override them."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from .report import rfc3339, to_contract

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
FORMATS = ("md", "html", "json", "csv")
FILENAMES = {"md": "postmortem.md", "html": "postmortem.html", "json": "postmortem.json",
             "csv": "timeline.csv"}


def environment(template_dir: Path | None = None, *, autoescape: bool) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES)))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["utc"] = _utc
    env.filters["duration"] = duration
    env.filters["md_cell"] = _md_cell
    return env


def render_markdown(report: dict[str, Any], template_dir: Path | None = None,
                    display_tz: str | None = None) -> str:
    env = environment(template_dir, autoescape=False)
    env.filters["local"] = _local_filter(display_tz)
    return env.get_template("postmortem.md.j2").render(**_context(report, display_tz))


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(to_contract(report), indent=2, ensure_ascii=False) + "\n"


def render_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = ["ts", "source", "kind", "actor", "actor_type", "title", "body", "sources", "count",
               "url", "event_ids"]
    writer.writerow(columns)
    for row in to_contract(report)["timeline"]:
        writer.writerow([_csv_safe(";".join(row[c]) if isinstance(row[c], list) else row[c])
                         for c in columns])
    return out.getvalue()


def write(report: dict[str, Any], out_dir: Path, formats: tuple[str, ...] = ("md", "json"),
          template_dir: Path | None = None, display_tz: str | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        if fmt == "md":
            text = render_markdown(report, template_dir, display_tz)
        elif fmt == "json":
            text = render_json(report)
        elif fmt == "csv":
            text = render_csv(report)
        elif fmt == "html":
            from .html import render_html
            text = render_html(report, template_dir, display_tz)
        else:
            raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
        path = out_dir / FILENAMES[fmt]
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


def _context(report: dict[str, Any], display_tz: str | None) -> dict[str, Any]:
    inc = report["incident"]
    return {"inc": inc, "report": report, "contract": to_contract(report), "display_tz": display_tz,
            "generated_at": rfc3339(datetime.now(timezone.utc).replace(microsecond=0))}


def _utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if value is None:
        return "unknown"
    return value.astimezone(timezone.utc).strftime(fmt) + " UTC"


def _local_filter(display_tz: str | None):
    zone = ZoneInfo(display_tz) if display_tz else None

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
    seconds = abs(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{sign}{h}h {m:02d}m {s:02d}s"
    if m:
        return f"{sign}{m}m {s:02d}s"
    return f"{sign}{s}s"


def _md_cell(text: Any, limit: int = 200) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped, HTML neutralised."""
    if text is None:
        return ""
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return (value.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;"))


def _csv_safe(value: Any) -> Any:
    # A cell starting with = + - @ is run as a formula by spreadsheets.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
