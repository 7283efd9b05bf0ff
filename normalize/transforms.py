"""The transforms mappings call, each registered once: its Python function (what the
oracle runs, and the exact answer), and where SQL gives the same answer, the SQL with the
test for the values it holds for. The compiler uses the SQL on those values and the Python
function, as a vectorised DuckDB UDF over Arrow arrays, on the rest, in the same query.

Also here: how a mapped field's JSON value is read and rendered (`lookup`, `render`),
shared by the oracle and the UDFs, so a record's odd values read the same on both paths.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from incident_timeline.contract.paths import dotted

from .sql import ODD_TEXT, cut_line_sql, first_line_sql, lit, odd_ref_text_sql, refs_sql, unique_sql
from .mapping import Context
from .schema import CATEGORIES
from .severity import to_sev
from .text import first_line

MISSING = object()


def lookup(row: Mapping[str, Any], column: str, flat: bool = False) -> Any:
    """The column's value (a key of that exact name first, then, unless `flat`, a dotted
    path), or MISSING."""
    if flat:
        return row.get(column, MISSING)
    return dotted(row, column, missing=MISSING)


def render(value: Any, as_: str) -> str | None:
    """A field's value as text: str() of it; None for None (and, `truthy`, for falsy);
    `json`: its JSON text as attrs write it (None when absent); `type`: its JSON type."""
    if as_ == "json":
        return None if value is MISSING else encode_json(value)
    if as_ == "type":
        return None if value is MISSING else _JSON_TYPES.get(value.__class__, "number")
    if value is None or value is MISSING or (as_ == "truthy" and not value):
        return None
    return value if value.__class__ is str else str(value)


_JSON_TYPES = {dict: "object", list: "array", str: "string", type(None): "null", bool: "boolean"}
# JSON as the attrs column writes it (engine.attrs_json)
encode_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode


def event_kind(value: str | None, default: str) -> str:
    """A dotted kind whose category is known, else note.<value>."""
    text = str(value or "").strip().lower().replace(" ", "_")
    if not text:
        return default
    if "." in text and text.split(".", 1)[0] in CATEGORIES:
        return text
    return f"note.{text}"


_LISTED_REF = re.compile(r"^[a-z_]+:\S+$")


def listed_and_found_refs(ctx: Context, listed: str | None, *texts: str | None) -> list[str]:
    """The refs a record lists (`jira:OPS-1, slack:C0123`) and then those its texts name."""
    own = [r for r in re.split(r"[\s,]+", listed or "") if _LISTED_REF.match(r)]
    return list(dict.fromkeys(own + ctx.refs.find(listed or "", *(t or "" for t in texts))))


def own_and_found_refs(ctx: Context, own: str | None, *texts: str | None) -> list[str]:
    """The record's own ref, then those its texts name."""
    return [own] + ctx.refs.find(*texts)


def _own_and_found_sql(ctx: Context, own: str, *texts: str) -> str:
    found = refs_sql(ctx.refs, *(f"coalesce({t}, '')" for t in texts if t != _NULL))
    return f"list_concat([{own}], {found})"


def concat(*parts: str | None) -> str | None:
    return None if any(p is None for p in parts) else "".join(parts)


_SEPARATORS, _LISTED_REF_SQL = lit(r"[\s,]+"), lit(r"[a-z_]+:\S+")


_NULL = "NULL::VARCHAR"   # what the compiler writes for a field the mapping does not read


def _ascii(*args: str) -> str:
    return " AND ".join(f"coalesce(strlen({a}) = length({a}), true)" for a in args if a != _NULL) or "true"


def _listed_and_found_sql(ctx: Context, listed: str, *texts: str) -> str:
    """Before de-duplication (the transform's `post`); NULL arguments name nothing."""
    found = refs_sql(ctx.refs, *(f"coalesce({t}, '')" for t in (listed, *texts) if t != _NULL))
    if listed == _NULL:
        return found
    own = (f"list_filter(regexp_split_to_array(coalesce({listed}, ''), {_SEPARATORS}), "
           f"lambda r: regexp_full_match(r, {_LISTED_REF_SQL}))")
    return f"list_concat({own}, {found})"


# The per-record mappers these mappings replaced read some fields with Python that fails on
# a value of another type (`author.get(...)` on a string, a number searched for refs, `"@" in`
# a number): such a record was a reject, with Python's own error. These guards give the same
# reject (the same error, raised by the same operation on a value of the same type) and
# otherwise None; their SQL is NULL where the value is of the expected type.
_SEARCH = re.compile("x")


def of_type(text: str, json_type: str) -> Any:
    """A value of the Python type json.loads gives for a truthy value of this JSON type."""
    if json_type == "number":
        return 1 if re.fullmatch(r"-?[0-9]+", text) else 1.0
    return {"boolean": True, "array": [0], "object": {0: 0}}.get(json_type, text)


def refuse_unsearchable(*pairs: str | None) -> None:
    """(truthy text, JSON type) pairs: the first that is not a string fails as RefFinder.find
    failed on it."""
    for text, json_type in zip(pairs[::2], pairs[1::2]):
        if text is not None and json_type not in (None, "string", "null"):
            _SEARCH.search(of_type(text, json_type))


def refuse_ungettable(gate: str | None, text: str | None, json_type: str | None) -> None:
    """A truthy value that is not an object fails as `.get` on it failed (unless `gate` is
    empty: the record or item gives no event, and the value was never read)."""
    if gate not in (None, "") and text is not None and json_type not in (None, "object", "null"):
        of_type(text, json_type).get  # noqa: B018 (raises, as the mapper did)


def _types_are(allowed: tuple[str, ...], types: list[str]) -> str:
    kinds = ", ".join(lit(k) for k in allowed)
    return " AND ".join(f"coalesce({t}, 'null') IN ({kinds})" for t in types) or "true"


@dataclass(frozen=True)
class Transform:
    python: Callable                 # (*values) -> value; with_ctx: (ctx, *values)
    returns: str = "VARCHAR"
    sql: Callable | None = None      # (ctx, *argument SQL) -> SQL, exact where `exact` holds
    exact: Callable | None = None    # (ctx, *argument SQL) -> SQL boolean
    distinct: bool = False           # few distinct values: the UDF runs once per value
    with_ctx: bool = False
    post: str | None = None          # SQL applied to the result column ({col}), on both branches


TRANSFORMS: dict[str, Transform] = {
    "event_kind": Transform(event_kind, distinct=True),
    "to_sev": Transform(to_sev, distinct=True),
    # Python's strip() knows more whitespace than ASCII's: text holding it goes through Python
    "first_line": Transform(first_line, sql=lambda _c, t, n: cut_line_sql(first_line_sql(t), int(n)),
                            exact=lambda _c, t, _n: f"NOT coalesce(regexp_matches({t}, {lit(ODD_TEXT)}), false)"),
    # RE2's \w, \s, \b are ASCII, Python's are not: non-ASCII text goes through Python
    "listed_and_found_refs": Transform(listed_and_found_refs, returns="VARCHAR[]", with_ctx=True,
                                       sql=_listed_and_found_sql, exact=lambda _c, *a: _ascii(*a),
                                       post=unique_sql("{col}")),
    "own_and_found_refs": Transform(own_and_found_refs, returns="VARCHAR[]", with_ctx=True, sql=_own_and_found_sql,
                                    exact=lambda c, _own, *texts: " AND ".join(
                                        f"NOT {odd_ref_text_sql(c.refs, t)}" for t in texts if t != _NULL) or "true",
                                    post=unique_sql("{col}")),
    "concat": Transform(concat, sql=lambda _c, *parts: "(" + " || ".join(parts) + ")", exact=lambda *_a: "true"),
    "if_equal": Transform(lambda a, b, then: then if a == b else None, exact=lambda *_a: "true",
                          sql=lambda _c, a, b, then: f"CASE WHEN {a} = {b} THEN {then} END"),
    "as_list": Transform(lambda v: [v], returns="VARCHAR[]", sql=lambda _c, v: f"[{v}]", exact=lambda *_a: "true"),
    "str_or_none": Transform(lambda v: "None" if v is None else v, sql=lambda _c, v: f"coalesce({v}, 'None')",
                             exact=lambda *_a: "true"),
    # (a field's json and type) an object as attrs write it; anything else is an empty one
    "object_json_or_empty": Transform(lambda value, kind: value if kind == "object" else "{}", exact=lambda *_a: "true",
                                      sql=lambda _c, v, k: f"CASE WHEN {k} = 'object' THEN {v} ELSE '{{}}' END"),
    "refuse_unsearchable": Transform(refuse_unsearchable, sql=lambda *_a: _NULL,
                                     exact=lambda _c, *a: _types_are(("string", "null"), list(a[1::2]))),
    "refuse_ungettable": Transform(refuse_ungettable, sql=lambda *_a: _NULL,
                                   exact=lambda _c, gate, _t, y: f"({_types_are(('object', 'null'), [y])} "
                                                                 f"OR coalesce({gate}, '') = '')"),
    "without_dots": Transform(lambda t: None if t is None else t.replace(".", ""),
                              sql=lambda _c, t: f"replace({t}, '.', '')", exact=lambda *_a: "true"),
}
