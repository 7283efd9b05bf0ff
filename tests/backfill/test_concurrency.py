"""One backfill at a time; readers are never locked out while it writes."""
from __future__ import annotations

import signal
import time

import duckdb


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_second_backfill_refuses_at_once(job_factory, pagerduty_api):
    job = job_factory()
    pagerduty_api.delay_s = 0.05          # slow pages keep the first run busy for a while
    first = job.start("backfill")
    _wait_for(lambda: len(pagerduty_api.requests) > 0)
    t0 = time.monotonic()
    second = job.run("backfill")
    assert time.monotonic() - t0 < 20
    assert second.returncode == 75, second.stderr
    last = second.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: source {pagerduty_api.name} is busy: another run holds it (pid "), last
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err


def test_a_lock_left_by_a_killed_run_is_recovered(job_factory, pagerduty_api):
    job = job_factory()
    pagerduty_api.delay_s = 0.05
    first = job.start("backfill")
    _wait_for(lambda: len(pagerduty_api.requests) > 2)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    pagerduty_api.delay_s = 0.0
    again = job.run("backfill")
    assert again.returncode == 0, again.stderr


def test_an_analyst_reads_the_catalog_while_a_backfill_writes(job_factory, pagerduty_api):
    job = job_factory()
    assert job.run("backfill").returncode == 0
    pagerduty_api.delay_s = 0.01
    writer = job.start("normalize")        # rewrites events and the catalog several times
    answers = []
    while writer.poll() is None:
        t0 = time.monotonic()
        con = duckdb.connect(str(job.catalog), read_only=True)
        try:
            answers.append(con.execute("SELECT count(*) FROM events").fetchone()[0])
        finally:
            con.close()
        assert time.monotonic() - t0 < 5, "a reader waited more than 5 s"
    assert writer.returncode == 0, writer.communicate()[1]
    assert answers and min(answers) > 0
