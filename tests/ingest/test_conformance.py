"""One suite every API connector passes, against its fake API (tests/ingest/fakes/)."""
from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from incident_timeline.cli import main
from incident_timeline.config import load_config
from incident_timeline.ingest.base import RawRecord, Window
from incident_timeline.ingest.errors import PaginationError
from incident_timeline.ingest.registry import CONNECTORS
from tests.ingest.fakes import FAKES, FakeApi, load_fake
from tests.support import write_config

START = datetime(2026, 3, 9, 22, 0, tzinfo=timezone.utc)   # the fakes' first record
SPACING = timedelta(hours=1)
COUNT = 8                                                    # several pages at page_size 3
WHOLE = Window(START - timedelta(days=1), START + COUNT * SPACING + timedelta(days=1))


@pytest.fixture(params=sorted(FAKES))
def fake(request, httpserver, monkeypatch, sleeps) -> FakeApi:
    api = load_fake(request.param, httpserver)
    for var, value in api.environment().items():
        monkeypatch.setenv(var, value)
    api.populate(START, COUNT, SPACING)
    return api


def config_for(fake: FakeApi, tmp_path: Path) -> Path:
    return write_config(tmp_path, [fake.source_entry()])


def connector_for(entry: dict, tmp_path: Path):
    """The connector that a one-source connectors.yaml holding `entry` builds."""
    settings = load_config(write_config(tmp_path, [entry])).sources[0]
    return CONNECTORS[settings.type](settings)


def fetch_all(fake: FakeApi, tmp_path: Path, window: Window) -> list[RawRecord]:
    return fetch_entry(fake.source_entry(), tmp_path, window)


def fetch_entry(entry: dict, tmp_path: Path, window: Window) -> list[RawRecord]:
    connector = connector_for(entry, tmp_path)
    try:
        return [r for p in connector.partitions() for r in connector.fetch(p, window)]
    finally:
        connector.close()


def keys(records) -> Counter:
    return Counter((r.stream, str(r.native_id)) for r in records)


def expected_keys(fake: FakeApi, window: Window) -> Counter:
    return Counter((e.stream, e.native_id) for e in fake.expected(window))


def cli_ingest(config: Path, window: Window):
    return CliRunner().invoke(main, ["--config", str(config), "ingest",
                                     "--since", window.since.isoformat(),
                                     "--until", window.until.isoformat()])


def test_pages_through_every_record_once(fake, tmp_path):
    records = fetch_all(fake, tmp_path, WHOLE)
    assert keys(records) == expected_keys(fake, WHOLE)
    paths = Counter(r.path for r in fake.served)
    assert max(paths.values()) >= 2, f"no endpoint was paged: {paths}"
    asked = Counter((r.method, r.path, r.query_string, r.get_data()) for r in fake.served)
    assert max(asked.values()) == 1, "a page was fetched twice"


def test_rate_limit_then_success_honours_retry_after(fake, tmp_path, sleeps):
    fake.fail_next(429, {"Retry-After": "7"})
    records = fetch_all(fake, tmp_path, WHOLE)
    assert keys(records) == expected_keys(fake, WHOLE)
    assert sleeps and max(sleeps) >= 7


def test_server_error_then_success(fake, tmp_path, sleeps):
    fake.fail_next(503)
    fake.fail_next(500)
    records = fetch_all(fake, tmp_path, WHOLE)
    assert keys(records) == expected_keys(fake, WHOLE)
    assert len(sleeps) >= 2


def test_bad_auth_is_one_clear_line_and_a_failing_exit(fake, tmp_path):
    fake.break_auth()
    result = cli_ingest(config_for(fake, tmp_path), WHOLE)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if fake.name in line and "FAILED" in line]
    assert len(lines) == 1, result.output
    assert any(word in lines[0].lower() for word in ("auth", "token", "401", "403", "credential"))
    for secret in fake.secrets():
        assert secret not in result.output


def test_empty_range_yields_only_context(fake, tmp_path):
    empty = Window(START - timedelta(days=30), START - timedelta(days=29))
    records = fetch_all(fake, tmp_path, empty)
    assert all(r.stream in fake.context_streams for r in records)
    assert keys(records) == expected_keys(fake, empty)


def test_since_until_is_half_open(fake, tmp_path):
    window = Window(START + 2 * SPACING, START + 5 * SPACING)
    wanted = fake.expected(window)
    timed = [e for e in wanted if e.stream not in fake.context_streams]
    assert any(e.at == window.since for e in timed), "the fake must put a record on `since`"
    assert all(window.since <= e.at < window.until for e in timed)
    records = fetch_all(fake, tmp_path, window)
    assert keys(records) == expected_keys(fake, window)


def test_adjacent_windows_fetch_nothing_twice(fake, tmp_path):
    middle = START + 4 * SPACING
    first = fetch_all(fake, tmp_path, Window(WHOLE.since, middle))
    second = fetch_all(fake, tmp_path, Window(middle, WHOLE.until))
    timed = lambda recs: keys(r for r in recs if r.stream not in fake.context_streams)  # noqa: E731
    once = lambda recs: {k for k in timed(recs) if k[0] not in fake.versioned_streams}  # noqa: E731
    assert not once(first) & once(second)
    assert set(timed(first)) | set(timed(second)) == set(timed(fetch_all(fake, tmp_path, WHOLE)))


def test_repeated_cursor_is_an_error(fake, tmp_path):
    fake.loop_pages()
    with pytest.raises(PaginationError) as err:
        fetch_all(fake, tmp_path, WHOLE)
    assert fake.name in str(err.value)


def _lake_events(tmp_path: Path) -> pa.Table:
    files = sorted((tmp_path / "lake" / "events").rglob("*.parquet"))
    assert files, "no events were written"
    return pa.concat_tables([pq.read_table(f) for f in files])


def test_events_are_utc_with_the_right_times_and_unique_ids(fake, tmp_path):
    result = cli_ingest(config_for(fake, tmp_path), WHOLE)
    assert result.exit_code == 0, result.output
    events = _lake_events(tmp_path)
    assert events.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    ids = events.column("event_id").to_pylist()
    assert len(ids) == len(set(ids))
    got = dict(zip(events.column("native_id").to_pylist(), events.column("ts").to_pylist()))
    want = fake.event_times(WHOLE)
    assert want, "the fake must name the events it expects"
    assert {k: got.get(k) for k in want} == want
    rejects = list((tmp_path / "lake" / "rejects").rglob("*.parquet"))
    assert not rejects, "clean API data must give no rejects"


def test_secrets_never_reach_the_lake_or_the_logs(fake, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    fake.fail_next(429, {"Retry-After": "1"})
    result = cli_ingest(config_for(fake, tmp_path), WHOLE)
    assert result.exit_code == 0, result.output
    fake.break_auth()
    failed = cli_ingest(config_for(fake, tmp_path), WHOLE)
    texts = [result.output, failed.output, caplog.text]
    for path in (tmp_path / "lake").rglob("*"):
        if path.suffix == ".parquet":
            texts.append(pq.read_table(path).to_pandas().to_csv())
        elif path.is_file():
            texts.append(path.read_bytes().decode("latin-1"))
    for secret in fake.secrets():
        assert not any(secret in t for t in texts)
