"""What a target is handed and what it hands back."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from incident_timeline.config import Secret


@dataclass
class Publication:
    """One page, file, message or link a target wrote (a row of incident_publications)."""
    target: str
    destination: str
    remote_id: str
    url: str | None
    version: int = 1

    def row(self, incident_id: str) -> dict[str, Any]:
        return {"incident_id": incident_id, "target": self.target, "destination": self.destination,
                "remote_id": self.remote_id, "url": self.url, "version": self.version}


@dataclass
class Request:
    """A publish of one incident to one target: what it publishes, what it published before
    (by destination), whether to start anew, and the pages published so far (target -> url)."""
    draft: Any
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)
    new: bool = False
    pages: dict[str, str] = field(default_factory=dict)
    # called at once for each page, file, message or link written, so a crash right after
    # one target's write still leaves the record the next publish updates instead of duplicating
    record: Callable[[Publication], None] = lambda _pub: None

    def before(self, destination: str) -> dict[str, Any] | None:
        return None if self.new else self.previous.get(destination)


def reveal(value: Any) -> Any:
    return value.reveal() if isinstance(value, Secret) else value


def next_version(before: dict[str, Any] | None) -> int:
    return int(before.get("version") or 0) + 1 if before else 1
