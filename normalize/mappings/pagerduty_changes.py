"""PagerDuty change events -> change.*.

A change event is free-form (summary, source, custom_details, links), sent by whatever CI/CD
or config tool; its kind is read from `custom_details` (kind, then status/state/build_state
words, contract.changes.WORDS), else its summary's words (rollback/revert, config/flag,
fail, deploy), else `change.other`. version, commit, environment and author come from the
usual custom_details keys (version/release/tag, commit/sha/revision, environment/env,
author/user/deployed_by). The service is its first service's summary, else its id, kept in
`attrs.service_id` too (the config's `services:` may name a service by it).
"""
from __future__ import annotations

import re
from typing import Any

from incident_timeline.contract.changes import CONFIG_CHANGE, DEPLOY_FAILED, DEPLOY_FINISHED, OTHER, ROLLBACK

from ..mapping import SourceSpec
from ..transforms import TRANSFORMS, Transform
from . import Check, Const, Field, Mapping, Or, Rule, Time, Value, attrs, call
from . import changes

_TEXT_KINDS = ((changes.ROLLBACK_TEXT, ROLLBACK), (re.compile(r"(?i)\b(config(uration)?|feature[ -]?flags?|flag)\b"),
                                                   CONFIG_CHANGE),
               (re.compile(r"(?i)\b(fail(ed|ure)?|error(ed)?|abort(ed)?)\b"), DEPLOY_FAILED),
               (re.compile(r"(?i)\b(deploy(ed|ment)?|released?|shipped)\b"), DEPLOY_FINISHED))
DETAILS = {"kind": ("kind", "type", "event"), "status": ("status", "state", "build_state", "result"),
           "version": ("version", "release", "tag"), "commit": ("commit", "sha", "revision", "git_sha"),
           "environment": ("environment", "env"), "author": ("author", "user", "deployed_by", "triggered_by")}


def pagerduty_changes_mapping(spec: SourceSpec) -> Mapping:
    fields = (Field("id", "id", required=False), Field("timestamp", "timestamp", required=False),
              Field("summary", "summary", required=False), Field("source", "source", required=False),
              *(Field(f"cd_{key}", f"custom_details.{key}", required=False)
                for keys in DETAILS.values() for key in keys),
              Field("services", "services", required=False), Field("links", "links", required=False))

    def detail(name: str):
        return Or(tuple(Value(f"cd_{k}", "truthy") for k in DETAILS[name]) + (Const(None),))

    summary = Or((Value("summary", "truthy"), Const("")))
    kind = call("pdc_kind", detail("kind"), detail("status"), summary)
    service = call("pdc_service", Value("services", "object"), Const("summary"))
    author = detail("author")
    draft = {
        "kind": kind, "ts_raw": Value("timestamp"),
        "actor": Or((author, Value("source", "truthy"), Const("PagerDuty"))),
        "actor_type": call("change_actor_type", author),
        "title": Or((call("first_line", summary, Const(120)),
                     call("change_title", kind, service, detail("version"), detail("environment"), Const(None)))),
        "body": summary, "service": service,
        "url": call("pdc_link", Value("links", "object")),
        "refs": call("listed_and_found_refs", Const(None), summary, Const("")),
        "native_id": Value("id"),
        "attrs": attrs(version=detail("version"), commit=detail("commit"), environment=detail("environment"),
                       author=author, state=detail("status"), origin=Or((Value("source", "truthy"), Const(None))),
                       service_id=call("pdc_service", Value("services", "object"), Const("id"))),
    }
    return Mapping(source_type="pagerduty_changes", time=Time(field="timestamp"), rules=(Rule(
        streams=("change_events",), fields=fields, draft=draft, time_field="timestamp",
        checks=(Check(Value("id"), "id", "missing"), Check(Value("timestamp"), "timestamp", "missing"))),))


def kind_of(kind: str | None, status: str | None, summary: str | None) -> str:
    named = changes.kind_of(kind, status, OTHER)
    if named != OTHER:
        return changes.rollback_or(named, summary)
    return next((k for pattern, k in _TEXT_KINDS if pattern.search(summary or "")), OTHER)


def first_service(services: Any, key: str) -> str | None:
    """The first service reference's `summary` (else its id), or its `id`."""
    first = services[0] if isinstance(services, list) and services else None
    if not isinstance(first, dict):
        return None
    value = first.get("summary") if key == "summary" else None
    value = value or first.get("id")
    return value if isinstance(value, str) and value else None


def first_link(links: Any) -> str | None:
    first = links[0] if isinstance(links, list) and links else None
    href = first.get("href") if isinstance(first, dict) else None
    return href if isinstance(href, str) and href else None


TRANSFORMS.update({
    "pdc_kind": Transform(kind_of, distinct=True),
    "pdc_service": Transform(first_service),
    "pdc_link": Transform(first_link),
})
