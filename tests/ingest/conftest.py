"""Fixtures for the connector tests: instant, recorded retry sleeps and a fake per type."""
from __future__ import annotations

import pytest

import ingest.http


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Every retry wait asked for, in seconds; nothing actually sleeps."""
    waits: list[float] = []
    monkeypatch.setattr(ingest.http, "sleep", waits.append)
    return waits
