"""A backfill killed with SIGKILL at any moment, then rerun, gives exactly a clean run's events."""
from __future__ import annotations

import random
import signal
import time

import duckdb

KILLS = 10


def _event_set(job) -> set[tuple]:
    con = duckdb.connect(str(job.catalog), read_only=True)
    try:
        rows = con.execute("SELECT event_id, ts, kind, title, body, refs FROM events").fetchall()
        assert len(rows) == len({r[0] for r in rows})   # no event twice, whatever the files hold
    finally:
        con.close()
    return {(eid, ts, kind, title, body, tuple(refs)) for eid, ts, kind, title, body, refs in rows}


def test_sigkill_at_random_points_loses_and_duplicates_nothing(job_factory):
    clean = job_factory("clean")
    t0 = time.monotonic()
    done = clean.run("backfill")
    clean_s = time.monotonic() - t0
    assert done.returncode == 0, done.stderr
    expected = _event_set(clean)
    assert len(expected) > 40

    # Each trial starts from an empty lake, so the kill can land in any phase of a first
    # run (start-up, fetching, writing raw, moving cursors, normalising, compacting,
    # publishing the catalog), and the rerun must pick up exactly where it stopped.
    rng = random.Random(20261123)
    killed = trials = 0
    while killed < KILLS:
        trials += 1
        assert trials <= 2 * KILLS, f"only {killed} of {trials} runs were still going when killed"
        crashed = job_factory(f"crashed-{trials}")
        proc = crashed.start("backfill")
        time.sleep(rng.uniform(0.05, clean_s))
        if proc.poll() is not None:
            continue
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        killed += 1
        rerun = crashed.run("backfill")
        assert rerun.returncode == 0, rerun.stderr
        assert _event_set(crashed) == expected, f"trial {trials}"
