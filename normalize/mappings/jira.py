"""Jira issues, changelog histories and comments -> ticket.* events.

An issue is one `ticket.created` (its reporter, else creator, as actor; linked issues and
the keys its summary and description name as refs). A changelog history is one event per
item: a status, assignee or priority change is its own kind, a resolution is
`ticket.resolved` (a resolution cleared gives none), any other field `ticket.updated`. A
comment is `ticket.comment`. Changelogs and comments belong to the issue their parent
names. Descriptions and comment bodies are ADF (Cloud) or plain strings (Data Center).
"""
from __future__ import annotations

import json
from typing import Any, Mapping as TMapping

from ..sql import lit, unique_sql
from ..mapping import SourceSpec
from ..text import adf_to_text
from ..transforms import TRANSFORMS, Transform, render
from . import Check, Const, Field, Json, Mapping, Or, Parent, Present, Rule, Time, Value, attrs, call

FIELD_KINDS = {"status": "ticket.status", "assignee": "ticket.assigned", "priority": "ticket.priority"}


def _author(gives_event) -> tuple[tuple[Field, ...], dict]:
    """An author that is not an object is a reject (as the mapper's author.get failed), for
    a record (item) that `gives_event`."""
    fields = (Field("author", "author", required=False), Field("author_name", "author.displayName", required=False),
              Field("author_email", "author.emailAddress", required=False),
              Field("author_account", "author.accountId", required=False))
    refused = call("refuse_ungettable", gives_event, Value("author", "truthy"), Value("author", "type"))
    return fields, {"actor": Or((refused, Value("author_name"))),
                    "actor_type": Present(Value("author", "truthy"), Const("human"), Const("system")),
                    "actor_id": Or((Value("author_email", "truthy"), Value("author_account")))}


_OF_ISSUE = Check(Parent(), "parent_id", "changelog or comment without its issue key")


def jira_mapping(spec: SourceSpec) -> Mapping:
    return Mapping(source_type="jira", time=Time(field="created"), knows_emails=True,
                   rules=(_issues(), _changelog(), _comments()))


def _issues() -> Rule:
    read = {"key": "key", "self": "self", "fields": "fields", "summary": "fields.summary",
            "description": "fields.description", "created": "fields.created",
            "reporter": "fields.reporter", "creator": "fields.creator", "links": "fields.issuelinks",
            "components": "fields.components", "labels": "fields.labels", "priority": "fields.priority.name",
            "assignee": "fields.assignee.displayName", "status": "fields.status.name",
            "status_category": "fields.status.statusCategory.key", "due": "fields.duedate",
            "issuetype": "fields.issuetype.name", "resolved": "fields.resolutiondate"}
    people = {f"{who}_{part}": f"fields.{who}.{key}" for who in ("reporter", "creator")
              for part, key in (("name", "displayName"), ("email", "emailAddress"), ("account", "accountId"))}
    key, summary = Value("key"), Or((Value("summary", "truthy"), Const("")))
    description = call("adf_text", Value("description", "object"))
    reporter = Value("reporter", "truthy")

    def person(part: str):
        return Present(reporter, Value(f"reporter_{part}"), Value(f"creator_{part}"))
    draft = {
        "kind": Const("ticket.created"), "ts_raw": Value("created"),
        "actor": person("name"),
        "actor_type": Present(Or((reporter, Value("creator", "truthy"))), Const("human"), Const("system")),
        "actor_id": Or((Present(reporter, Value("reporter_email", "truthy"), Value("creator_email", "truthy")),
                        person("account"))),
        "subject": Value("assignee"),
        "title": call("concat", key, Const(" created: "), summary), "body": description,
        "severity": call("to_sev", Value("priority")),
        "service": call("jira_first_component", Value("components", "object")),
        "refs": call("jira_issue_refs", key, Value("links", "object"), summary, description),
        "url": call("jira_browse_url", Value("self", "truthy"), key),
        "native_id": key,
        "attrs": attrs(key=key, summary=summary, status=Value("status"), status_category=Value("status_category"),
                       assignee=Value("assignee"), due=Value("due"), issuetype=Value("issuetype"),
                       resolution_date=Value("resolved"),
                       labels=Json(call("json_list", Value("labels", "object"))),
                       linked=Json(call("jira_linked_json", Value("links", "object")))),
    }
    return Rule(streams=("issues",), time_field="fields.created", draft=draft,
                fields=tuple(Field(n, c, required=False) for n, c in {**read, **people}.items()),
                checks=(Check(key, "key", "missing"),
                        Check(call("object_or_nothing", Value("fields", "object")), "fields", "not an object"),
                        Check(Value("created"), "created", "missing")))


def _changelog() -> Rule:
    key, field = Parent(), Or((Value("field", "truthy"), Const("")))
    before, after = Value("before", "truthy"), Value("after", "truthy")
    kind = call("jira_item_kind", field, after)
    author_fields, author = _author(kind)
    # a toString that is not a string is a reject, as the mapper's search for refs in it failed
    found_in = Or((call("refuse_unsearchable", after, Value("after", "type")), Value("after")))
    draft = {
        "kind": kind, "ts_raw": Value("created"), **author,
        "subject": call("if_equal", kind, Const("ticket.assigned"), Value("after")),
        "title": call("jira_item_title", key, field, before, after), "body": Const(""),
        "severity": call("if_equal", kind, Const("ticket.priority"), call("to_sev", Value("after"))),
        "refs": call("own_and_found_refs", call("concat", Const("jira:"), key), found_in),
        "native_id": call("concat", key, Const("/"), Value("id"), Const("/"), field),
        "attrs": attrs(key=key, field=field, **{"from": Json(Value("before", "json")), "to": Json(Value("after", "json"))}),
    }
    return Rule(streams=("changelog",), each="items", keep=kind, draft=draft,
                fields=(Field("created", "created", required=False), Field("id", "id", required=False),
                        *author_fields, Field("field", "field", required=False, of_item=True),
                        Field("before", "fromString", required=False, of_item=True),
                        Field("after", "toString", required=False, of_item=True)),
                checks=(_OF_ISSUE, Check(Value("created"), "created", "missing"), Check(Value("id"), "id", "missing")))


def _comments() -> Rule:
    author_fields, author = _author(Const("ticket.comment"))
    key, text = Parent(), call("adf_text", Value("body", "object"))
    draft = {
        "kind": Const("ticket.comment"), "ts_raw": Value("created"), **author,
        "title": call("concat", key, Const(" comment: "), call("first_line", text, Const(100))), "body": text,
        "refs": call("own_and_found_refs", call("concat", Const("jira:"), key), text),
        "native_id": call("concat", key, Const("/comment/"), Value("id")),
        "attrs": attrs(key=key),
    }
    return Rule(streams=("comments",), draft=draft,
                fields=(Field("created", "created", required=False), Field("id", "id", required=False),
                        Field("body", "body", required=False), *author_fields),
                checks=(_OF_ISSUE, Check(Value("created"), "created", "missing"), Check(Value("id"), "id", "missing")))


# ------------------------------------------------------------------ transforms
def linked_keys(links: Any) -> list[str]:
    keys = []
    for link in links if isinstance(links, list) else ():
        for side in ("outwardIssue", "inwardIssue"):
            other = (link or {}).get(side) or {}
            if other.get("key"):
                keys.append(str(other["key"]))
    return keys


def jira_issue_refs(ctx, key: str | None, links: Any, summary: str | None, description: str | None) -> list[str]:
    return [f"jira:{key}"] + [f"jira:{k}" for k in linked_keys(links)] + ctx.refs.find(summary, description)


def jira_first_component(components: Any) -> str | None:
    first = components[0] if isinstance(components, list) and components else None
    return render(first.get("name"), "text") if isinstance(first, dict) else None


def jira_browse_url(self_url: str | None, key: str | None) -> str | None:
    if not self_url or "/rest/api/" not in self_url or key is None:
        return None
    return self_url.split("/rest/api/", 1)[0] + "/browse/" + key


def jira_item_kind(field: str, after: str | None) -> str | None:
    """The event an item is (None: a resolution cleared, which is none)."""
    if field == "resolution":
        return "ticket.resolved" if after else None
    return FIELD_KINDS.get(field.lower(), "ticket.updated")


def _item_kind_sql(_ctx, field: str, after: str) -> str:
    kinds = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in FIELD_KINDS.items())
    return (f"CASE WHEN {field} = 'resolution' THEN CASE WHEN coalesce({after}, '') <> '' THEN 'ticket.resolved' END "
            f"ELSE CASE lower({field}) {kinds} ELSE 'ticket.updated' END END")


def jira_item_title(key: str | None, field: str, before: str | None, after: str | None) -> str | None:
    if key is None:
        return None
    if field == "resolution":
        return f"{key} resolved: {after}"
    return f"{key} {field}: {before or '(none)'} → {after or '(none)'}"


def _item_title_sql(_ctx, key: str, field: str, before: str, after: str) -> str:
    return (f"CASE WHEN {field} = 'resolution' THEN {key} || ' resolved: ' || coalesce({after}, 'None') "
            f"ELSE {key} || ' ' || {field} || ': ' || coalesce({before}, '(none)') || ' → ' "
            f"|| coalesce({after}, '(none)') END")


_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode

TRANSFORMS.update({
    "adf_text": Transform(adf_to_text),
    "object_or_nothing": Transform(lambda v: "ok" if not v or isinstance(v, TMapping) else None),
    "json_list": Transform(lambda v: _ENCODE(v or [])),
    "jira_linked_json": Transform(lambda links: _ENCODE(linked_keys(links))),
    "jira_issue_refs": Transform(jira_issue_refs, returns="VARCHAR[]", with_ctx=True, post=unique_sql("{col}")),
    "jira_first_component": Transform(jira_first_component),
    "jira_browse_url": Transform(jira_browse_url, exact=lambda *_a: "true",
                                 sql=lambda _c, u, k: f"CASE WHEN contains({u}, '/rest/api/') THEN "
                                                      f"split_part({u}, '/rest/api/', 1) || '/browse/' || {k} END"),
    # Python's lower() and DuckDB's agree on ASCII
    "jira_item_kind": Transform(jira_item_kind, sql=_item_kind_sql, exact=lambda _c, f, _a: f"strlen({f}) = length({f})"),
    "jira_item_title": Transform(jira_item_title, sql=_item_title_sql, exact=lambda *_a: "true"),
})
