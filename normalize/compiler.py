"""A mapping (normalize.mappings) compiled to one DuckDB query over the raw table.

Each payload is parsed once (one `json_extract` of every mapped path); a field holding a
string, an integer or null is rendered in SQL, any other value (and every field of a
payload DuckDB would read otherwise than `json.loads`: a trailing comma, NaN, a control
character, a repeated key, deep nesting) by the Python of `transforms.render`, registered
as a UDF over Arrow arrays. Transforms likewise: SQL where SQL is exact, the Python
function on the other rows. Every record of the mapped stream leaves the query as a draft
or as a reject (field, reason); none goes to another path.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from incident_timeline.contract.text import without_surrogates

from .sql import lit, odd_json_sql, sorted_keys_sql, string_map_sql
from .mapping import Context
from .mappings import Attrs, Call, Const, Json, Mapping, OmitNone, Or, Parent, Present, Rule, Value
from .schema import DRAFT_SCHEMA
from .transforms import MISSING, TRANSFORMS, lookup, render

NULL = "NULL::VARCHAR"
_PLAIN_KEY = r'[^"\\\x00-\x1f]+'
_PLAIN_JSON_STRING = r'[^"\\\x00-\x1f]*'
_ARROW_TYPES = {"VARCHAR": pa.string(), "VARCHAR[]": pa.list_(pa.string())}
# What a transform's Python returns when it raises (the record is a reject): a shape it did
# not expect ("E" and the error), or nesting too deep ("D")
_FAILED = "\x00"
_SHAPE_ERRORS = (AttributeError, KeyError, TypeError, ValueError, IndexError, OverflowError)
_DUCK_TYPES = {"VARCHAR": duckdb.sqltype("VARCHAR"), "VARCHAR[]": duckdb.list_type("VARCHAR")}
BATCH_ROWS = 32_768


def run_mapping(raw: pa.Table, mapping: Mapping, ctx: Context) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """(drafts of the mapped streams' records, rejects as (raw row, field, reason))."""
    parts, rejects, rejected = [], [], set()
    for rule in mapping.rules:
        drafts, failed = _run_rule(raw, mapping, rule, ctx)
        parts.append(drafts)
        for reject in failed:   # a record two rules read and both reject: the first rule's reject
            if reject[0] not in rejected:
                rejected.add(reject[0])
                rejects.append(reject)
    drafts = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    if len(parts) > 1:   # raw order, the drafts of one record in their rules' order
        if rejected:     # a record one rule rejects gives no draft of another
            drafts = drafts.filter(pc.invert(pc.is_in(drafts["src"], pa.array(sorted(rejected), pa.int64()))))
        drafts = drafts.take(pc.sort_indices(drafts["src"]))
    return drafts, rejects


def register_raw(con: duckdb.DuckDBPyConnection, raw: pa.Table) -> None:
    """`raw` as the view (stream, parent_id, payload, rid), rid being the row number, in
    batches, so that DuckDB scans them on every core."""
    raw = raw.select(["stream", "parent_id", "payload"]).append_column(
        "rid", pa.array(np.arange(raw.num_rows, dtype=np.int64)))
    con.register("raw", pa.Table.from_batches(raw.to_batches(max_chunksize=BATCH_ROWS), raw.schema))


def _run_rule(raw: pa.Table, mapping: Mapping, rule: Rule, ctx: Context) -> tuple[pa.Table, list]:
    query = _Query(mapping, rule, ctx)
    sql = query.sql()
    con, lock, relation, holder = _connection(sql, query.udfs, query.holder, query.bound)
    with lock:
        holder["ctx"] = ctx   # the UDFs of a kept connection read this run's entities and refs
        register_raw(con, raw)
        try:
            rows = relation[0].to_arrow_table() if relation else _bound(con, sql, relation)
        finally:
            con.unregister("raw")
    rids = rows["rid"].to_numpy()
    if rule.each is not None or (len(rids) > 1 and (np.diff(rids) < 0).any()):   # DuckDB keeps scan order
        rows = rows.take(pc.sort_indices(rows, [("rid", "ascending"), ("item_no", "ascending")]))
    failed = rows["reject_field"].is_valid()
    rejects: list[tuple[int, str, str]] = []
    drafts = rows.filter(rows["emit"])
    if pc.any(failed).as_py():
        picked = rows.filter(failed)
        seen: set = set()
        for rid, field, reason in zip(picked["rid"].to_pylist(), picked["reject_field"].to_pylist(),
                                      picked["reject_reason"].to_pylist()):
            if rid not in seen:   # a record with a failing item is one reject, its first
                seen.add(rid)
                rejects.append((rid, field, reason))
        drafts = drafts.filter(pc.invert(pc.is_in(drafts["rid"], pa.array(sorted(seen), drafts["rid"].type))))
    drafts = drafts.append_column("src", drafts["rid"].cast(pa.int64()))
    columns = [drafts[c] if c in drafts.column_names else pa.nulls(drafts.num_rows, DRAFT_SCHEMA.field(c).type)
               for c in DRAFT_SCHEMA.names]
    return pa.table(columns, schema=DRAFT_SCHEMA), rejects


# A connection per compiled query, its UDFs registered and its relation built once (a
# relation reads the `raw` registered when it runs): opening, registering and binding cost
# more than mapping a few hundred records. Keyed by the SQL text, which holds everything
# the UDFs depend on (the mapping's columns and constants, the ref patterns) but the
# context (entities) they read from the holder kept with them, and the constants bound into
# a transform's UDF rather than written into the SQL (one source's `repositories:` or
# `channels:` must not answer for another's).
_CONNECTIONS: OrderedDict = OrderedDict()   # sql -> (connection, lock, [relation], {"ctx": ctx})
_KEPT = 8
_GUARD = threading.Lock()


def _bound(con: duckdb.DuckDBPyConnection, sql: str, relation: list) -> pa.Table:
    relation.append(con.sql(sql))
    return relation[0].to_arrow_table()


def _connection(sql: str, udfs: dict, holder: dict, bound: tuple = ()) -> tuple:
    key = (sql, bound)
    with _GUARD:
        if key in _CONNECTIONS:
            _CONNECTIONS.move_to_end(key)
            return _CONNECTIONS[key]
        # No filter pushdown: it copies the expressions a filter reads (a transform's UDF
        # among them) below the projection that computes them, which then run twice. One
        # thread: the UDFs hold the GIL anyway, and a second worker's vectors of these wide
        # rows cost 20-100 MB of peak RSS for no time saved (50k-record ingests, measured).
        con = duckdb.connect(config={"disabled_optimizers": "filter_pushdown", "threads": 1})
        for name, (fn, params, returns) in udfs.items():
            con.create_function(name, fn, params, _DUCK_TYPES[returns], type="arrow", null_handling="special")
        _CONNECTIONS[key] = (con, threading.Lock(), [], holder)
        while len(_CONNECTIONS) > _KEPT:
            _CONNECTIONS.popitem(last=False)[1][0].close()
        return _CONNECTIONS[key]


class _Query:
    def __init__(self, mapping: Mapping, rule: Rule, ctx: Context):
        self.mapping, self.rule, self.ctx = mapping, rule, ctx
        self.holder = {"ctx": ctx}
        self.udfs: dict[str, tuple] = {}
        self._calls: dict[tuple, str] = {}          # (transform, argument SQL, shape) -> its UDF
        self._bound: list[str] = []                 # the constants bound into UDFs, as repr
        self.fields = {f.name: (i, f) for i, f in enumerate(rule.fields)}
        self.paths: list[str] = []
        self.item_paths: list[str] = []
        self.errors: list[tuple[str, bool]] = []    # (column, is a list) of each call made in Python
        self._listed: set[str] = set()
        self.args: list[tuple[str, str]] = []     # (column, SQL) of the calls and their arguments, in order
        self.modes = _modes(rule)                   # field name -> the renderings the mapping reads
        self.depth: dict[str, int] = {}             # argument column -> its stage
        self._reading: list[set] = []               # the columns each argument being built reads
        self._stages = 1

    @property
    def bound(self) -> tuple[str, ...]:
        return tuple(self._bound)

    # ------------------------------------------------------------------ fields
    def _paths(self, column: str, flat: bool = False) -> list[str] | None:
        """JSON paths of a column: its exact key, then (dotted, not `flat`) the nested walk;
        None when the name cannot be written as a JSON path (such a field is read in Python)."""
        parts = [column] if flat else column.split(".")
        if not re_full(_PLAIN_KEY, column) or not all(re_full(_PLAIN_KEY, p) for p in parts):
            return None
        return [f'$."{column}"'] + ([_path(parts)] if len(parts) > 1 else [])

    def _value_sql(self, paths: list[str], of_item: bool) -> tuple[str, str]:
        """(the JSON text of the value, its string value) from the extracted lists: the
        first path present, as `lookup` takes it."""
        at, into, j = [], self.item_paths if of_item else self.paths, "ij" if of_item else "j"
        for path in paths:
            into.append(path)
            at.append(len(into))
        if len(at) == 1:
            return f"{j}[{at[0]}]", f"{j}s[{at[0]}]"
        return (f"CASE WHEN {j}[{at[0]}] IS NOT NULL THEN {j}[{at[0]}] ELSE {j}[{at[1]}] END",
                f"CASE WHEN {j}[{at[0]}] IS NOT NULL THEN {j}s[{at[0]}] ELSE {j}s[{at[1]}] END")

    def _objects(self) -> list[str]:
        """JSON paths of the objects a mapped column is looked up in (a key twice in one of
        them reads otherwise in DuckDB, which keeps the first, than in Python)."""
        out = {"$"}
        for f in self.rule.fields:
            if f.of_item or f.flat:
                continue
            parts = f.column.split(".")
            out |= {_path(parts[:n]) for n in range(1, len(parts)) if all(re_full(_PLAIN_KEY, p) for p in parts[:n])}
        return sorted(out)

    def _udf(self, prefix: str, fn, params: list[str], returns: str = "VARCHAR") -> str:
        name = f"{prefix}_{len(self.udfs)}"
        self.udfs[name] = (fn, params, returns)
        return name

    def _fields(self) -> tuple[list[str], list[str]]:
        """(the JSON value and string value of each field, then its state, text and truthy
        text): a string, null or integer in SQL, any other value in Python."""
        values, cols = [], []
        for i, f in self.fields.values():
            modes = self.modes.get(f.name, set())
            each = self.rule.each if f.of_item else None
            params, of = (["VARCHAR", "VARCHAR"], "payload, item_no::VARCHAR") if each else (["VARCHAR"], "payload")
            state_py = self._udf("py_state", _state_udf(f.column, each, f.flat), params)
            text_py = self._udf("py_text", _render_udf(f.column, "text", each, f.flat), params)
            truthy_py = self._udf("py_truthy", _render_udf(f.column, "truthy", each, f.flat), params)
            json_py = self._udf("py_json", _render_udf(f.column, "json", each, f.flat), params)
            type_py = self._udf("py_type", _render_udf(f.column, "type", each, f.flat), params)
            paths = self._paths(f.column, f.flat)
            if f.of_item and (paths is None or "." in f.column):
                raise ValueError(f"{self.mapping.source_type}: an item's field is a plain key, not {f.column!r}")
            if paths is None:
                cols += [f"{state_py}({of}) AS s{i}"] + (["NULL::VARCHAR AS t{i}"] if "text" not in modes else
                                                         [f"{text_py}({of}) AS t{i}"])
                cols += [f"NULL::VARCHAR AS b{i}"] if "truthy" not in modes else [f"{truthy_py}({of}) AS b{i}"]
                cols += [f"NULL::VARCHAR AS o{i}"] if "json" not in modes else [f"{json_py}({of}) AS o{i}"]
                cols += [f"NULL::VARCHAR AS y{i}"] if "type" not in modes else [f"{type_py}({of}) AS y{i}"]
                continue
            v, w = self._value_sql(paths, f.of_item)
            values += [f"({v})::VARCHAR AS v{i}", f"{w} AS w{i}", f"left(({v})::VARCHAR, 1) AS c{i}"]
            v, w, c = f"v{i}", f"w{i}", f"c{i}"
            simple = (f"(NOT slow AND CASE WHEN {v} IS NULL OR {c} IN ('\"', 'n') THEN true "
                      f"ELSE regexp_full_match({v}, '-?[0-9]+') END)")
            cols += [
                f"CASE WHEN slow THEN {state_py}({of}) WHEN {v} IS NULL THEN 'missing' "
                f"WHEN {c} = 'n' OR ({c} = '\"' AND {w} = '') THEN 'empty' ELSE 'ok' END AS s{i}",
                f"CASE WHEN NOT {simple} THEN {text_py}({of}) WHEN {c} = '\"' THEN {w} WHEN {c} = 'n' THEN NULL "
                f"WHEN {v} = '-0' THEN '0' ELSE {v} END AS t{i}" if "text" in modes else f"NULL::VARCHAR AS t{i}",
                f"CASE WHEN NOT {simple} THEN {truthy_py}({of}) WHEN {c} = '\"' THEN nullif({w}, '') "
                f"WHEN {c} = 'n' OR {v} IN ('0', '-0') THEN NULL ELSE {v} END AS b{i}" if "truthy" in modes
                else f"NULL::VARCHAR AS b{i}",
                # an object of plain strings, keys sorted and distinct, DuckDB writes as attrs do
                f"CASE WHEN NOT slow AND {c} = '{{' AND NOT contains({v}, '\\') AND {string_map_sql(v)} AND "
                f"{sorted_keys_sql(f'json_keys({v})')} THEN {v} "
                f"WHEN NOT {simple} THEN {json_py}({of}) WHEN {c} = '\"' THEN {self._json_string(w)} "
                f"WHEN {c} = 'n' THEN 'null' WHEN {v} = '-0' THEN '0' ELSE {v} END AS o{i}" if "json" in modes
                else f"NULL::VARCHAR AS o{i}",
                f"CASE WHEN slow THEN {type_py}({of}) WHEN {v} IS NULL THEN NULL ELSE CASE {c} WHEN '{{' THEN 'object' "
                f"WHEN '[' THEN 'array' WHEN '\"' THEN 'string' WHEN 'n' THEN 'null' WHEN 't' THEN 'boolean' "
                f"WHEN 'f' THEN 'boolean' ELSE 'number' END END AS y{i}" if "type" in modes else f"NULL::VARCHAR AS y{i}"]
        return values, cols

    def _rejects(self) -> list[tuple[str, str, str]]:
        """(condition, field, reason) of a row's rejects, in the order the oracle meets
        them; the draft's expressions are compiled after (see sql)."""
        m, rule = self.mapping, self.rule
        checks = [("payload_problem IS NOT NULL", "'payload'", "payload_problem")]
        if m.config_problem:
            checks.append(("true", lit(m.config_problem[0]), lit(m.config_problem[1])))
        record = [(i, f) for i, f in self.fields.values() if not f.of_item]
        items = [(i, f) for i, f in self.fields.values() if f.of_item]
        for i, f in record:
            if f.required:
                checks.append((f"s{i} = 'missing'", lit(f.column), lit(f"mapped field {f.name} ({f.column}) is missing")))
            if f.not_empty:
                checks.append((f"s{i} = 'empty'", lit(f.column), lit(f"mapped field {f.name} ({f.column}) is empty")))
        deep = "'payload'", "stream || ' record is nested too deep to read'"
        if record:
            checks.append((" OR ".join(f"s{i} = 'deep'" for i, _f in record), *deep))
        for check in rule.checks:
            if any(isinstance(x, Value) and self.fields.get(x.name, (0, None))[1] and self.fields[x.name][1].of_item
                   for x in _walk(check.expr)):
                raise ValueError(f"{m.source_type}: a check reads the record, not its items")
            sql = self._expr(check.expr)
            checks += self._failures()
            checks.append((f"coalesce({sql}, '') = ''", lit(check.field), lit(check.reason)))
        if rule.each is not None:
            checks.append(("bad_items", lit(rule.each), lit("not a list of objects")))
        if items:
            checks.append((" OR ".join(f"s{i} = 'deep'" for i, _f in items), *deep))
        return checks

    def _failures(self) -> list[tuple[str, str, str]]:
        """The rejects of the calls made in Python since the last time asked: a real
        item's (or the record's) call that raised."""
        out = []
        for column, is_list in self.errors:
            if column in self._listed:
                continue
            self._listed.add(column)
            value = f"{column}[1]" if is_list else column
            out.append((f"item_no < n_items AND starts_with(coalesce({value}, ''), {lit(_FAILED)})", "'payload'",
                        f"CASE WHEN {value} = {lit(_FAILED + 'D')} THEN stream || ' record is nested too deep to read' "
                        f"ELSE 'unexpected shape in ' || stream || ': ' || substr({value}, 3) END"))
        return out

    def sql(self) -> str:
        rule = self.rule
        values, field_cols = self._fields()
        checks = self._rejects()
        draft = [(column, self._expr(e)) for column, e in rule.draft.items()]
        keep = self._expr(rule.keep) if rule.keep is not None else None
        checks += self._failures()
        reject_field = "CASE " + " ".join(f"WHEN {c} THEN {f}" for c, f, _r in checks) + " END"
        reject_reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, _f, r in checks) + " END"
        emit = "reject_field IS NULL AND item_no < n_items" + (f" AND coalesce({keep}, '') <> ''" if keep else "")
        posts = {column: TRANSFORMS[e.transform].post for column, e in rule.draft.items()
                 if isinstance(e, Call) and TRANSFORMS[e.transform].post}
        payload_py = self._udf("py_payload", _distinctless(_payload_problem, 2), ["VARCHAR", "VARCHAR"])
        objects = self._objects()
        paths = "[" + ", ".join(lit(p) for p in self.paths or ['$."\x01"']) + "]"
        keys = "".join(f", CASE WHEN NOT odd THEN try(json_keys(payload, {lit(o)})) END AS k{n}"
                       for n, o in enumerate(objects))
        repeated = " OR ".join(f"coalesce(list_bool_or(list_transform(k{n}, lambda x, i: list_position(k{n}, x) <> i)), "
                               f"false)" for n in range(len(objects)))
        deep_text = ("(strlen(payload) > 1000 AND strlen(payload) - "
                     "strlen(replace(replace(payload, '{', ''), '[', '')) > 400)")
        odd = f"({odd_json_sql('payload')} OR regexp_matches(payload, '[\\x00-\\x1f]') OR {deep_text})"
        outer = ", ".join(posts[c].replace("{col}", c) + f" AS {c}" if c in posts else c for c, _sql in draft)
        stages = [
            f"r AS (SELECT rid, stream, parent_id, payload, {odd} AS odd FROM raw "
            f"WHERE stream IN ({', '.join(lit(x) for x in rule.streams)}))",
            f"p AS (SELECT *, CASE WHEN NOT odd THEN try(json_extract(payload, {paths})) END AS j, "
            f"CASE WHEN NOT odd THEN try(json_extract_string(payload, {paths})) END AS js{keys} FROM r)",
            f"q AS (SELECT *, CASE WHEN j IS NULL OR NOT regexp_matches(payload, '^[ \\t\\n\\r]*[{{]') THEN true "
            f"ELSE {repeated} END AS slow FROM p)",
            *self._item_stages(),
            f"g AS (SELECT *{''.join(', ' + v for v in values)} FROM {'y' if rule.each else 'q'})",
            f"f AS (SELECT rid, stream, parent_id, payload, "
            f"{'item_no, n_items, bad_items' if rule.each else '0 AS item_no, 1 AS n_items'}, "
            f"CASE WHEN slow THEN {payload_py}(stream, payload) END AS payload_problem"
            + "".join(f",\n  {c}" for c in field_cols) + " FROM g)",
            *self._argument_stages(),
            f"v AS (SELECT *, {reject_field} AS reject_field, {reject_reason} AS reject_reason FROM a{self._stages - 1})",
            f"e AS (SELECT *, {emit} AS emit FROM v)",
            "d AS (SELECT rid, item_no, emit, reject_field, reject_reason,\n  "
            + ",\n  ".join(f"CASE WHEN emit THEN {sql} END AS {c}" for c, sql in draft)
            + " FROM e WHERE emit OR reject_field IS NOT NULL)"]
        return ("WITH " + ",\n".join(stages)
                + f"\nSELECT rid, item_no, emit, reject_field, reject_reason, {outer} FROM d")

    def _item_stages(self) -> list[str]:
        """A row per item of the rule's `each` list (one, with no item, for a record with
        none): its JSON and its fields' (a repeated key in an item: the record is read in
        Python)."""
        each = self.rule.each
        if each is None:
            return []
        count_py = self._udf("py_items", _distinctless(_item_count(each)), ["VARCHAR"])
        bad_py = self._udf("py_bad_items", _distinctless(_bad_items(each)), ["VARCHAR"])
        path = lit(_path(each.split(".")))
        item_paths = "[" + ", ".join(lit(p) for p in self.item_paths or ['$."\x01"']) + "]"
        dup = "(json_type(it) = 'OBJECT' AND len(json_keys(it)) <> len(list_distinct(json_keys(it))))"
        return [
            f"i0 AS (SELECT * EXCLUDE (slow), CASE WHEN NOT slow THEN CASE WHEN json_type(payload, {path}) = 'ARRAY' "
            f"THEN json_extract(payload, {lit(_path(each.split('.')) + '[*]')}) ELSE []::JSON[] END END AS its, "
            f"slow FROM q)",
            f"i1 AS (SELECT * EXCLUDE (slow), slow OR coalesce(list_bool_or(list_transform(its, lambda it: {dup})), false) "
            f"AS slow FROM i0)",
            f"i2 AS (SELECT *, CASE WHEN slow THEN coalesce(TRY_CAST({count_py}(payload) AS BIGINT), 0) "
            f"ELSE len(its) END AS n_items, "
            f"CASE WHEN slow OR json_type(payload, {path}) NOT IN ('ARRAY', 'NULL') THEN {bad_py}(payload) = 'bad' "
            f"ELSE coalesce(list_bool_or(list_transform(its, lambda it: json_type(it) <> 'OBJECT')), false) END "
            f"AS bad_items FROM i1)",
            "i3 AS (SELECT *, unnest(range(greatest(n_items, 1))) AS item_no FROM i2)",
            f"y AS (SELECT *, CASE WHEN NOT slow AND item_no < n_items THEN "
            f"try(json_extract(its[item_no + 1], {item_paths})) END AS ij, "
            f"CASE WHEN NOT slow AND item_no < n_items THEN try(json_extract_string(its[item_no + 1], {item_paths})) END "
            f"AS ijs FROM i3)"]

    def _argument_stages(self) -> list[str]:
        """The calls and their arguments, a stage per depth (a call reads the columns of
        the stages before it)."""
        self._stages = max(self.depth.values(), default=-1) + 2
        out = []
        for n in range(self._stages):
            cols = "".join(f", {sql} AS {name}" for name, sql in self.args if self.depth[name] == n)
            out.append(f"a{n} AS (SELECT *{cols} FROM {'f' if n == 0 else f'a{n - 1}'})")
        return out

    # ------------------------------------------------------------- expressions
    def _expr(self, e: Any) -> str:
        if isinstance(e, Value):
            if e.name not in self.fields:
                return NULL
            i = self.fields[e.name][0]
            if e.as_ == "object":   # the payload, for the transform's Python to read the value in
                return f"CASE WHEN s{i} = 'ok' THEN payload END"
            return {"truthy": f"b{i}", "json": f"o{i}", "type": f"y{i}"}.get(e.as_, f"t{i}")
        if isinstance(e, Const):
            return NULL if e.value is None else lit(e.value) if isinstance(e.value, str) else str(e.value)
        if isinstance(e, Parent):
            return "parent_id"
        if isinstance(e, Or):
            parts = [p for p in (self._expr(x) for x in e.exprs[:-1]) if p != NULL] + [self._expr(e.exprs[-1])]
            if len(parts) == 1:
                return parts[0]
            return "coalesce(" + ", ".join([f"nullif({p}, '')" for p in parts[:-1]] + [parts[-1]]) + ")"
        if isinstance(e, Present):
            return (f"CASE WHEN coalesce({self._expr(e.expr)}, '') <> '' THEN {self._expr(e.then)} "
                    f"ELSE {self._expr(e.otherwise)} END")
        if isinstance(e, Attrs):
            parts = []
            for k, x in e.items:
                key = lit("," + json.dumps(k, ensure_ascii=False) + ":")
                inner = x.expr if isinstance(x, OmitNone) else x
                value = (f"coalesce({self._expr(inner.expr)}, 'null')" if isinstance(inner, Json)
                         else self._json_string(self._expr(inner)))
                if isinstance(x, OmitNone):
                    parts.append(f"CASE WHEN {self._expr(x.expr.expr if isinstance(x.expr, Json) else x.expr)} "
                                 f"IS NULL THEN '' ELSE {key} || {value} END")
                else:
                    parts.append(f"{key} || {value}")
            return f"'{{' || substr({' || '.join(parts)}, 2) || '}}'" if parts else "'{}'"
        if isinstance(e, Call):
            return self._argument(e)
        raise TypeError(f"not a mapping expression: {e!r}")

    def _json_string(self, sql: str) -> str:
        py = self._udf("py_json", _distinctless(lambda v: json.dumps(v, ensure_ascii=False)), ["VARCHAR"])
        return (f"CASE WHEN {sql} IS NULL THEN 'null' WHEN regexp_full_match({sql}, {lit(_PLAIN_JSON_STRING)}) "
                f"THEN '\"' || {sql} || '\"' ELSE {py}({sql}) END")

    def _call(self, e: Call) -> str:
        t = TRANSFORMS[e.transform]
        args = [self._argument(a) for a in e.args]
        shape = [("const", a.value) if isinstance(a, Const) else
                 ("object", (self.fields[a.name][1].column, self.fields[a.name][1].flat))
                 if isinstance(a, Value) and a.as_ == "object" else
                 ("value", None) for a in e.args]
        py_args = [a for a, (kind, _v) in zip(args, shape) if kind != "const"]
        # the same call (transform, arguments) read by several expressions is one UDF, so
        # its column is computed once (see _argument), not once per expression reading it
        key = (e.transform, tuple(args), tuple(map(repr, shape)))
        udf = self._calls.get(key)
        if udf is None:
            fn = (lambda *xs, _f=t.python, _h=self.holder: _f(_h["ctx"], *xs)) if t.with_ctx else t.python
            # the constants it binds are named in the UDF's name, so the SQL text that keys the
            # cached connections (_CONNECTIONS) differs when they do (a source's own mapping)
            bound = [v for kind, v in shape if kind == "const"]
            tag = "_" + hashlib.sha256(repr(bound).encode()).hexdigest()[:12] if bound else ""
            udf = self._calls[key] = self._udf(f"py_{e.transform}{tag}", _transform_udf(fn, shape, t.returns, t.distinct),
                                               ["VARCHAR"] * len(py_args), t.returns)
            self._bound += [f"{udf}={v!r}" for kind, v in shape if kind == "const"]
        in_python = f"{udf}({', '.join(py_args)})"
        if t.sql is None:
            return in_python
        return f"CASE WHEN {t.exact(self.ctx, *args)} THEN {t.sql(self.ctx, *args)} ELSE {in_python} END"

    def _argument(self, e: Any) -> str:
        """A call, or a call's argument: a constant as it is, anything else a column of
        its own (a transform's SQL reads its arguments several times; a call is made once
        however many expressions read it), computed a stage after the columns it reads."""
        if isinstance(e, Const):
            return self._expr(e)
        self._reading.append(set())
        try:
            sql = self._call(e) if isinstance(e, Call) else self._expr(e)
        finally:
            read = self._reading.pop()
        if sql == NULL:
            return sql
        name = next((name for name, known in self.args if known == sql), None)
        if name is None:
            name = f"x{len(self.args)}"
            self.args.append((name, sql))
            self.depth[name] = 1 + max((self.depth[r] for r in read), default=-1)
            if isinstance(e, Call):
                self.errors.append((name, TRANSFORMS[e.transform].returns != "VARCHAR"))
        if self._reading:
            self._reading[-1].add(name)
        return name


def _children(e: Any) -> tuple:
    if isinstance(e, Call):
        return e.args
    if isinstance(e, Or):
        return e.exprs
    if isinstance(e, Present):
        return (e.expr, e.then, e.otherwise)
    if isinstance(e, Attrs):
        return tuple(x for _k, x in e.items)
    if isinstance(e, (Json, OmitNone)):
        return (e.expr,)
    return ()


def _walk(e: Any):
    yield e
    for child in _children(e):
        yield from _walk(child)


def _calls(e: Any) -> bool:
    return any(isinstance(x, Call) for x in _walk(e))


def _modes(rule: Rule) -> dict[str, set]:
    out: dict[str, set] = {}
    for e in [*rule.draft.values(), *(c.expr for c in rule.checks), rule.keep]:
        for x in _walk(e):
            if isinstance(x, Value):
                out.setdefault(x.name, set()).add(x.as_)
    return out


def _path(parts: list[str]) -> str:
    return ".".join(["$"] + [f'"{p}"' for p in parts])


def re_full(pattern: str, text: str) -> bool:
    import re

    return re.fullmatch(pattern, text) is not None


# ------------------------------------------------------------------ the UDFs
def _loads(payload: str | None) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, TypeError, RecursionError):
        return None


_PARSED: dict = {}       # payload text -> json.loads of it, shared by the fields' UDFs of a chunk
_PARSED_KEPT = 4_096


def _parsed(payload: str | None) -> Any:
    """_loads(payload), parsed once for all the field UDFs that read the same rows (each
    runs over the same chunk in turn). The values are only read (lookup, render), never
    changed, so they can be shared."""
    try:
        return _PARSED[payload]
    except KeyError:
        pass
    except TypeError:
        return None
    if len(_PARSED) >= _PARSED_KEPT:
        _PARSED.clear()
    value = _PARSED[payload] = _loads(payload)
    return value


def _payload_problem(stream: str | None, payload: str | None) -> str | None:
    try:
        value = json.loads(payload)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg}"
    except RecursionError:
        return f"{stream} record is nested too deep to read"
    return None if isinstance(value, dict) else "not a JSON object"


def _item(row: Any, each: str | None, item_no: str | None) -> Any:
    """The record itself, or (`each`) its item `item_no` ({} for none, or one not an object)."""
    if each is None:
        return row
    items = lookup(row, each)
    n = int(item_no or 0)
    item = items[n] if isinstance(items, list) and n < len(items) else None
    return item if isinstance(item, dict) else {}


def _item_count(each: str):
    def count(payload: str | None) -> str:
        row = _loads(payload)
        items = lookup(row, each) if isinstance(row, dict) else None
        return str(len(items)) if isinstance(items, list) else "0"
    return count


def _bad_items(each: str):
    def bad(payload: str | None) -> str | None:
        row = _loads(payload)
        items = lookup(row, each) if isinstance(row, dict) else MISSING
        if items is MISSING or not items or (isinstance(items, list) and all(isinstance(i, dict) for i in items)):
            return None
        return "bad"
    return bad


def _state_udf(column: str, each: str | None = None, flat: bool = False):
    def state(payload: str | None, item_no: str | None = None) -> str | None:
        row = _parsed(payload)
        if not isinstance(row, dict):
            return None
        value = lookup(_item(row, each, item_no), column, flat)
        if value is MISSING:
            return "missing"
        try:
            str(value)
        except RecursionError:
            return "deep"
        return "empty" if value in (None, "") else "ok"
    return _distinctless(state, 2 if each else 1)


def _render_udf(column: str, as_: str, each: str | None = None, flat: bool = False):
    def rendered(payload: str | None, item_no: str | None = None) -> str | None:
        row = _parsed(payload)
        if not isinstance(row, dict):
            return None
        try:
            return render(lookup(_item(row, each, item_no), column, flat), as_)
        except RecursionError:
            return None
    return _distinctless(rendered, 2 if each else 1)


def _distinctless(fn, arity: int = 1):
    """fn over VARCHAR columns, row by row."""
    def udf(*columns: pa.Array) -> pa.Array:
        return _arrow([fn(*v) for v in zip(*(c.to_pylist() for c in columns))], pa.string())
    return _arity(arity, udf)


def _object_of(column: str, flat: bool = False):
    """The value at `column` of a payload (an "object" argument), as the oracle reads it."""
    def read(payload: str | None) -> Any:
        row = _loads(payload)
        value = lookup(row, column, flat) if isinstance(row, dict) else MISSING
        return None if value is MISSING else value
    return read


def _transform_udf(fn, shape: list[tuple[str, Any]], returns: str, distinct: bool):
    """fn over its non-constant arguments' columns (constants bound; an object argument
    read from its payload), once per distinct tuple of values when `distinct`."""
    out_type = _ARROW_TYPES[returns]

    def guarded(*values):
        """fn's answer, or what says it raised (the record is a reject on both paths)."""
        try:
            return fn(*values)
        except RecursionError:
            failed = _FAILED + "D"
        except _SHAPE_ERRORS as exc:
            failed = f"{_FAILED}E{type(exc).__name__}: {exc}"
        return [failed] if returns != "VARCHAR" else failed
    readers = [_object_of(*v) if kind == "object" else None for kind, v in shape if kind != "const"]

    def call(*columns: pa.Array) -> pa.Array:
        lists = iter([c.to_pylist() if read is None else [read(p) if p is not None else None for p in c.to_pylist()]
                      for c, read in zip(columns, readers)])
        rows = (zip(*[[v] * len(columns[0]) if kind == "const" else next(lists) for kind, v in shape])
                if columns else iter(()))
        if distinct and not any(readers):
            seen: dict = {}
            out = [seen[r] if r in seen else seen.setdefault(r, guarded(*r)) for r in rows]
        else:
            out = [guarded(*r) for r in rows]
        return _arrow(out, out_type)
    return _arity(sum(kind != "const" for kind, _v in shape), call)


def _arrow(values: list, type_: pa.DataType) -> pa.Array:
    """values as an Arrow array; a lone surrogate (which UTF-8 cannot hold, so Arrow
    refuses it) as U+FFFD: searched for only when Arrow refuses, not in every value."""
    try:
        return pa.array(values, type_)
    except UnicodeEncodeError:
        return pa.array(without_surrogates(values), type_)


def _arity(n: int, fn):
    """fn(*columns) as a function of n parameters: DuckDB counts a UDF's parameters."""
    names = ", ".join(f"c{i}" for i in range(n))
    return eval(f"lambda {names}: fn({names})", {"fn": fn})   # noqa: S307 (names built here, no data)
