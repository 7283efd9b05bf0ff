"""SQL building blocks the vectorised paths share (DuckDB dialect)."""
from __future__ import annotations

from ..refs import RefFinder


def lit(text: str) -> str:
    """A SQL string literal for a constant written in this code (never for data)."""
    return "'" + text.replace("'", "''") + "'"


def refs_sql(finder: RefFinder, *texts: str) -> str:
    """list<string> of the refs `finder.find(*texts)` would return, before de-duplication."""
    # A regex only runs on texts holding one of its pattern's literal hints (memchr-fast).
    parts = [f"CASE WHEN {' OR '.join(f'contains({t}, {lit(h)})' for h in hints)} "
             f"THEN list_transform(regexp_extract_all({t}, {lit(pattern)}, 1), lambda m: {lit(prefix + ':')} || m) "
             f"ELSE []::VARCHAR[] END"
             for t in texts for prefix, pattern, hints in finder.patterns]
    return "list_concat(" + ", ".join(parts) + ")" if len(parts) > 1 else parts[0]


def unique_sql(list_expr: str) -> str:
    """De-duplicated, first occurrence kept, order kept (as refs.unique does)."""
    return (f"list_filter({list_expr}, lambda r, i: r IS NOT NULL AND r <> '' "
            f"AND list_position({list_expr}, r) = i)")


def first_line_sql(text: str) -> str:
    """text.first_line before its length cut: the first line of the stripped text, stripped."""
    return f"trim(split_part(trim(coalesce({text}, ''), {_WS}), chr(10), 1), {_WS})"


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
