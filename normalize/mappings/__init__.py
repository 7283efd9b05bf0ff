"""Declarative mappings: for each converted source type, the one place that says how a raw
record becomes an event draft. A mapping is data (fields read, expressions over them);
`normalize.compiler` turns it into one DuckDB query over the raw table, and
`normalize.oracle` reads it one record at a time (the test oracle, and what a reader can
follow by hand). Neither declines a record to the other.

Expressions:
- `Value(name, as_)`: a field the mapping reads, rendered as Python's `str()` of the JSON
  value would (`as_="text"`: None for a JSON null or an unread field; `"truthy"`: None
  also for a falsy value: "", 0, false, [], {}), so both paths agree on every JSON type;
  `"object"`: the value as json.loads gives it (None when absent), only as a call's argument.
- `Const(value)`, `Parent()` (the raw row's parent_id).
- `Call(transform, *args)`: a transform of `normalize.transforms` (SQL where SQL is exact,
  else a vectorised Python UDF over Arrow arrays); an argument may be a call.
- `Or(*exprs)`: the first that is neither None nor "".
- `Present(expr, then, otherwise)`: `then` when `expr` is neither None nor "".
- `Attrs({key: expr})`: the attrs JSON object (compact, sorted keys); `Json(expr)` in it: a
  value that is JSON text already (a transform's), kept as JSON; `OmitNone(expr)`: a key
  written only when its value is not None.

A transform's Python that raises (a shape it did not expect) makes the record a reject
(`unexpected shape in <stream>: <error>`) on both paths; both evaluate every expression.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping as TMapping

from ..mapping import SourceSpec


@dataclass(frozen=True)
class Value:
    name: str
    as_: str = "text"


@dataclass(frozen=True)
class Const:
    value: Any


@dataclass(frozen=True)
class Parent:
    pass


@dataclass(frozen=True)
class Call:
    transform: str
    args: tuple


def call(transform: str, *args) -> Call:
    return Call(transform, args)


@dataclass(frozen=True)
class Or:
    exprs: tuple


@dataclass(frozen=True)
class Present:
    expr: Any
    then: Any
    otherwise: Any


@dataclass(frozen=True)
class Attrs:
    items: tuple  # ((key, expr), ...) sorted by key


def attrs(**items) -> Attrs:
    return Attrs(tuple(sorted(items.items())))


@dataclass(frozen=True)
class Json:
    expr: Any


@dataclass(frozen=True)
class OmitNone:
    """In attrs: the key is left out when the value is None."""
    expr: Any


@dataclass(frozen=True)
class Field:
    """A field of the record the mapping reads: `column` is the source's name for it (a
    dotted name reads nested objects when the record has no key of that exact name).
    A field the record lacks is a reject naming the column (unless not `required`); so is
    an empty one (None or "") when `not_empty`."""
    name: str
    column: str
    not_empty: bool = False
    required: bool = True
    of_item: bool = False   # read in each item of the rule's `each` list (a flat key)
    flat: bool = False      # a key of that exact name only, dotted or not (no nested walk)


@dataclass(frozen=True)
class Check:
    """A record whose `expr` is None or "" is a reject (field, reason); checked after
    the fields are read, in order."""
    expr: Any
    field: str
    reason: str


@dataclass(frozen=True)
class Time:
    """Where an event's time is, and how the source writes it (the facts the connector
    declared; ingest's window filter and normalize read them from here)."""
    field: str
    format: str = "iso8601"
    zone: str | None = "UTC"


@dataclass(frozen=True)
class Rule:
    """How the records of some streams become drafts: one per record, or with `each` (a
    column holding a list of objects: anything else but a falsy value is a reject) one per
    item of it, where `keep` (if given) is neither None nor ""."""
    streams: tuple[str, ...]
    fields: tuple[Field, ...]        # read in order: the first that fails rejects the record
    draft: TMapping[str, Any]        # canonical column -> expression
    checks: tuple[Check, ...] = ()
    # where the record keeps its time (default: the mapping's), or an expression naming it
    # from the record's fields: what a time reject names
    time_field: Any = None
    each: str | None = None
    keep: Any = None


@dataclass(frozen=True)
class Mapping:
    source_type: str
    time: Time
    rules: tuple[Rule, ...]
    config_problem: tuple[str, str] | None = None   # (field, reason): every record is rejected
    entity_streams: tuple[str, ...] = ()
    knows_emails: bool = False

    @property
    def streams(self) -> tuple[str, ...]:
        return tuple(s for r in self.rules for s in r.streams)

    def rule(self, stream: str) -> Rule | None:
        """The first rule reading `stream` (several may: each gives its drafts, in order)."""
        return next((r for r in self.rules if stream in r.streams), None)


# source type -> the function building its mapping from the source's settings
MAPPINGS: dict[str, Callable[[SourceSpec], Mapping]] = {}


def _register() -> None:
    from .alertmanager import alertmanager_mapping
    from .change_file import change_file_mapping
    from .datadog import datadog_mapping
    from .file import file_mapping
    from .github import github_mapping
    from .gitlab import gitlab_mapping
    from .grafana import grafana_mapping
    from .jira import jira_mapping
    from .opsgenie import opsgenie_mapping
    from .pagerduty import pagerduty_mapping
    from .pagerduty_changes import pagerduty_changes_mapping
    from .servicenow import servicenow_mapping
    from .slack import slack_mapping
    from .teams import teams_mapping
    from .statuspage import statuspage_mapping

    MAPPINGS["file"] = file_mapping
    MAPPINGS["slack"] = MAPPINGS["slack_export"] = slack_mapping
    MAPPINGS["jira"] = jira_mapping
    MAPPINGS["pagerduty"] = pagerduty_mapping
    MAPPINGS["opsgenie"] = opsgenie_mapping
    MAPPINGS["alertmanager"] = alertmanager_mapping
    MAPPINGS["grafana"] = grafana_mapping
    MAPPINGS["change_file"] = change_file_mapping
    MAPPINGS["github"] = github_mapping
    MAPPINGS["pagerduty_changes"] = pagerduty_changes_mapping
    MAPPINGS["gitlab"] = gitlab_mapping
    MAPPINGS["servicenow"] = servicenow_mapping
    MAPPINGS["datadog"] = datadog_mapping
    MAPPINGS["teams"] = teams_mapping
    MAPPINGS["statuspage"] = statuspage_mapping


_register()
