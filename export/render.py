"""Render a loaded incident into files. Templates are Jinja2 and a user may override them."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from incident_timeline.contract.milestones import MILESTONES

from .chart import swimlanes
from .filters import csv_safe, display_zone, environment
from .report import rfc3339, to_contract
from .view import draft

FORMATS = ("md", "html", "json", "csv")
FILENAMES = {"md": "postmortem.md", "html": "postmortem.html", "json": "postmortem.json",
             "csv": "timeline.csv"}
TEMPLATES = {"md": "postmortem.md.j2", "html": "postmortem.html.j2"}
CSV_COLUMNS = ["ts", "source", "kind", "actor", "actor_type", "title", "body", "sources", "count", "url",
               "event_ids", "last_ts"]


def render_markdown(report: dict[str, Any], template_dir: Path | None = None,
                    display_tz: str | None = None) -> str:
    return _render_template("md", report, template_dir, display_tz)


def render_html(report: dict[str, Any], template_dir: Path | None = None,
                display_tz: str | None = None) -> str:
    return _render_template("html", report, template_dir, display_tz)


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(to_contract(report), indent=2, ensure_ascii=False) + "\n"


def render_csv(report: dict[str, Any], display_tz: str | None = None) -> str:
    zone = display_zone(display_tz)
    out = io.StringIO()
    # CRLF, as RFC 4180 and spreadsheets have it: the csv module then quotes every cell that
    # holds a CR or an LF (with "\n" alone, a cell holding a bare CR went out unquoted and
    # a spreadsheet broke the row there)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS + (["ts_local"] if zone else []))
    for source_row, row in zip(report["timeline"], to_contract(report)["timeline"]):
        cells = [";".join(row[c]) if isinstance(row[c], list) else row[c] for c in CSV_COLUMNS]
        if zone:
            cells.append(source_row["ts"].astimezone(zone).isoformat())
        writer.writerow([csv_safe(c) for c in cells])
    return out.getvalue()


def write(report: dict[str, Any], out_dir: Path, formats: tuple[str, ...] = ("md", "json"),
          template_dir: Path | None = None, display_tz: str | None = None) -> list[Path]:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format {unknown[0]!r} (known: {', '.join(FORMATS)})")
    display_zone(display_tz)   # a bad zone fails before any file is written
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        if fmt in TEMPLATES:
            text = _render_template(fmt, report, template_dir, display_tz)
        elif fmt == "json":
            text = render_json(report)
        else:
            text = render_csv(report, display_tz)
        path = out_dir / FILENAMES[fmt]
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


def _render_template(fmt: str, report: dict[str, Any], template_dir: Path | None,
                     display_tz: str | None) -> str:
    env = environment(template_dir, autoescape=(fmt == "html"), display_tz=display_tz)
    return env.get_template(TEMPLATES[fmt]).render(**context(report, display_tz))


def context(report: dict[str, Any], display_tz: str | None) -> dict[str, Any]:
    """What every template sees (documented in the README's export section)."""
    inc = report["incident"]
    view = draft(report, display_tz)
    return {"inc": inc, "report": report, "contract": to_contract(report), "draft": view,
            "chart": swimlanes(view["rows"], {m: inc[m] for m in MILESTONES}, view["clock"]),
            "display_tz": display_tz, "milestone_names": MILESTONES,
            "generated_at": rfc3339(datetime.now(timezone.utc).replace(microsecond=0))}
