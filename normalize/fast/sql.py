"""SQL building blocks the vectorised paths share (DuckDB dialect)."""
from __future__ import annotations

import pyarrow as pa

from ..refs import REWRITES, RefFinder


def lit(text: str) -> str:
    """A SQL string literal for a constant written in this code (never for data)."""
    return "'" + text.replace("'", "''") + "'"


def refs_sql(finder: RefFinder, *texts: str) -> str:
    """list<string> of the refs `finder.find(*texts)` would return, before de-duplication."""
    # A regex only runs on texts holding one of its pattern's literal hints (memchr-fast).
    parts = [f"CASE WHEN {' OR '.join(f'contains({t}, {lit(h)})' for h in hints)} "
             f"THEN list_transform(regexp_extract_all({t}, {lit(pattern)}, 1), lambda m: {lit(prefix + ':')} || "
             f"{_rewrite_sql(pattern, 'm')}) "
             f"ELSE []::VARCHAR[] END"
             for t in texts for prefix, pattern, hints in finder.patterns]
    if len(parts) == 1:
        return parts[0]
    # Most texts hold no hint at all: one test skips building and joining every empty list.
    hints = sorted({h for _prefix, _pattern, hs in finder.patterns for h in hs})
    any_hint = " OR ".join(f"contains({t}, {lit(h)})" for t in texts for h in hints)
    return f"CASE WHEN {any_hint} THEN list_concat({', '.join(parts)}) ELSE []::VARCHAR[] END"


def _rewrite_sql(pattern: str, match: str) -> str:
    """refs.REWRITES for one match, as refs._rewrite does it in Python."""
    if pattern not in REWRITES:
        return match
    search, replace = REWRITES[pattern]
    return f"regexp_replace({match}, {lit(search)}, {lit(replace)})"


def own_and_found_sql(own: str, found: str, *after: str) -> str:
    """unique([own] + found + after): the record's own ref first, then the refs found in
    its text, then `after` (refs of its own added later, each of another prefix than `own`
    and one another; NULL when it has none). `found`
    should be a column (it is read twice); most texts name no ref, and for them the lambda
    below is skipped."""
    tail = "".join(f", CASE WHEN {a} IS NULL THEN []::VARCHAR[] ELSE [{a}] END" for a in after)
    listed = f"list_concat([{own}], {found}{tail})"
    if after:
        alone = f"list_filter([{own}, {', '.join(after)}], lambda r: r IS NOT NULL AND r <> '')"
        return f"CASE WHEN len({found}) = 0 AND coalesce({own}, '') <> '' THEN {alone} ELSE {unique_sql(listed)} END"
    return f"CASE WHEN len({found}) = 0 AND coalesce({own}, '') <> '' THEN [{own}] ELSE {unique_sql(listed)} END"


def unique_sql(list_expr: str) -> str:
    """De-duplicated, first occurrence kept, order kept (as refs.unique does)."""
    return (f"list_filter({list_expr}, lambda r, i: r IS NOT NULL AND r <> '' "
            f"AND list_position({list_expr}, r) = i)")


def first_line_sql(text: str) -> str:
    """text.first_line before its length cut: the first line of the stripped text, stripped.
    `text` should be a column (it is read several times)."""
    # A one-line text with no whitespace or control character at either end (most chat
    # lines) is its own first line: the trims, which are slow with a character set, are skipped.
    plain = (f"strlen({text}) > 0 AND NOT contains({text}, chr(10)) "
             f"AND ord(left({text}, 1)) > 32 AND ord(right({text}, 1)) > 32")
    slow = f"trim(split_part(trim(coalesce({text}, ''), {_WS}), chr(10), 1), {_WS})"
    return f"CASE WHEN {plain} THEN {text} ELSE {slow} END"


def cut_line_sql(line: str, limit: int = 140) -> str:
    """text.first_line's cut: at most `limit` characters, an ellipsis when cut."""
    return f"CASE WHEN length({line}) <= {limit} THEN {line} ELSE rtrim(left({line}, {limit - 1}), {_WS}) || '…' END"


# Python's str.strip() whitespace within the ASCII range; rows holding any other
# whitespace are declined by the vectorised paths (see ODD_TEXT).
_WS = lit(" \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f")
ODD_TEXT = r"[\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"


def html_unescape_sql(text: str) -> str:
    """html.unescape for the three entities Slack writes (rows with others are declined)."""
    return f"replace(replace(replace({text}, '&lt;', '<'), '&gt;', '>'), '&amp;', '&')"


OTHER_ENTITY = r"&[A-Za-z#]"   # after removing &lt; &gt; &amp;: html.unescape would do more


# DuckDB's JSON reader takes a trailing comma, NaN and Infinity, which json.loads refuses.
LENIENT_JSON = r",\s*[}\]]|\bNaN\b|\bInfinity\b"


# Helpers for payloads whose fields are read as JSON text (a string is told from a number).

_LENIENT_LITERAL = r"-?(?:[nN][aA][nN]|[iI][nN][fF])"
# (a literal the payload must hold for the pattern to match, or None; the pattern). One
# call per pattern, each with a literal first byte: RE2 is several times slower on an
# alternation of them, and the literal test skips most rows.
_ODD_JSON = ((None, r",\s*[}\]]"), ("\\u", r"\\u(?:00[01]|[dD][89a-fA-F])"), (None, r":\s*" + _LENIENT_LITERAL),
             ("[", r"[\[,]\s*" + _LENIENT_LITERAL))


def odd_json_sql(payload: str) -> str:
    """Whether DuckDB would read `payload` otherwise than json.loads, or write its strings
    otherwise than json.dumps: a trailing comma, nan/inf in any case, escapes of a control
    character (DuckDB writes \\u001F, Python \\u001f), of NUL or of a lone surrogate."""
    # CASE, not AND: a projection evaluates both sides of an AND on every row
    tests = [f"regexp_matches({payload}, {lit(pattern)})" if needle is None else
             f"CASE WHEN contains({payload}, {lit(needle)}) THEN regexp_matches({payload}, {lit(pattern)}) ELSE false END"
             for needle, pattern in _ODD_JSON]
    return "(" + " OR ".join(tests) + ")"


def is_string_sql(json_text: str) -> str:
    """A JSON-typed field holds a string or nothing (JSON null reads as SQL NULL)."""
    return f"({json_text} IS NULL OR starts_with({json_text}, '\"'))"


_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_STRING_PAIR = _JSON_STRING + ":" + _JSON_STRING
_STRING_MAP = r"\{\}|\{(?:" + _STRING_PAIR + ",)*" + _STRING_PAIR + r"\}"


def string_map_sql(json_text: str) -> str:
    """A JSON object (as DuckDB writes it: compact) whose values are all strings."""
    return f"regexp_full_match({json_text}, {lit(_STRING_MAP)})"


def sorted_keys_sql(keys: str) -> str:
    """A list of keys (json_keys) is strictly increasing: no key twice, and in the order
    json.dumps(sort_keys=True) writes them (code point order is UTF-8 byte order)."""
    return f"coalesce(list_bool_and(list_transform(range(1, len({keys})), lambda i: {keys}[i] < {keys}[i + 1])), true)"


def distinct_keys_sql(keys: str) -> str:
    """A list of keys (json_keys) holds no key twice (DuckDB reads the first, Python the last)."""
    return f"(len({keys}) = len(list_distinct({keys})))"


def sorted_object_sql(json_text: str, keys: str, value_type: str) -> str:
    """A flat JSON object of distinct keys (DuckDB-written text, its json_keys) as
    json.dumps(sort_keys=True) writes it: as it is when already in order (the usual case:
    ingest writes payloads so), else rebuilt from its sorted entries."""
    as_map = lit(f'"MAP(VARCHAR, {value_type})"')
    entries = f"map_entries(json_transform({json_text}, {as_map}))"
    return (f"CASE WHEN {sorted_keys_sql(keys)} THEN {json_text} "
            f"ELSE to_json(map_from_entries(list_sort({entries})))::VARCHAR END")


def odd_ref_text_sql(finder: RefFinder, text: str) -> str:
    """Non-ASCII text holding a ref's hint: RE2's \\w, \\d and \\b are ASCII, Python's are not."""
    hints = sorted({h for _prefix, _pattern, hs in finder.patterns for h in hs})
    return (f"coalesce(strlen({text}) <> length({text}) AND ("
            + " OR ".join(f"contains({text}, {lit(h)})" for h in hints) + "), false)")


def drafts_from_query(raw: "pa.Table", sql: str, mapped: dict,
                      registered: "pa.Table | None" = None) -> tuple["pa.Table", "pa.Table"]:
    """Run `sql` over `registered` (rows picked from raw, with their `rid`; by default raw
    itself, numbered) as the view `raw`, and hand its rows to drafts_and_declined."""
    import duckdb

    from .frame import register_raw

    con = duckdb.connect()
    try:
        register_raw(con, raw if registered is None else registered)
        rows = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    return drafts_and_declined(raw, rows, mapped)


def drafts_and_declined(raw: "pa.Table", rows: "pa.Table", mapped: dict) -> tuple["pa.Table", "pa.Table"]:
    """frame.split for a path whose query gives, in raw order (one pipeline, no ORDER BY),
    one row per draft, with `taken` (false on the rows of a record left to the mapper) and
    `emit` (false on the one row of a taken record that gives no event). Raw rows the
    query did not take are declined. `mapped`: column -> a Python function applied once
    per distinct value of the column (severities, priorities: a few values get the
    per-record code's own answer)."""
    import numpy as np
    import pyarrow.compute as pc

    from .frame import split

    taken = rows.filter(rows["taken"])
    drafts = taken.filter(taken["emit"]).drop_columns(["taken", "emit"])
    rids = drafts["rid"].to_numpy()
    if len(rids) > 1 and (np.diff(rids) < 0).any():   # DuckDB keeps scan order; if it ever did not
        drafts = drafts.take(pa.array(np.argsort(rids, kind="stable")))
    for name, fn in mapped.items():
        column = drafts[name]
        distinct = pc.unique(column).drop_null()
        values = pa.array([fn(v) for v in distinct.to_pylist()], pa.string())
        drafts = drafts.set_column(drafts.schema.get_field_index(name), name,
                                   values.take(pc.index_in(column, value_set=distinct)))
    declined = np.ones(raw.num_rows, dtype=bool)
    declined[taken["rid"].to_numpy()] = False
    return split(raw, drafts, pa.table({"rid": pa.array(np.flatnonzero(declined), pa.int64())}))


def strip_sql(text: str) -> str:
    """str.strip() for text holding no ODD_TEXT whitespace (rows with it are declined)."""
    return f"trim({text}, {_WS})"
