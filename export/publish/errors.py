"""One error type for every publish target: a line that names the target."""
from __future__ import annotations

from incident_timeline.ingest.errors import SourceError


class PublishError(SourceError):
    """A target could not publish: `target confluence: space ENG not found ...`."""

    def __init__(self, target: str, message: str):
        super().__init__(target, message, role="target")
