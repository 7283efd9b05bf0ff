"""Logging: readable lines by default, JSON lines for log shippers; never a secret."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from incident_timeline.contract.secrets import scrub

from .config import Secret


class SecretScrubber(logging.Filter):
    """Replace any secret value the process has read from the environment with ***, and
    every known token shape (contract.secrets) with its [REDACTED ...] label."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for value in Secret.revealed():
            if value and value in message:
                message = message.replace(value, "***")
        record.msg, record.args = scrub(message), None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat().replace("+00:00", "Z"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        for key in ("run_id", "source", "fetched", "events", "rejects", "seconds", "error", "event"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        return json.dumps(entry, ensure_ascii=False)


def setup(fmt: str = "text", level: str = "info") -> None:
    root = logging.getLogger("incident_timeline")
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(SecretScrubber())
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ"))
    if fmt != "json":
        handler.formatter.converter = __import__("time").gmtime
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
