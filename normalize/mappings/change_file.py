"""Rows of a CSV or JSON lines change log -> change.* events, through the source's `fields:`.

`fields:` maps names to the file's columns (a dotted name reads nested JSON): ts (required),
kind, status, service, version, commit, environment, author, id, title, text, url. Only ts
(and id, when mapped) must be in every row: a change log often leaves a column out. A row's
kind comes from its kind and status words (contract.changes.WORDS), else the source's
`kind:` (default `deployed`); `service:` and `environment:` give a default for rows that
name none.
"""
from __future__ import annotations

from typing import Mapping as TMapping

from ..mapping import SourceSpec
from . import Const, Field, Mapping, Or, Parent, Rule, Time, Value, attrs, call
from . import changes  # noqa: F401  (registers the change transforms)

REQUIRED = ("ts", "id")
DEFAULT_KIND = "deployed"


def change_file_mapping(spec: SourceSpec) -> Mapping:
    options = spec.options
    fields = options.get("fields") if isinstance(options.get("fields"), TMapping) else {}
    problem = None if fields.get("ts") else ("fields", "the source's fields: map names no ts column")
    read = tuple(Field(str(name), str(column), not_empty=name in REQUIRED, required=name in REQUIRED)
                 for name, column in fields.items())

    def text(name: str, default: object = None):
        return Or((Value(name, "truthy"), Const(str(default) if default else None)))

    service, environment = text("service", options.get("service")), text("environment", options.get("environment"))
    version, author = text("version"), text("author")
    kind = call("change_kind_of", Value("kind", "truthy"), Value("status", "truthy"),
                Const(str(options.get("kind") or DEFAULT_KIND)))
    draft = {
        "kind": kind, "ts_raw": Value("ts"),
        "ts_format": Const(str(options["time_format"]) if options.get("time_format") else None),
        "actor": author, "actor_type": call("change_actor_type", author),
        "title": Or((Value("title", "truthy"), call("change_title", kind, service, version, environment,
                                                     Const(spec.name)))),
        "body": Or((Value("text"), Const(""))),
        "service": service, "url": text("url"),
        "refs": call("listed_and_found_refs", Const(None), Or((Value("text"), Const(""))),
                     Or((Value("title", "truthy"), Const("")))),
        "native_id": Value("id") if "id" in fields else Or((Parent(), Const(""))),
        "attrs": attrs(location=Parent(), version=version, commit=text("commit"), environment=environment,
                       author=author, state=text("status")),
    }
    return Mapping(source_type="change_file", rules=(Rule(streams=("rows",), fields=read, draft=draft),),
                   time=Time(field=str(fields.get("ts") or "ts"), format=str(options.get("time_format") or "iso8601"),
                             zone=spec.timezone), config_problem=problem)
