"""One backfill at a time; readers are never locked out while it writes."""
from __future__ import annotations

import signal
import time

import duckdb
import pytest


def _wait_for(predicate, polls: int = 1500) -> None:
    for _ in range(polls):
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail("what the test waits for never happened")


def test_a_second_backfill_refuses_at_once(job_factory, pagerduty_api):
    job = job_factory()
    pagerduty_api.delay_s = 0.05          # slow pages keep the first run busy for a while
    first = job.start("backfill")
    _wait_for(lambda: len(pagerduty_api.requests) > 0)
    second = job.run("backfill")
    assert first.poll() is None            # refused at once: while the first still runs
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
    answers = []     # each read that ended while the writer was still at work
    while writer.poll() is None:
        con = duckdb.connect(str(job.catalog), read_only=True)   # a locked-out reader raises here
        try:
            count = con.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            con.close()
        if writer.poll() is None:
            answers.append(count)
    assert writer.returncode == 0, writer.communicate()[1]
    assert len(answers) >= 2 and min(answers) > 0
