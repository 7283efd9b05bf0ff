"""`redact: events` / `redact: [events, raw]`: secrets pasted in chat redacted in the events
(and in raw when asked), by both normaliser paths alike; with the switch off, nothing changes."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from incident_timeline.cli import main
from incident_timeline.config import ConfigInvalid, load_config
from incident_timeline.normalize.mapping import SourceSpec
from tests.export.hostile import SECRETS, hostile_config
from tests.normalize.test_fast_alerts import both, raw_table
from tests.support import write_config

TEXT = ("deploy failed, bot token {slack} and key {aws}; retry with password={password} "
        "at https://ci.example/job?token=abc123def456 see <https://ci.example/x|the job>")
REDACTED = ("title", "body", "url", "attrs")   # what the switch may change


def _messages(n: int = 6) -> list[tuple]:
    rows = []
    for i in range(n):
        message = {"type": "message", "user": "U0ANA", "text": TEXT.format(**SECRETS) + f" #{i}",
                   "ts": f"17919874{i:02d}.000100", "team": "T01ACME0HQ"}
        if i % 3 == 2:   # a shape the vectorised path leaves to the mapper
            message.update({"subtype": "bot_message", "bot_id": "B01", "username": "ci",
                            "attachments": [{"title": f"job {SECRETS['github']}", "text": TEXT.format(**SECRETS)}]})
        rows.append(("messages", f"C0INC42:{message['ts']}", "C0INC42", message))
    return rows


def _spec(redact=()):
    return SourceSpec("slack", "slack", options={"redact": redact} if redact else {})


def test_redact_events_replaces_the_secrets_and_nothing_else():
    raw = raw_table("slack", _messages())
    (plain, _), _ = both(raw, _spec())
    (fast, fast_rejects), (slow, slow_rejects) = both(raw, _spec(("events",)))
    assert fast == slow and fast_rejects == slow_rejects      # both paths agree with the switch on
    assert SECRETS["slack"] in str(plain)                      # off: as the source wrote it
    text = str(fast)
    for secret in SECRETS.values():
        assert secret not in text
    assert "[REDACTED slack-token]" in text and "password=[REDACTED password]" in text
    assert [e["event_id"] for e in fast] == [e["event_id"] for e in plain]
    for on, off in zip(fast, plain):
        assert {k: v for k, v in on.items() if k not in REDACTED} == {k: v for k, v in off.items() if k not in REDACTED}
        json.loads(on["attrs"])


def test_the_switch_is_validated_with_the_other_keys(tmp_path):
    source = {"name": "notes", "type": "file", "path": str(tmp_path), "fields": {"ts": "time"}}
    config = load_config(write_config(tmp_path, [source, {**source, "name": "other", "redact": "none"}],
                                      redact="raw"))
    assert [s.options["redact"] for s in config.sources] == [("events", "raw"), ()]
    assert "redact" not in load_config(write_config(tmp_path, [source])).sources[0].options
    with pytest.raises(ConfigInvalid) as err:
        load_config(write_config(tmp_path, [{**source, "redact": ["events", "logs"]}], redact=3))
    assert "redact: must be events, raw" in str(err.value) and "source notes: redact" in str(err.value)
    assert len(err.value.problems) == 2


def test_redact_raw_and_events_keep_secrets_out_of_the_whole_lake(tmp_path):
    config = hostile_config(tmp_path)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    config.write_text(yaml.safe_dump({**data, "redact": ["events", "raw"]}), encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    files = list((tmp_path / "lake").rglob("*.parquet"))
    assert any("raw" in f.parts for f in files) and any(f.parts[-3].startswith("source=") for f in files)
    texts = [pq.read_table(f).to_pandas().to_csv() for f in files]
    for secret in SECRETS.values():
        assert not any(secret in t for t in texts)
    assert any("[REDACTED slack-token]" in t for t in texts)


def test_with_the_switch_on_every_record_still_ends_as_events_or_a_reject(tmp_path):
    import duckdb
    deep = "[" * 900 + '"token=abc123def"' + "]" * 900
    lines = ['{"time": "2026-10-14T14:00:00Z", "note": "password=hunter2", "id": "a"}',
             '{"time": "2026-10-14T14:01:00Z", "note": "nested", "id": "b", "extra": ' + deep + '}',
             '{"time": "2026-10-14T14:02:00Z", "note": 42, "id": "c", "extra": {"k": null}}',
             '{"time": "2026-10-14T14:03:00Z", "note": "\\ud800 lone surrogate, key AKIAIOSFODNN7QWERTYU", "id": "d"}',
             '{"time": "yesterday-ish", "note": "password=hunter2", "id": "e"}']
    notes = tmp_path / "notes.jsonl"
    notes.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = write_config(tmp_path, [{"name": "notes", "type": "file", "path": str(notes), "redact": "raw",
                                      "fields": {"ts": "time", "text": "note", "id": "id", "title": "extra"}}])
    result = CliRunner().invoke(main, ["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(tmp_path / "lake" / "catalog.duckdb"), read_only=True)
    ids = sorted(r[0] for r in con.execute("SELECT native_id FROM events UNION ALL SELECT native_id FROM rejects")
                 .fetchall())
    text = str(con.execute("SELECT * FROM events").fetchall()) + str(con.execute("SELECT * FROM rejects").fetchall())
    assert len(ids) == len(lines)
    assert "hunter2" not in text and "AKIAIOSFODNN7QWERTYU" not in text and "abc123def" not in text
