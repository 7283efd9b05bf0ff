"""Issue 3's "done when", through the CLI: three fake vendor APIs, configured only in
connectors.yaml, one `ingest --since --until`, every record once with its right UTC time,
thread replies and PagerDuty entries in a non-UTC account zone included, rate limited."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from incident_timeline.ingest.base import Window
from tests.ingest.fakes.jira import JiraCloudFake
from tests.ingest.fakes.pagerduty import PagerDutyFake
from tests.ingest.fakes.slack import SlackFake
from tests.ingest.test_conformance import COUNT, SPACING, START, cli_ingest
from tests.support import write_config


def _lake(tmp_path, part: str) -> pa.Table:
    files = sorted((tmp_path / "lake" / part).rglob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]) if files else None


def test_ingest_a_window_from_three_real_shaped_apis(tmp_path, new_server, monkeypatch, sleeps):
    fakes = [SlackFake(new_server()), PagerDutyFake(new_server()), JiraCloudFake(new_server())]
    for fake in fakes:
        for var, value in fake.environment().items():
            monkeypatch.setenv(var, value)
        fake.populate(START, COUNT, SPACING)
        fake.fail_next(429, {"Retry-After": "2"}, times=2)
    fakes[1].honour_time_zone = False   # PagerDuty renders in America/New_York
    window = Window(START + SPACING + timedelta(minutes=30), START + 5 * SPACING)

    result = cli_ingest(write_config(tmp_path, [f.source_entry() for f in fakes]), window)
    assert result.exit_code == 0, result.output
    assert sleeps.count(max(sleeps)) >= 1 and max(sleeps) >= 2   # Retry-After honoured

    raw = _lake(tmp_path, "raw")
    got = Counter(zip(raw.column("source").to_pylist(), raw.column("stream").to_pylist(),
                      raw.column("native_id").to_pylist()))
    want = Counter((f.name, e.stream, e.native_id) for f in fakes for e in f.expected(window))
    assert got == want                                           # every record, exactly once
    streams = {(s, st) for s, st, _ in got}
    assert ("chat", "replies") in streams and ("pd", "log_entries") in streams

    events = _lake(tmp_path, "events")
    times = dict(zip(zip(events.column("source").to_pylist(), events.column("native_id").to_pylist()),
                     events.column("ts").to_pylist()))
    for fake in fakes:
        for native_id, at in fake.event_times(window).items():
            assert times.get((fake.name, native_id)) == at, (fake.name, native_id)
    kinds = Counter(events.column("kind").to_pylist())
    assert kinds["chat.reply"] >= 2 and kinds["alert.resolved"] >= 1
    assert _lake(tmp_path, "rejects") is None
