"""SQL building blocks of the compiled mappings (DuckDB dialect): literals, the refs a
text names, a text's first line, and the tests for payloads DuckDB reads otherwise than
`json.loads`."""
from __future__ import annotations

from .refs import REWRITES, RefFinder


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


def unique_sql(list_expr: str) -> str:
    """De-duplicated, first occurrence kept, order kept (as refs.unique does)."""
    return (f"list_filter({list_expr}, lambda r, i: r IS NOT NULL AND r <> '' "
            f"AND list_position({list_expr}, r) = i)")


def odd_ref_text_sql(finder: RefFinder, text: str) -> str:
    """Non-ASCII text holding a ref's hint: RE2's \\w, \\d and \\b are ASCII, Python's are not."""
    hints = sorted({h for _prefix, _pattern, hs in finder.patterns for h in hs})
    return (f"coalesce(strlen({text}) <> length({text}) AND ("
            + " OR ".join(f"contains({text}, {lit(h)})" for h in hints) + "), false)")


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


# Python's str.strip() whitespace within the ASCII range; text holding any other
# whitespace (ODD_TEXT) is stripped by the Python of the transform instead.
_WS = lit(" \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f")
ODD_TEXT = r"[\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"

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
