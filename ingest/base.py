"""The connector interface.

A connector declares its type (whose time format and native id field live in
`contract.sources`, which normalize reads too) and its config keys, and yields raw records for one partition and one half-open window
[since, until). It never writes to the lake: the orchestrator does that, and moves the
cursor only once the records are durable.
"""
from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Iterator, Mapping

from incident_timeline.contract.sources import SOURCE_TYPES
from incident_timeline.contract.text import SURROGATE
from incident_timeline.contract.unreadable import MAX_SHOWN, UNREADABLE

# What a record's own content can raise while it is taken (a string where an object
# belongs, an int where a time string does, JSON nested too deep, an id out of range):
# the record becomes an `unreadable` one, the run goes on. Anything else (SourceError:
# auth, network, a body that is not JSON) still fails the source.
RECORD_ERRORS = (TypeError, ValueError, LookupError, AttributeError, RecursionError, UnicodeError,
                 OverflowError)
# json.dumps with options builds an encoder per call; one serves every record
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Window:
    """Half-open [since, until); None means unbounded on that side. Always UTC-aware."""

    since: datetime | None = None
    until: datetime | None = None

    def __contains__(self, ts: datetime | None) -> bool:
        """The one window rule: a record whose time cannot be placed (None from
        `timefilter`: unreadable, outside 1900-2200, no whole date) is kept, never dropped,
        and normalize rejects it with its reason; a placeable time outside the window
        belongs to another window and is left for it."""
        if ts is None:
            return True
        if self.since is not None and ts < self.since:
            return False
        if self.until is not None and ts >= self.until:
            return False
        return True


@dataclass
class RawRecord:
    stream: str            # endpoint or entity: log_entries, messages, users, issues
    native_id: str
    payload: Mapping[str, Any]
    partition: str = ""    # cursor partition: channel, service, project
    parent_id: str | None = None
    _json: str | None = field(default=None, repr=False, compare=False)

    def payload_json(self) -> str:
        """The payload as stored in raw: verbatim JSON, except that a lone surrogate (an
        escaped "\\ud800", which UTF-8 cannot hold) is stored as U+FFFD. Written once: the
        guard that takes the record writes it, the raw writer reuses it."""
        if self._json is None:
            text = _ENCODER.encode(self.payload)
            self._json = SURROGATE.sub("\ufffd", text) if SURROGATE.search(text) else text
        return self._json


class Tracked(dict):
    """An item that failed to be taken, taken again as a copy that remembers the last
    field read, dotted (`fields.updated`): the field a value of the wrong type is in."""

    __slots__ = ("_path", "_last")

    def __init__(self, data: Mapping, path: str = "", last: list | None = None):
        super().__init__(data)
        self._path = path
        self._last = last if last is not None else [""]

    @property
    def last_field(self) -> str:
        return self._last[0]

    def _seen(self, key: Any, value: Any) -> Any:
        name = f"{self._path}.{key}" if self._path else str(key)
        self._last[0] = name
        if value.__class__ is dict:
            return Tracked(value, name, self._last)
        return value

    def __getitem__(self, key):
        self._last[0] = f"{self._path}.{key}" if self._path else str(key)
        return self._seen(key, dict.__getitem__(self, key))

    def get(self, key, default=None):
        return self._seen(key, dict.get(self, key, default))

    def pop(self, key, *default):
        return self._seen(key, dict.pop(self, key, *default))


def too_deep(where: str, text: str) -> PageProblem:
    """A body that is JSON nested deeper than Python reads: one unreadable record, not
    the source's failure (what could be read of it is kept as text)."""
    return PageProblem("<body>", f"{where} is JSON nested too deep to read", text[:MAX_SHOWN])


@dataclass
class PageProblem:
    """A page (or a file's document) that holds no list of items where one belongs: it
    is taken as one unreadable record naming the field."""

    field: str
    reason: str
    page: Any


def items_of(page: Any, key: str, what: str = "the page") -> list:
    """`page[key]`, the list of items in an API page. Absent or null is no items; a page
    that is not an object, or a `key` that is not a list, is one PageProblem instead."""
    if isinstance(page, PageProblem):   # a body that could not be read as a page at all
        return [page]
    if not isinstance(page, dict):
        return [PageProblem("<page>", f"{what} is {_kind(page)}, not an object holding {key}[]", page)]
    items = page.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        return [PageProblem(key, f"{key} is {_kind(items)}, not a list", page)]
    return items


def listed(page: Any, what: str = "the page") -> list:
    """The items of an API answer that is a JSON list (GitHub, GitLab); anything else is one
    PageProblem."""
    if isinstance(page, PageProblem):
        return [page]
    if isinstance(page, list):
        return page
    return [PageProblem("<page>", f"{what} is {_kind(page)}, not a list of items", page)]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in ((bool, "a boolean"), (int, "a number"), (float, "a number"), (str, "a string"),
                       (list, "a list"), (dict, "an object")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def shown(value: Any) -> str:
    """A value as text for a reject, bounded (JSON when it can be written, else its type)."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    except RECORD_ERRORS:
        text = f"<{_kind(value)} nested too deep to write as JSON>"
    return text[:MAX_SHOWN]


def unreadable_record(stream: str, item: Any, field: str, error: str, partition: str = "",
                      parent_id: str | None = None, id_field: str = "id") -> RawRecord:
    """The raw record kept for an item that could not be taken: the item verbatim (as
    text when even that cannot be written), its stream, the field and the reason.
    normalize rejects it (stage `ingest`), so a re-normalise gives the same reject."""
    payload: dict[str, Any] = {"stream": stream, "field": field, "error": error}
    try:
        json.dumps(item, ensure_ascii=False)
        payload["item"] = item
    except RECORD_ERRORS:
        payload["text"] = shown(item)
    digest = hashlib.sha256(shown(item).encode("utf-8", "replace")).hexdigest()[:16]
    return RawRecord(UNREADABLE, f"{stream}:{_hint(item, id_field) or digest}", payload, partition, parent_id)


def _hint(item: Any, id_field: str) -> str | None:
    """The item's own id (the source's id field first), when it has one that reads as one."""
    if isinstance(item, dict):
        for key in (id_field, "id", "key", "ts", "sys_id", "fingerprint"):
            value = dict.get(item, key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and len(str(value)) <= 200:
                return str(value)
    return None


def take(stream: str, items: Iterable[Any], build: Callable[[Any], Any], partition: str = "",
         parent_id: str | None = None, id_field: str = "id") -> Iterator[RawRecord]:
    """The one guard around taking each record: `build(item)` gives the item's raw
    record(s) (or None: not in the window). Whatever the item holds, an error of its own
    content makes it one `unreadable` record naming the field, and the next item is taken."""
    for item in items:
        if isinstance(item, PageProblem):
            yield unreadable_record(stream, item.page, item.field, item.reason, partition, parent_id, id_field)
            continue
        try:
            out = build(item)
            records = () if out is None else (out,) if isinstance(out, RawRecord) else tuple(out)
        except RECORD_ERRORS as exc:
            yield unreadable_record(stream, item, _failing_field(build, item), _reason(stream, item, exc),
                                    partition, parent_id, id_field)
            continue
        try:
            for record in records:
                record.payload_json()     # a payload the raw writer could not store fails here
                record.native_id = _id_text(record.native_id)
                record.parent_id = None if record.parent_id is None else _id_text(record.parent_id)
        except RECORD_ERRORS as exc:
            field = id_field if isinstance(exc, _NoId) else "<item>"
            yield unreadable_record(stream, item, field, _reason(stream, item, exc), partition, parent_id, id_field)
            continue
        yield from records


def _failing_field(build: Callable[[Any], Any], item: Any) -> str:
    """The field `build` was reading when it failed: found by taking the item again, this
    time through a Tracked copy (only for an item that failed: the copy costs)."""
    if item.__class__ is not dict:
        return "<item>"
    tracked = Tracked(item)
    try:
        build(tracked)
    except RECORD_ERRORS:
        return tracked.last_field or "<item>"
    return "<item>"


def _id_text(value: Any) -> str:
    """An id as raw stores it: a string; a number as its digits; an object is no id."""
    if isinstance(value, (str, int, float)):
        return str(value)
    raise _NoId(f"an id is {_kind(value)}, not a string")


class _NoId(TypeError):
    pass


def _reason(stream: str, item: Any, exc: BaseException) -> str:
    if not isinstance(item, dict):
        return f"a {stream} item is {_kind(item)}, not an object"
    if isinstance(exc, KeyError):
        return f"{stream} item lacks {exc}"
    if isinstance(exc, RecursionError):
        return f"{stream} item is nested too deep to read"
    return f"cannot read a {stream} item: {type(exc).__name__}: {str(exc)[:200]}"


@dataclass
class SourceSettings:
    """What a connector is given: its name and its validated options from connectors.yaml."""

    name: str
    type: str
    options: Mapping[str, Any] = field(default_factory=dict)
    base_dir: Path = Path(".")

    def get(self, key: str, default: Any = None) -> Any:
        value = self.options.get(key, default)
        return value.reveal() if hasattr(value, "reveal") else value

    def path(self, key: str = "path") -> Path | None:
        value = self.get(key)
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p


class Connector(ABC):
    # --- declared metadata (override in each connector) ---
    type: ClassVar[str]             # a key of contract.sources.SOURCE_TYPES
    # config keys: required in API mode, optional in any mode
    api_keys: ClassVar[tuple[str, ...]] = ()
    optional_keys: ClassVar[tuple[str, ...]] = ()
    secret_keys: ClassVar[tuple[str, ...]] = ("token", "password", "email", "user")
    file_based: ClassVar[bool] = False        # reads path: only, never an API
    # keys whose value *names* an environment variable holding a secret (`api_key_env:
    # STATUSPAGE_API_KEY`): the config reads the variable only when the API is called
    secret_env_keys: ClassVar[tuple[str, ...]] = ()
    default_base_url: ClassVar[str | None] = None   # base_url when an API-mode entry names none

    def __init__(self, settings: SourceSettings):
        self.settings = settings
        self.name = settings.name

    @property
    def time_format(self) -> str:
        """How the source writes time: its type's declaration, which normalize reads too."""
        return SOURCE_TYPES[self.type].time_format

    @property
    def native_id(self) -> str:
        """The field that identifies a record in the source (its type's declaration)."""
        return SOURCE_TYPES[self.type].native_id

    @classmethod
    def required_keys(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        """Keys an API-mode entry must have; override when they depend on other keys."""
        return cls.api_keys

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        """Problems with this type's own options, reported when the config loads."""
        return []

    def partitions(self) -> list[str]:
        return [""]

    @abstractmethod
    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        """Yield every record of `partition` whose cursor time lies in `window`."""

    def resume(self, links: Mapping[str, str]) -> None:
        """Called before a cursor run (never for an explicit --since window) with the links
        the last cursor run left per partition (`next_link`): for an API that lists what
        changed by a link of its own (Graph's delta query). Default: no such links."""

    def next_link(self, partition: str) -> str | None:
        """After fetch(partition) in a cursor run: the link the next run starts from, stored
        with the cursor once the data is durable. None keeps the last one."""
        return None

    def incident_window(self, native_id: str) -> Window | None:
        """The seed's own window (created..resolved) when this source owns the seed."""
        return None

    def take(self, stream: str, items: Iterable[Any], build: Callable[[Any], Any], partition: str = "",
             parent_id: str | None = None) -> Iterator[RawRecord]:
        """See take(): every connector's item loop goes through it."""
        return take(stream, items, build, partition, parent_id, self.native_id.rsplit(".", 1)[-1])

    def close(self) -> None:
        pass
