"""Backfill tests run the real CLI in subprocesses against a fake vendor API on loopback."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from tests.ingest.fakes import load_fake

REPO = Path(__file__).resolve().parents[2]


class Job:
    """A configured lake plus a way to run the CLI on it in a child process."""

    def __init__(self, tmp: Path, fake, name: str = "lake", **options):
        self.fake = fake
        self.dir = tmp / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "connectors.yaml"
        entry = {**fake.source_entry(), **options}
        self.config.write_text(yaml.safe_dump({"lake": str(self.dir / "lake"), "sources": [entry]}),
                               encoding="utf-8")
        self.env = {**os.environ, **fake.environment(), "PYTHONPATH": str(REPO)}

    @property
    def catalog(self) -> Path:
        return self.dir / "lake" / "catalog.duckdb"

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "incident_timeline", "--config", str(self.config), *args],
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = self.start(*args)
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def pagerduty_api(httpserver):
    fake = load_fake("pagerduty", httpserver)
    _add_delay(fake)
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)
    fake.populate(start, 40, timedelta(minutes=17))
    return fake


@pytest.fixture
def job_factory(tmp_path, pagerduty_api):
    return lambda name="lake", **options: Job(tmp_path, pagerduty_api, name, **options)


def _add_delay(fake) -> None:
    """`fake.delay_s` slows every answer, to keep a run busy while a test acts on it."""
    fake.delay_s = 0.0
    route = fake.route

    def slow_route(request):
        if fake.delay_s:
            time.sleep(fake.delay_s)
        return route(request)
    fake.route = slow_route
