"""Fixtures for the connector tests: instant, recorded retry sleeps and a fake per type."""
from __future__ import annotations

import pytest

import incident_timeline.ingest.http
from incident_timeline import ingest


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Every retry wait asked for, in seconds; nothing actually sleeps."""
    waits: list[float] = []
    monkeypatch.setattr(ingest.http, "sleep", waits.append)
    return waits


@pytest.fixture
def new_server():
    """A factory of extra local HTTP servers: one per fake when several run at once."""
    from pytest_httpserver import HTTPServer

    servers = []

    def make() -> HTTPServer:
        server = HTTPServer(host="localhost", port=0)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.clear()
        if server.is_running():
            server.stop()
