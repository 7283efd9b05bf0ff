"""Errors with context: the source, the stream, the page or record, and what to do.

Their messages reach stderr, the logs and the catalog's `runs`: every known token shape in
one is redacted (contract.secrets), whoever built it.
"""
from __future__ import annotations

from incident_timeline.contract.secrets import redact


class SourceError(Exception):
    """Something went wrong fetching from a source. `fatal` stops that source."""

    fatal = True

    def __init__(self, source: str, message: str, *, stream: str | None = None,
                 page: str | None = None, role: str = "source"):
        self.source = source
        self.stream = stream
        self.page = page
        where = f"{role} {source}"   # role: `target` for a publish target (publish/)
        if stream:
            where += f", {stream}"
        if page:
            where += f" ({page})"
        super().__init__(redact(f"{where}: {message}"))


class AuthError(SourceError):
    """Bad or missing credentials, or a missing permission/scope."""

    status: int | None = None   # the HTTP status that said so, when one did


class ConfigError(SourceError):
    """The source's configuration cannot work (missing folder, bad option)."""


class RetriesExhausted(SourceError):
    """429/5xx/connection errors kept coming after every retry."""


class PaginationError(SourceError):
    """The API repeated a cursor or page: stop instead of looping forever."""
