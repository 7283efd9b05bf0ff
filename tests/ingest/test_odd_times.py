"""Times Python's datetime cannot hold, offsets of 24 h or more, bare numbers and years
outside 1900-2200: each is a reject naming the source, the record and the field, through
the real pipeline, and `ingest` (any window) and `backfill` agree on every one of them."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from incident_timeline.cli import main
from tests.ingest.lakeview import lake_table
from tests.support import write_config

GOOD = "2025-06-01T14:00:00Z"
# value -> what its reject says, whatever the day the run happens
ODD_ISO = {
    "9999-12-31T23:00:00-05:00": "outside 1900-2200",
    "0001-01-01T00:00:00+05:00": "outside 1900-2200",
    "1800-01-01T00:00:00Z": "outside 1900-2200",
    "2025-06-01T14:05:00+25:00": "offset of 24 hours or more",
    "-1": "bare number",
    "-7": "bare number",
}
ODD_NAIVE = {"9999-12-31 23:59:59": "outside 1900-2200"}       # in America/New_York
ODD_EPOCH = {1748786400000: "outside 1900-2200"}               # milliseconds, declared epoch_s

WINDOWS = {
    "ingest": ["ingest", "--since", "2025-06-01T00:00:00Z", "--until", "2025-06-02T00:00:00Z"],
    "wide ingest": ["ingest", "--since", "0001-01-01T00:00:00Z", "--until", "9999-12-31T00:00:00Z"],
    "backfill": ["backfill"],
}


def _pagerduty_pages(root: Path) -> Path:
    """Recorded /incidents and /incidents/{id}/log_entries pages, PagerDuty's fields."""
    incident = {"id": "PODD1", "type": "incident", "incident_number": 77, "title": "disk full on db-3",
                "summary": "[#77] disk full on db-3", "status": "resolved", "urgency": "high",
                "created_at": GOOD, "updated_at": "2025-06-01T14:30:00Z", "resolved_at": "2025-06-01T14:30:00Z",
                "html_url": "https://acme.pagerduty.com/incidents/PODD1",
                "service": {"id": "PDB", "type": "service_reference", "summary": "db"}}
    ref = {"id": "PODD1", "type": "incident_reference", "summary": incident["summary"]}
    entries = [{"id": f"RODD{i}", "type": "annotate_log_entry", "summary": "Note added", "created_at": value,
                "channel": {"type": "note", "summary": f"note {i}"}, "note": f"note {i}",
                "agent": {"id": "PBOB", "type": "user_reference", "summary": "Bob Ops"}, "incident": ref}
               for i, value in enumerate(ODD_ISO)]
    entries.append({"id": "RGOOD", "type": "trigger_log_entry", "summary": "Triggered through the API.",
                    "created_at": GOOD, "channel": {"type": "api"}, "incident": ref,
                    "agent": {"id": "PAPI", "type": "service_reference", "summary": "db monitor"}})
    folder = root / "pagerduty"
    (folder / "incidents" / "PODD1").mkdir(parents=True)
    page = {"limit": 100, "offset": 0, "more": False, "total": None}
    (folder / "incidents.json").write_text(json.dumps({**page, "incidents": [incident]}))
    (folder / "incidents" / "PODD1" / "log_entries.json").write_text(json.dumps({**page, "log_entries": entries}))
    return folder


def _lines(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _sources(root: Path) -> list[dict]:
    notes = [{"id": f"n{i}", "time": v, "note": "odd"} for i, v in enumerate([*ODD_ISO, *ODD_NAIVE])]
    notes.append({"id": "n-good", "time": "2025-06-01 10:00:00", "note": "disk at 99%"})
    epochs = [{"id": f"e{i}", "at": v, "what": "odd"} for i, v in enumerate(ODD_EPOCH)]
    epochs.append({"id": "e-good", "at": 1748786400, "what": "cleared /var/log"})
    return [
        {"name": "pagerduty", "type": "pagerduty", "path": str(_pagerduty_pages(root))},
        {"name": "notes", "type": "file", "path": str(_lines(root / "notes.jsonl", notes)),
         "timezone": "America/New_York", "fields": {"ts": "time", "text": "note", "id": "id"}},
        {"name": "epochs", "type": "file", "path": str(_lines(root / "epochs.jsonl", epochs)),
         "time_format": "epoch_s", "fields": {"ts": "at", "text": "what", "id": "id"}},
    ]


def _expected() -> dict[tuple[str, str], tuple[str, str]]:
    """(source, record) -> (field, what the reason says)."""
    out = {("pagerduty", f"RODD{i}"): ("created_at", says) for i, says in enumerate(ODD_ISO.values())}
    out.update({("notes", f"n{i}"): ("time", says) for i, says in enumerate([*ODD_ISO.values(), *ODD_NAIVE.values()])})
    out.update({("epochs", f"e{i}"): ("at", says) for i, says in enumerate(ODD_EPOCH.values())})
    return out


def _run(lake_dir: Path, args: list[str]):
    config = write_config(lake_dir, _sources(lake_dir))
    return CliRunner().invoke(main, ["--config", str(config), *args]), config


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    out = {}
    for name, args in WINDOWS.items():
        lake_dir = tmp_path_factory.mktemp(name.replace(" ", "-"))
        result, config = _run(lake_dir, args)
        assert result.exit_code == 0, (name, result.output)
        rejects = {(r["source"], r["native_id"]): r for r in lake_table(lake_dir, "rejects").to_pylist()}
        events = sorted((e["source"], e["native_id"]) for e in lake_table(lake_dir, "events").to_pylist())
        out[name] = (rejects, events, lake_dir, config)
    return out


@pytest.mark.parametrize("command", WINDOWS)
def test_each_odd_time_is_a_reject_naming_source_record_and_field(outcomes, command):
    rejects, events, _, _ = outcomes[command]
    expected = _expected()
    assert sorted(rejects) == sorted(expected)
    for key, (field, says) in expected.items():
        reject = rejects[key]
        assert (reject["stage"], reject["field"]) == ("normalize", field), reject
        assert says in reject["reason"], reject["reason"]
        assert json.loads(reject["record"])   # the record itself, verbatim
    assert ("pagerduty", "RGOOD") in events and ("notes", "n-good") in events and ("epochs", "e-good") in events


def test_ingest_wide_or_not_and_backfill_agree(outcomes):
    seen = {name: ({k: (r["field"], r["reason"]) for k, r in rejects.items()}, events)
            for name, (rejects, events, _, _) in outcomes.items()}
    assert seen["ingest"] == seen["wide ingest"] == seen["backfill"]


def test_a_reject_is_reported_once_not_on_every_run(tmp_path):
    """The recorded PagerDuty pages hold the odd entries on every run, and a window keeps
    a record it cannot place: the rejects view and the run summary still count each once."""
    from incident_timeline import pipeline
    from incident_timeline.config import load_config

    config = load_config(write_config(tmp_path, _sources(tmp_path)))
    runs = [pipeline.backfill(config), pipeline.backfill(config),
            pipeline.ingest(config, since=datetime(2025, 6, 1, tzinfo=timezone.utc),
                            until=datetime(2025, 6, 2, tzinfo=timezone.utc))]
    reported = [{s.source: s.rejects for s in run.sources} for run in runs]
    assert reported[0] == {"pagerduty": 6, "notes": 7, "epochs": 1}
    assert reported[1] == reported[2] == {"pagerduty": 0, "notes": 0, "epochs": 0}
    assert runs[1].sources[0].fetched == 6       # fetched again: the pages are read whole
    con = duckdb.connect(str(tmp_path / "lake" / "catalog.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT source, native_id, count(*) FROM rejects GROUP BY ALL").fetchall()
    finally:
        con.close()
    assert sorted((s, n) for s, n, _ in rows) == sorted(_expected())
    assert {count for _, _, count in rows} == {1}
