"""Checks a model's sentence against the incident data it was sent, before it reaches the draft.

A sentence is kept only when it cites event ids of this incident and everything it states
is held by what it cites: every time is a cited event's time (verify_times.py),
every number is in the cited events (or is the incident's metric, or the time between two
cited events), every name it states (a responder, or any capitalised word past the first)
is in the cited events or the incident's own title, services and sources, every URL is in
the data. A sentence that carries a secret
or private text, or that reads as instructions (text copied from a chat message that
tries to steer a model), is dropped whatever it cites. Markup is not a reason to drop one:
the templates escape it like chat text.

A capital at the start of a sentence says nothing, so a first word is taken for a name
only when it looks like one: not a common opening word, not shaped like an ordinary word
(-ion, -ed, -ing, -ly, ...), and nowhere in the data in lower case. Known limit: a name
that looks like an ordinary word there ("Chris", "Rolling") is not checked.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from incident_timeline.contract.secrets import redact

from .verify_times import held, strip_times, times_in

MAX_TEXT = 600        # characters in one sentence

REASONS = {
    "malformed": "not a sentence with a list of event ids",
    "no_citation": "cites no event",
    "unknown_event": "cites an event id that is not in this incident",
    "too_long": f"longer than {MAX_TEXT} characters",
    "over_limit": "one more than its part keeps (KEEPS in export/assist/__init__.py)",
    "secret": "holds a secret",
    "private": "holds text the config marks private",
    "instructions": "reads as instructions to a model",
    "url_not_in_data": "contains a URL that is not in the data",
    "url_not_from_a_source": "links to a host none of the sources' own links point to (a URL pasted into chat)",
    "time_not_in_cited_events": "states a time none of its cited events holds",
    "number_not_in_data": "states a number its cited events and the incident's metrics do not hold",
    "name_not_in_cited_events": "states a name none of its cited events holds",
    "name_not_in_data": "names something that is nowhere in the incident's data",
}

_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s<>\"'`)\]]+|\bwww\.[^\s<>\"'`)\]]+")
_HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")
_THOUSANDS = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")
_PURE_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*")
# Words a sentence opens with that are no name, and endings of ordinary words
_OPENERS = set("""a an the this that these those it its it's there here we they he she our their his her
some most many few other another each every all both no none not nobody everyone someone only also but and or so
yet if when while during after before since until once then as at on in by from with within without about around
over under between because though although why what which who how first second third next finally later earlier
meanwhile eventually initially yesterday today tonight overall one two three four five six seven eight nine ten
half most customers users engineers responders people nothing everything""".split())
_ORDINARY = re.compile(r"(?:ion|ions|ed|ing|ly|ment|ments|ness|ity|ies|ance|ence|able|ible|ful|less|ous|ive|ize|ise)$")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|[\"'“‘(\[]\s*)$")
_INSTRUCTIONS = re.compile(
    r"(?i)\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules?|context)\b"
    r"|\b(?:system|developer)\s*(?:prompt|message|override)\b|\byou\s+are\s+now\b|\bnew\s+instructions?\b"
    r"|\bas\s+an\s+ai\b|<\|[a-z_]+\|>|^\s*(?:system|assistant|user)\s*:|\[/?inst\]")
# Capitalised words any sentence may use without the data holding them
_ALWAYS_OK = {"utc", "gmt", "i", "why", "five", "whys", "root", "cause", "summary", "incident", "sev", "am",
              "pm", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
              "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december"}


@dataclass
class Facts:
    """What the checks compare against: the payload the model was sent."""
    rows: dict[str, dict[str, Any]]       # event id -> its row
    people: list[str]                     # responders and human actors, longest first
    words: set[str]                       # every word anywhere in the data, lower case
    common_words: set[str]                # the words the data writes in lower case (not names there)
    incident_words: set[str]              # the incident's own words (id, title, services, sources)
    urls: set[str]                        # every URL anywhere in the data
    source_hosts: set[str]                # the hosts the sources' own links (row `url`) point to
    metric_numbers: set[str]
    incident_codes: set[str]              # the incident's own tokens mixing letters and digits (5xx, SEV1)
    mask: Callable[[str], str]            # `assist.private` patterns
    known_secrets: tuple[str, ...] = ()


def incident_facts(sent: dict[str, Any], mask: Callable[[str], str] = lambda t: t,
                   known_secrets: tuple[str, ...] = ()) -> Facts:
    rows = {e: row for row in sent["timeline"] for e in row["event_ids"]}
    people = {r["actor"] for r in sent["timeline"] if r.get("actor") and r.get("actor_type") == "human"}
    people |= {p for p in sent.get("people") or [] if p}
    incident = _incident_text(sent["incident"])
    everything = " ".join(_row_text(r) for r in sent["timeline"]) + " " + incident
    return Facts(rows=rows, people=sorted(people, key=len, reverse=True), words=_words(everything),
                 common_words={_key(w) for w in _WORD.findall(everything) if w.islower()},
                 incident_words=_words(incident), urls=set(_urls(everything)),
                 source_hosts={_host(r["url"]) for r in sent["timeline"] if r.get("url")} - {""},
                 metric_numbers=_metric_numbers(sent["incident"]) | _numbers(incident),
                 incident_codes=_codes(incident),
                 mask=mask, known_secrets=known_secrets)


def check(sentence: Any, facts: Facts) -> tuple[str | None, str]:
    """(None, "") for a sentence that holds, else (reason, detail): the id, time, number,
    name or URL that failed (never the secret or private text itself)."""
    if not isinstance(sentence, dict) or not isinstance(sentence.get("text"), str) or not sentence["text"].strip():
        return "malformed", ""
    text = " ".join(sentence["text"].split())
    ids = sentence.get("event_ids")
    ids = [ids] if isinstance(ids, str) else ids if ids is not None else []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return "malformed", ""
    if len(text) > MAX_TEXT:
        return "too_long", ""
    if redact(text) != text or any(k in text for k in facts.known_secrets if k):
        return "secret", ""
    if facts.mask(text) != text:
        return "private", ""
    ids = [i.strip() for i in ids if i.strip()]
    if not ids:
        return "no_citation", ""
    unknown = [i for i in ids + _HEX_ID.findall(text) if i not in facts.rows]
    if unknown:
        return "unknown_event", unknown[0][:64]
    if _INSTRUCTIONS.search(text):
        return "instructions", _INSTRUCTIONS.search(text).group(0)[:80]
    cited = [facts.rows[i] for i in dict.fromkeys(ids)]
    for check_one in (_urls_held, _times_held, _numbers_held, _names_held):
        failed = check_one(text, cited, facts)
        if failed:
            return failed
    return None, ""


def _urls_held(text: str, _cited, facts: Facts) -> tuple[str, str] | None:
    """A URL must be in the data, and point where the sources' own links point: a link
    someone pasted into chat (an injected "log in at ...") is not passed on as the model's."""
    for url in _urls(text):
        if url not in facts.urls:
            return "url_not_in_data", url[:120]
        if _host(url) not in facts.source_hosts:
            return "url_not_from_a_source", url[:120]
    return None


def _host(url: str) -> str:
    from urllib.parse import urlsplit
    try:
        return (urlsplit(url if "://" in url else "http://" + url).hostname or "").lower()
    except ValueError:
        return ""


def _rest(text: str) -> str:
    """The sentence without its URLs, event ids, dates and times: what numbers and names
    are looked for in."""
    return strip_times(_HEX_ID.sub(" ", _URL.sub(" ", text)))[0]


def _times_held(text: str, cited, _facts) -> tuple[str, str] | None:
    times = _cited_times(cited)
    text_times = [t for r in cited for t in times_in(_row_text(r, with_times=False))]
    for stated in strip_times(_HEX_ID.sub(" ", _URL.sub(" ", text)))[1]:
        if not held(stated, times, text_times):
            return "time_not_in_cited_events", stated.label[:40]
    return None


def _numbers_held(text: str, cited, facts: Facts) -> tuple[str, str] | None:
    times = _cited_times(cited)
    allowed = set(facts.metric_numbers) | _spans(times)
    allowed |= _numbers(" ".join(_row_text(r, with_times=False) for r in cited))
    allowed |= {str(v) for t in times for v in (t.year, t.month, t.day)}
    rest = _rest(text)
    for number in sorted(_numbers(rest, parts_of_codes=False)):
        if number not in allowed:
            return "number_not_in_data", number
    codes = facts.incident_codes | _codes(" ".join(_row_text(r, with_times=False) for r in cited))
    for code in sorted(_codes(rest)):
        if code not in codes:
            return "number_not_in_data", code
    return None


def _names_held(text: str, cited, facts: Facts) -> tuple[str, str] | None:
    rest = _rest(text)
    cited_text = " ".join(_row_text(r) for r in cited).lower()
    known_words = _words(cited_text) | facts.incident_words
    for person in facts.people:
        for part in _name_parts(person):
            if re.search(rf"(?<!\w){re.escape(part)}(?!\w)", rest) and part.lower() not in cited_text:
                return "name_not_in_cited_events", part
    for match in _WORD.finditer(rest):
        word = match.group(0)
        if not word[0].isupper():
            continue
        if _SENTENCE_START.search(rest[:match.start()]) and not _looks_like_a_name(word, facts):
            continue
        key = _key(word)
        if key in _ALWAYS_OK or key in known_words or key.rstrip("s") in known_words:
            continue
        held_elsewhere = key in facts.words or key.rstrip("s") in facts.words
        return ("name_not_in_cited_events" if held_elsewhere else "name_not_in_data"), word
    return None


def _key(word: str) -> str:
    """A word as the checks compare it: lower case, no quote or dash around it, no 's."""
    key = word.lower().strip("'’-")
    for suffix in ("'s", "’s"):
        key = key[:-len(suffix)] if key.endswith(suffix) else key
    return key


def _looks_like_a_name(word: str, facts: Facts) -> bool:
    key = _key(word)
    return not (key in _OPENERS or key in facts.common_words or _ORDINARY.search(key))


def _row_text(row: dict[str, Any], with_times: bool = True) -> str:
    parts = [row.get("source"), row.get("kind"), row.get("actor"), row.get("title"), row.get("body"), row.get("url")]
    if with_times:
        parts += [row.get("ts"), row.get("last_ts")]
    if row.get("count"):
        parts.append(str(row["count"]))
    return " ".join(str(p) for p in parts if p)


def _words(text: str) -> set[str]:
    return {_key(w) for w in _WORD.findall(text)}


def _incident_text(incident: dict[str, Any]) -> str:
    parts = [incident.get("id"), incident.get("title"), incident.get("severity"),
             " ".join(incident.get("services") or []), " ".join(incident.get("sources") or [])]
    return " ".join(str(p) for p in parts if p)


def _urls(text: str) -> list[str]:
    return [u.rstrip(".,;:!?") for u in _URL.findall(text)]


def _norm_number(token: str) -> str:
    """`05` and `5.0` are 5; a version like 2.31.0 stays as written."""
    if token.count(".") > 1:
        return token
    try:
        return format(Decimal(token).normalize(), "f")
    except InvalidOperation:
        return token


def _tokens(text: str) -> list[str]:
    text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)
    return [t.rstrip("._-") for t in _TOKEN.findall(text) if any(c.isdigit() for c in t)]


def _numbers(text: str, parts_of_codes: bool = True) -> set[str]:
    """The numbers a text states: `12`, `0.5`, `1,200`, the 2 of `2nd`; with `parts_of_codes`,
    also the numeric parts of a ticket key (`OPS-1240`: 1240), as the data offers them."""
    out = set()
    for token in _tokens(text):
        ordinal = _ORDINAL.fullmatch(token)
        if _PURE_NUMBER.fullmatch(token) or ordinal:
            out.add(_norm_number(ordinal.group(1) if ordinal else token))
        elif parts_of_codes:
            out |= {_norm_number(p) for p in re.split(r"[-_/]", token) if _PURE_NUMBER.fullmatch(p)}
    return out


def _codes(text: str) -> set[str]:
    """Tokens that mix letters and digits (`v2.31.0`, `OPS-1240`, `5xx`), lower case; a
    version is also taken without its `v`. Such a token states a fact only the data can hold."""
    out = set()
    for token in _tokens(text):
        if _PURE_NUMBER.fullmatch(token) or _ORDINAL.fullmatch(token):
            continue
        token = token.lower()
        out.add(token)
        if re.fullmatch(r"v\d[\d.]*", token):
            out.add(token[1:])
    return out


def _metric_numbers(incident: dict[str, Any]) -> set[str]:
    """Each metric as a count, or a duration in seconds, minutes or hours (and the parts of
    the draft's `24m 34s`)."""
    out: set[str] = set()
    for name, value in (incident.get("metrics") or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out |= _duration_numbers(float(value)) if name.endswith("_s") else {_norm_number(str(int(value)))}
    return out


def _duration_numbers(seconds: float) -> set[str]:
    seconds = abs(seconds)
    whole = int(round(seconds))
    minutes, hours = seconds / 60, seconds / 3600
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    out = {str(v) for v in (whole, int(seconds), int(minutes), round(minutes), h, m, s, int(hours), round(hours))}
    return out | {_norm_number(f"{minutes:.1f}"), _norm_number(f"{hours:.1f}")}


def _cited_times(rows: list[dict[str, Any]]) -> set[datetime]:
    out = set()
    for row in rows:
        for key in ("ts", "last_ts"):
            if row.get(key):
                out.add(datetime.fromisoformat(row[key].replace("Z", "+00:00")).astimezone(timezone.utc))
    return out


def _spans(times: set[datetime]) -> set[str]:
    """The time between two cited events, in seconds, minutes and hours."""
    ordered = sorted(times)
    out: set[str] = set()
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            out |= _duration_numbers((b - a).total_seconds()) - {"0"}
    return out


def _name_parts(person: str) -> list[str]:
    """A person's full name, then each part of it long enough to be a name on its own."""
    parts = [person] + [p for p in re.split(r"[\s.@_]+", person) if len(p) >= 3 and p[:1].isupper()]
    return list(dict.fromkeys(parts))
