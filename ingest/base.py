"""The connector interface.

A connector declares what it is next to its code (type, native id, cursor, time format,
partition) and yields raw records for one partition and one half-open window
[since, until). It never writes to the lake: the orchestrator does that, and moves the
cursor only once the records are durable.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping


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

    def payload_json(self) -> str:
        return json.dumps(self.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


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
    type: ClassVar[str]
    native_id: ClassVar[str]        # the field that identifies a record in its source
    cursor_field: ClassVar[str]     # the field the cursor follows
    time_format: ClassVar[str]      # how the source writes time (see contract.times)
    time_zone: ClassVar[str | None] = "UTC"   # zone of naive times, None if always zoned
    partition_by: ClassVar[str] = "source"    # what one cursor covers
    # config keys: required in API mode, optional in any mode
    api_keys: ClassVar[tuple[str, ...]] = ()
    optional_keys: ClassVar[tuple[str, ...]] = ()
    secret_keys: ClassVar[tuple[str, ...]] = ("token", "password", "email", "user")
    file_based: ClassVar[bool] = False        # reads path: only, never an API

    def __init__(self, settings: SourceSettings):
        self.settings = settings
        self.name = settings.name

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

    def incident_window(self, native_id: str) -> Window | None:
        """The seed's own window (created..resolved) when this source owns the seed."""
        return None

    def close(self) -> None:
        pass
