"""Rows of a CSV or JSON lines file -> note.* events, through the source's `fields:` map.

`fields:` maps canonical names to the file's columns (a dotted name reads nested JSON):
ts (required), text, actor, id, title, kind, severity, service, url, refs. A mapped
column the row lacks is a reject naming it; so are an empty ts, text or id.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from ..mapping import Context, Mapper, RecordError
from ..schema import CATEGORIES
from ..severity import to_sev
from ..text import first_line

NOT_EMPTY = ("ts", "text", "id")
DEFAULT_KIND = "note.added"
_REF = re.compile(r"^[a-z_]+:\S+$")
_MISSING = object()


def lookup(row: Mapping[str, Any], column: str) -> Any:
    """The column's value, or _MISSING when the row has no such column or path."""
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def unreadable(payload: Mapping[str, Any]) -> RecordError:
    """The reject for a line a connector could not read: its file, line and why."""
    where = f"{payload.get('file')} line {payload.get('line')}"
    return RecordError("line", f"{where}: {payload.get('error') or 'unreadable'}")


def event_kind(value: Any, default: str) -> str:
    """A dotted kind whose category is known, else note.<value>."""
    text = str(value or "").strip().lower().replace(" ", "_")
    if not text:
        return default
    if "." in text and text.split(".", 1)[0] in CATEGORIES:
        return text
    return f"note.{text}"


class FileMapper(Mapper):
    source_type = "file"
    time_format = "iso8601"

    def time_field(self, stream: str, kind: str, payload: Any, ctx: Context) -> str:
        fields = ctx.spec.options.get("fields")
        return str(fields.get("ts") or "ts") if isinstance(fields, Mapping) else "ts"

    def map(self, stream: str, payload: Mapping[str, Any], parent_id: str | None,
            ctx: Context) -> Iterable[dict]:
        if stream == "unreadable":
            raise unreadable(payload)
        if stream != "rows":
            return super().map(stream, payload, parent_id, ctx)
        options = ctx.spec.options
        fields = options.get("fields") if isinstance(options.get("fields"), Mapping) else {}
        if not fields.get("ts"):
            raise RecordError("fields", "the source's fields: map names no ts column")
        got: dict[str, Any] = {}
        for name, column in fields.items():
            value = lookup(payload, str(column))
            if value is _MISSING:
                raise RecordError(str(column), f"mapped field {name} ({column}) is missing")
            if name in NOT_EMPTY and value in (None, ""):
                raise RecordError(str(column), f"mapped field {name} ({column}) is empty")
            got[name] = value
        text = "" if got.get("text") is None else str(got["text"])
        refs = [r for r in re.split(r"[\s,]+", str(got.get("refs") or "")) if _REF.match(r)]
        draft = {
            "kind": event_kind(got.get("kind"), str(options.get("kind") or DEFAULT_KIND)),
            "ts_raw": str(got["ts"]),
            "actor": None if got.get("actor") in (None, "") else str(got["actor"]),
            "actor_type": "human" if got.get("actor") not in (None, "") else "system",
            "subject": None,
            "title": str(got.get("title") or "") or first_line(text, 120) or ctx.spec.name,
            "body": text, "severity": to_sev(got.get("severity")),
            "service": None if got.get("service") in (None, "") else str(got["service"]),
            "refs": refs + ctx.refs.find(str(got.get("refs") or ""), text, str(got.get("title") or "")),
            "url": None if got.get("url") in (None, "") else str(got["url"]),
            "native_id": str(got["id"]) if "id" in got else str(parent_id or ""),
            "attrs": {"location": parent_id},
        }
        if options.get("time_format"):
            draft["ts_format"] = str(options["time_format"])
        return [draft]
