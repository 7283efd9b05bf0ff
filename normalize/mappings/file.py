"""Rows of a CSV or JSON lines file -> note.* events, through the source's `fields:` map.

`fields:` maps canonical names to the file's columns (a dotted name reads nested JSON):
ts (required), text, actor, id, title, kind, severity, service, url, refs. A mapped
column the row lacks is a reject naming it; so are an empty ts, text or id.
"""
from __future__ import annotations

from typing import Mapping as TMapping

from ..mapping import SourceSpec
from . import Const, Field, Mapping, Or, Parent, Present, Rule, Time, Value, attrs, call

NOT_EMPTY = ("ts", "text", "id")
DEFAULT_KIND = "note.added"


def file_mapping(spec: SourceSpec) -> Mapping:
    options = spec.options
    fields = options.get("fields") if isinstance(options.get("fields"), TMapping) else {}
    problem = None if fields.get("ts") else ("fields", "the source's fields: map names no ts column")
    read = tuple(Field(str(name), str(column), not_empty=name in NOT_EMPTY) for name, column in fields.items())
    text = Or((Value("text"), Const("")))
    actor = Or((Value("actor"), Const(None)))
    draft = {
        "kind": call("event_kind", Value("kind", "truthy"), Const(str(options.get("kind") or DEFAULT_KIND))),
        "ts_raw": Value("ts"),
        "ts_format": Const(str(options["time_format"]) if options.get("time_format") else None),
        "actor": actor,
        "actor_type": Present(actor, Const("human"), Const("system")),
        "title": Or((Value("title", "truthy"), call("first_line", text, Const(120)), Const(spec.name))),
        "body": text,
        "severity": call("to_sev", Value("severity")),
        "service": Or((Value("service"), Const(None))),
        "url": Or((Value("url"), Const(None))),
        "refs": call("listed_and_found_refs", Value("refs", "truthy"), text, Value("title", "truthy")),
        "native_id": Value("id") if "id" in fields else Or((Parent(), Const(""))),
        "attrs": attrs(location=Parent()),
    }
    return Mapping(source_type="file", rules=(Rule(streams=("rows",), fields=read, draft=draft),),
                   time=Time(field=str(fields.get("ts") or "ts"), format=str(options.get("time_format") or "iso8601"),
                             zone=spec.timezone), config_problem=problem)
