"""Jira changelog histories (one event per item) and comments mapped in DuckDB, a column at a time.

Mirrors `normalize.mappers.jira.JiraMapper` field for field; a test checks both give the same
events. One `json_transform` per payload. Comment bodies are plain strings (Data Center) or
ADF documents (Cloud), rendered as `text.adf_to_text` does: doc > paragraph > inline by
list lambdas, and the comments that pass leaves (lists, panels) node by node.

Declined, and left to the mapper: the `issues` stream and any other; payloads that are not
a JSON object, or that only DuckDB's lenient reader accepts; any `\\u` escape (lone
surrogates, NUL, control characters DuckDB writes in upper case, escaped keys); a repeated
key in an object read here; a non-string where a string is read; a missing created, id or
issue key; a comment body that is neither a string nor ADF, or ADF deeper than `_MAX_DEPTH`,
with a node that is not an object or has no type, or a null where a node's key is read;
items that are not a list of objects, or more than `_MAX_ITEMS` of them; text with non-ASCII whitespace (Python strips it),
and non-ASCII text that holds a ref's hint (RE2's \\w and \\b are ASCII, Python's are not).
"""
from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..mappers.jira import _FIELD_KINDS
from ..mapping import Context
from ..schema import DRAFT_SCHEMA
from ..severity import to_sev
from ..text import _BLOCKS
from .frame import register_raw, split
from .sql import ODD_TEXT, cut_line_sql, first_line_sql, lit, odd_ref_text_sql, own_and_found_sql, refs_sql, strip_sql

# Comments are read twice at most: every one as ADF down to doc > paragraph > text (levels
# 0..2: the common shape, and cheap), then those not taken node by node, at any depth up to
# _MAX_DEPTH (lambdas nested four levels deep took DuckDB about half a second to bind).
_SHALLOW, _MAX_DEPTH = 2, 32
_ATTRS = {k: "VARCHAR" for k in ("text", "id", "url", "shortName", "href")}
_AUTHOR = {"displayName": "VARCHAR", "emailAddress": "VARCHAR", "accountId": "VARCHAR"}
# Keys of the top level and of ADF nodes whose every occurrence in a comment must be one the
# transform saw: a repeated key (DuckDB keeps the first, json.loads the last), a null, a
# value of another shape, or an object this SQL does not model all show as an extra token.
_COUNTED = ("type", "text", "attrs", "marks", "content", "id", "url", "shortName", "href")
_TOKEN = '"(?:' + "|".join(_COUNTED) + ')":'   # in a body as DuckDB writes it: compact
# What DuckDB reads differently from json.loads (a trailing comma, NaN, Infinity, escapes),
# strings read here that may hold nothing else (not even null), and those that may be null.
_STRICT = ("id", "created", "text", "url", "shortName")
_NULLABLE = ("displayName", "emailAddress", "accountId", "field", "fromString", "toString", "type", "href")
_ODD_JSON = "|".join([r",\s*[}\]]", '"(?:' + "|".join(_STRICT) + r')"\s*:\s*[^"\s]',
                      '"(?:' + "|".join(_NULLABLE) + r')"\s*:\s*[^"n\s]'])
_ODD_LITERALS = ("NaN", "Infinity", "\\u")   # cheaper as plain searches than in the regex
# Binding the queries takes about 0.15 s a batch: below this many comments and histories
# the mapper is as fast (measured: 0.8-1.1x at 10k, 0.3-0.5x at 2k), and takes them all.
MIN_ROWS = 10_000
_MAX_ITEMS = 4       # items of one history whose keys are checked (paths must be constants)
_MISMATCH = -1_000_000   # what a node or mark that is not an object counts for
_KEYS = pa.schema([("key", pa.string()), ("key_json", pa.string())])
_SEVERITIES = pa.schema([("after", pa.string()), ("sev", pa.string())])


def _node_type(depth: int, deepest: int) -> dict:
    node: dict = {"type": "VARCHAR", "text": "VARCHAR", "attrs": _ATTRS,
                  "marks": [{"type": "VARCHAR", "attrs": _ATTRS}]}
    if depth < deepest:
        node["content"] = [_node_type(depth + 1, deepest)]
    return node


_AUTHOR_KEYS = ("$.author", tuple(_AUTHOR))
_HISTORY_FIELDS = {"id": "VARCHAR", "created": "VARCHAR", "author": _AUTHOR,
                   "items": [{"field": "VARCHAR", "fromString": "VARCHAR", "toString": "VARCHAR"}]}


def _seen(x: str) -> str:
    return f"({x} IS NOT NULL)::INT"


def _attrs_seen(a: str) -> str:
    return f"{_seen(a)} + " + " + ".join(_seen(f"{a}.{k}") for k in _ATTRS)


def _own_count_sql(n: str, depth: int, has_content: bool = True) -> str:
    """How many keys of _COUNTED node `n` holds, its children aside, as the transform saw them."""
    m = f"m{depth}"
    marks = (f"coalesce(list_sum(list_transform({n}.marks, lambda {m}: "
             f"CASE WHEN {m}.type IS NULL THEN {_MISMATCH} ELSE 1 + {_attrs_seen(m + '.attrs')} END)), 0)")
    return (f"CASE WHEN {n}.type IS NULL THEN {_MISMATCH} ELSE 1 END + {_seen(n + '.text')} + "
            f"{_attrs_seen(n + '.attrs')} + {_seen(n + '.marks')} + {marks}"
            + (f" + {_seen(n + '.content')}" if has_content else ""))


def _count_sql(n: str, depth: int, deepest: int) -> str:
    """How many keys of _COUNTED node `n` and its descendants hold, as the transform saw them."""
    if depth == deepest:
        return f"({_own_count_sql(n, depth, has_content=False)})"
    c = f"c{depth}"
    children = f"coalesce(list_sum(list_transform({n}.content, lambda {c}: {_count_sql(c, depth + 1, deepest)})), 0)"
    return f"({_own_count_sql(n, depth)} + {children})"


def _opening_sql(n: str, depth: int) -> str:
    """What text.adf_to_text writes for node `n` before its children."""
    m = f"m{depth}"
    text = f"coalesce({n}.text, '')"
    href = f"list_filter({n}.marks, lambda {m}: {m}.type = 'link')[1].attrs.href"
    return f"""CASE {n}.type
        WHEN 'text' THEN CASE WHEN {n}.marks IS NULL THEN {text}
                              ELSE {text} || coalesce(' (' || nullif(nullif({href}, ''), {text}) || ')', '') END
        WHEN 'hardBreak' THEN chr(10)
        WHEN 'mention' THEN coalesce(nullif({n}.attrs.text, ''), '@' || coalesce({n}.attrs.id, ''))
        WHEN 'inlineCard' THEN coalesce({n}.attrs.url, '') WHEN 'blockCard' THEN coalesce({n}.attrs.url, '')
        WHEN 'emoji' THEN coalesce(nullif({n}.attrs.text, ''), {n}.attrs.shortName, '')
        WHEN 'listItem' THEN '- ' ELSE '' END"""


def _closing_sql(n: str) -> str:
    """What text.adf_to_text writes for node `n` after its children."""
    closing_types = ", ".join(lit(t) for t in sorted(_BLOCKS | {"listItem"}))
    return f"CASE WHEN {n}.type IN ({closing_types}) THEN chr(10) ELSE '' END"


def _render_sql(n: str, depth: int, deepest: int) -> str:
    """text.adf_to_text's walk of node `n`, before the newline collapse and the strip."""
    if depth == deepest:
        return f"({_opening_sql(n, depth)} || {_closing_sql(n)})"
    c = f"c{depth}"
    child = _render_sql(c, depth + 1, deepest)
    children = f"coalesce(array_to_string(list_transform({n}.content, lambda {c}: {child}), ''), '')"
    return f"({_opening_sql(n, depth)} || {children} || {_closing_sql(n)})"


def _tokens_sql(body: str) -> str:
    """How many keys of _COUNTED a JSON-typed body holds (DuckDB wrote it: compact, no escaped key)."""
    return f"len(regexp_extract_all({body}, {lit(_TOKEN)}))"


def _odd_text_sql(ctx: Context, text: str) -> str:
    """Non-ASCII text that Python strips, or searches for refs, differently from this SQL."""
    return (f"(coalesce(strlen({text}) <> length({text}) AND regexp_matches({text}, {lit(ODD_TEXT)}), false) "
            f"OR {odd_ref_text_sql(ctx.refs, text)})")


def _once(keys: str, names: tuple[str, ...], present: str | None = None) -> str:
    """None of `names` is listed twice in `keys` (an object's keys; NULL when there is none)."""
    checks = " AND ".join(f"(list_position({keys}, {lit(k)}) IS NULL "
                        f"OR list_position({keys}[list_position({keys}, {lit(k)}) + 1:], {lit(k)}) IS NULL)"
                        for k in names)
    return f"(NOT ({present}) OR ({checks}))" if present else checks


def _parsed_ctes(stream: str, fields: dict, objects: list[tuple[str, tuple[str, ...]]], done: str | None = None,
                 present: dict[str, str] | None = None) -> str:
    """CTEs ending in `parsed`: one stream's payloads read once, with what both streams read
    alike. `objects`: (JSON path, keys read there) whose keys are listed in `keys`, the first
    being the author; `present`: keys list -> when its object can exist (its check is skipped
    otherwise); `done`: a table of the rids already taken. MATERIALIZED: DuckDB would
    otherwise copy the transform into every filter that reads its result, and run it once
    per filter; the payload is not carried past `read`, which would copy it each time."""
    not_done = f" AND rid NOT IN (SELECT rid FROM {done})" if done else ""
    paths = "[" + ", ".join(lit(path) for path, _names in objects) + "]"
    keys_once = " AND ".join(_once(f"keys[{i}]", names, (present or {}).get(f"keys[{i}]"))
                             for i, (_path, names) in enumerate(objects, 1))
    literals = " OR ".join(f"contains(payload, {lit(x)})" for x in _ODD_LITERALS)
    return f"""
read AS MATERIALIZED (
    SELECT rid, parent_id, json_transform(payload, {lit(json.dumps(fields))}) AS p,
           json_keys(payload, {paths}) AS keys
    FROM raw
    WHERE stream = {lit(stream)}{not_done} AND starts_with(payload, '{{') AND json_valid(payload)
          AND NOT ({literals}) AND NOT regexp_matches(payload, {lit(_ODD_JSON)})),
parsed AS MATERIALIZED (
    SELECT rid, p, k.key, k.key_json, p.author.displayName AS actor,
           CASE WHEN p.author IS NULL THEN 'system' ELSE 'human' END AS actor_type,
           coalesce(nullif(p.author.emailAddress, ''), p.author.accountId) AS actor_id, keys
    FROM read JOIN keys k ON k.key = parent_id
    WHERE coalesce(p.created, '') <> '' AND coalesce(p.id, '') <> ''
          -- an author that is not an object, or an empty one, looks like neither to the transform
          AND (p.author IS NULL OR len(keys[1]) > 0) AND {keys_once})"""


# text.adf_to_text's re.sub(r"\n{3,}", "\n\n", text) of the walked text
_COLLAPSED = "regexp_replace(walked, '\\n{3,}', chr(10) || chr(10), 'g')"


_COMMENT_FIELDS = {"id": "VARCHAR", "created": "VARCHAR", "author": _AUTHOR, "body": "JSON"}
_COMMENT_OBJECTS = [_AUTHOR_KEYS, ("$", tuple(_COMMENT_FIELDS))]


def _comments_sql(ctx: Context, deepest: int) -> str:
    """The comments of `raw` not yet in `c`, with ADF read down to level `deepest`."""
    return f"""
INSERT INTO c
WITH {_parsed_ctes('comments', _COMMENT_FIELDS, _COMMENT_OBJECTS, 'c')},
docs AS MATERIALIZED (
    SELECT *, CASE WHEN starts_with(p.body, '{{') THEN json_transform(p.body, {lit(json.dumps(_node_type(0, deepest)))})
              END AS adf,
           CASE WHEN starts_with(p.body, '"') THEN p.body ->> '$' END AS body_string
    FROM parsed),
bodies AS MATERIALIZED (
    SELECT *, CASE WHEN adf IS NOT NULL THEN {_render_sql('adf', 0, deepest)} END AS walked,
           {_count_sql('adf', 0, deepest)} AS adf_seen
    FROM docs),
texts AS MATERIALIZED (
    SELECT *, CASE WHEN walked IS NULL THEN coalesce(body_string, '')
                   WHEN contains(walked, chr(10) || chr(10) || chr(10))
                   THEN {strip_sql(_COLLAPSED)}
                   ELSE {strip_sql('walked')} END AS text
    FROM bodies
    WHERE CASE WHEN adf IS NOT NULL THEN {_tokens_sql('p.body')} = adf_seen
               ELSE body_string IS NOT NULL OR p.body IS NULL END)
SELECT rid, key, key_json, p.created AS ts_raw, actor, actor_type, actor_id, text,
       key || '/comment/' || p.id AS native_id
FROM texts WHERE NOT {_odd_text_sql(ctx, 'text')}"""


# One ADF node as the deep pass reads it: its children stay JSON text, read a level later.
_FLAT_NODE = {**{k: v for k, v in _node_type(0, 0).items()}, "content": "JSON"}
_LAST = 1_000_000_000   # sorts a node's closing after every child


def _deep_comments_sql(ctx: Context) -> str:
    """The comments of `raw` not yet in `c`, ADF read at any depth: one row per node (a
    recursive CTE; a node below _MAX_DEPTH is not read, its keys go uncounted and its comment
    declined), each node's opening and closing text put in document order by its path."""
    return f"""
INSERT INTO c
WITH RECURSIVE {_parsed_ctes('comments', _COMMENT_FIELDS, _COMMENT_OBJECTS, 'c')},
bodies AS MATERIALIZED (
    SELECT *, CASE WHEN starts_with(p.body, '{{') THEN p.body END AS doc,
           CASE WHEN starts_with(p.body, '"') THEN p.body ->> '$' END AS body_string
    FROM parsed),
tree(rid, path, node) AS (
    SELECT rid, []::INTEGER[], doc FROM bodies WHERE doc IS NOT NULL
    UNION ALL
    SELECT rid, list_append(path, i), child
    FROM (SELECT rid, path, unnest(kids) AS child, unnest(range(len(kids)))::INTEGER AS i
          FROM (SELECT rid, path, json_transform(node, '{{"content": ["JSON"]}}').content AS kids
                FROM tree WHERE len(path) < {_MAX_DEPTH} AND starts_with(node, '{{')))),
nodes AS MATERIALIZED (
    SELECT rid, path, json_transform(node, {lit(json.dumps(_FLAT_NODE))}) AS n FROM tree),
walked AS (
    SELECT rid, string_agg(piece, '' ORDER BY place) AS walked, sum(seen) AS adf_seen
    FROM (SELECT rid, list_append(path, -1) AS place, {_opening_sql('n', 0)} AS piece,
                 {_own_count_sql('n', 0)}
                 + CASE WHEN starts_with(n.content, '[') OR n.content IS NULL THEN 0 ELSE {_MISMATCH} END AS seen
          FROM nodes
          UNION ALL
          SELECT rid, list_append(path, {_LAST}), {_closing_sql('n')}, 0 FROM nodes)
    GROUP BY rid),
texts AS MATERIALIZED (
    SELECT b.*, CASE WHEN doc IS NULL THEN coalesce(body_string, '')
                     WHEN contains(walked, chr(10) || chr(10) || chr(10)) THEN {strip_sql(_COLLAPSED)}
                     ELSE {strip_sql('walked')} END AS text
    FROM bodies b LEFT JOIN walked w USING (rid)
    WHERE CASE WHEN doc IS NOT NULL THEN {_tokens_sql('p.body')} = adf_seen
               ELSE body_string IS NOT NULL OR p.body IS NULL END)
SELECT rid, key, key_json, p.created AS ts_raw, actor, actor_type, actor_id, text,
       key || '/comment/' || p.id AS native_id
FROM texts WHERE NOT {_odd_text_sql(ctx, 'text')}"""


def _histories_sql(ctx: Context) -> str:
    """Every item of every taken history, in order (a history with no item is taken too)."""
    objects = [_AUTHOR_KEYS, ("$", ("id", "created", "author", "items"))] + [
        (f"$.items[{i}]", tuple(_HISTORY_FIELDS["items"][0])) for i in range(_MAX_ITEMS)]
    # most histories have one item: the later items' checks are skipped for them
    present = {f"keys[{i + 3}]": f"len(p.items) > {i}" for i in range(1, _MAX_ITEMS)}
    # an item that is not an object, or an empty one, looks like neither to the transform
    items_ok = ("CASE WHEN p.items IS NULL THEN NOT list_contains(keys[2], 'items') "
                f"ELSE len(p.items) <= {_MAX_ITEMS} AND "
                + " AND ".join(f"(len(p.items) <= {i} OR len(keys[{i + 3}]) > 0)" for i in range(_MAX_ITEMS)) + " END")
    kinds = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in _FIELD_KINDS.items())
    return f"""
CREATE TEMP TABLE hp AS
WITH {_parsed_ctes('changelog', _HISTORY_FIELDS, objects, present=present)}
SELECT * FROM parsed WHERE {items_ok};
CREATE TEMP TABLE h AS
WITH items AS (
    SELECT rid, key, key_json, p.id AS history_id, p.created AS ts_raw, actor, actor_type, actor_id,
           unnest(p.items) AS item, unnest(range(len(p.items))) AS idx
    FROM hp),
fields AS (
    SELECT * EXCLUDE (item), coalesce(item.field, '') AS field, item.fromString AS before,
           item.toString AS after
    FROM items)
SELECT *, CASE WHEN field = 'resolution' THEN 'ticket.resolved'
               -- Python's lower() turns no non-ASCII letter into the ASCII of these names; DuckDB's may
               ELSE CASE CASE WHEN strlen(field) = length(field) THEN lower(field) END {kinds}
                    ELSE 'ticket.updated' END END AS kind,
       {_odd_text_sql(ctx, 'after')} AS odd_text
FROM fields WHERE NOT (field = 'resolution' AND coalesce(after, '') = '');
CREATE TEMP TABLE h_taken AS
SELECT rid FROM hp WHERE rid NOT IN (SELECT rid FROM h WHERE odd_text)"""


def _drafts_sql(ctx: Context) -> str:
    refs = own_and_found_sql("'jira:' || key", 'found')
    title = f"key || ' comment: ' || {cut_line_sql('line', 100)}"
    attrs = ("'{\"field\":' || to_json(field) || ',\"from\":' || coalesce(to_json(before)::VARCHAR, 'null') "
             "|| ',\"key\":' || key_json || ',\"to\":' || coalesce(to_json(after)::VARCHAR, 'null') || '}'")
    # MATERIALIZED, as each is read more than once (see _parsed_ctes)
    return f"""
WITH comment_refs AS MATERIALIZED (
    SELECT *, {first_line_sql('text')} AS line, {refs_sql(ctx.refs, 'text')} AS found FROM c),
item_refs AS MATERIALIZED (
    SELECT *, {refs_sql(ctx.refs, 'after')} AS found FROM h WHERE rid IN (SELECT rid FROM h_taken))
SELECT 'ticket.comment' AS kind, ts_raw, NULL::VARCHAR AS ts_format, actor, actor_type, actor_id,
       NULL::VARCHAR AS subject, {title} AS title, text AS body, NULL::VARCHAR AS severity,
       NULL::VARCHAR AS service, NULL::VARCHAR AS url, native_id, {refs} AS refs,
       '{{"key":' || key_json || '}}' AS attrs, rid, 0 AS idx
FROM comment_refs
UNION ALL
SELECT kind, ts_raw, NULL, actor, actor_type, actor_id, CASE WHEN kind = 'ticket.assigned' THEN after END,
       CASE WHEN kind = 'ticket.resolved' THEN key || ' resolved: ' || after
            ELSE key || ' ' || field || ': ' || coalesce(nullif(before, ''), '(none)') || ' → '
                 || coalesce(nullif(after, ''), '(none)') END,
       '', CASE WHEN kind = 'ticket.priority' THEN s.sev END, NULL, NULL,
       key || '/' || history_id || '/' || field, {refs}, {attrs}, rid, idx
FROM item_refs LEFT JOIN severities s USING (after)
ORDER BY rid, idx"""


def _keys(raw: pa.Table) -> pa.Table:
    """The issue keys (parent ids) of comments and histories, JSON-encoded as the mapper's attrs."""
    streams = pc.is_in(raw["stream"], pa.array(["comments", "changelog"]))
    keys = [k for k in pc.unique(raw.filter(streams)["parent_id"]).to_pylist() if k]
    return pa.Table.from_pylist([{"key": k, "key_json": json.dumps(k, ensure_ascii=False)} for k in keys],
                                schema=_KEYS)


def _severities(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """to_sev of every distinct priority a history moved to (a few), in Python."""
    afters = con.sql("SELECT DISTINCT after FROM h WHERE kind = 'ticket.priority' AND after IS NOT NULL").fetchall()
    return pa.Table.from_pylist([{"after": a, "sev": to_sev(a)} for (a,) in afters], schema=_SEVERITIES)


def jira_fast(raw: pa.Table, ctx: Context) -> tuple[pa.Table, pa.Table]:
    streams = set(pc.unique(raw["stream"]).to_pylist())
    wanted = pc.sum(pc.is_in(raw["stream"], pa.array(["comments", "changelog"]))).as_py() or 0
    if wanted < MIN_ROWS:
        return DRAFT_SCHEMA.empty_table(), raw
    con = duckdb.connect()
    try:
        register_raw(con, raw)
        con.register("keys", _keys(raw))
        con.execute("CREATE TEMP TABLE c (rid BIGINT, key VARCHAR, key_json VARCHAR, ts_raw VARCHAR, actor VARCHAR, "
                    "actor_type VARCHAR, actor_id VARCHAR, text VARCHAR, native_id VARCHAR)")
        if "comments" in streams:   # binding the comment queries alone takes about 0.1 s
            con.execute(_comments_sql(ctx, _SHALLOW))
            left = con.execute("SELECT count(*) FROM raw WHERE stream = 'comments' AND rid NOT IN (SELECT rid FROM c)")
            if left.fetchone()[0]:
                con.execute(_deep_comments_sql(ctx))
        con.execute(_histories_sql(ctx))
        con.register("severities", _severities(con))
        drafts = con.sql(_drafts_sql(ctx)).to_arrow_table().drop_columns(["idx"])
        rest_ids = con.sql("SELECT rid FROM raw WHERE rid NOT IN (SELECT rid FROM c UNION ALL SELECT rid FROM h_taken) "
                           "ORDER BY rid").to_arrow_table()
    finally:
        con.close()
    return split(raw, drafts, rest_ids)
