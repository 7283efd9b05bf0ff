"""Scenario lakes: canonical events (or raw records) written as Parquet into a tmp lake,
then correlated through the pipeline and read back from the catalog."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from incident_timeline.contract.schemas import EVENT_SCHEMA
from incident_timeline import pipeline
from incident_timeline.config import CORRELATION_DEFAULTS, Config
from tests.support import publish_files

SCENARIOS = Path(__file__).parent / "scenarios"
INGESTED = datetime(2026, 11, 1, tzinfo=timezone.utc)


def load_scenario(name: str) -> dict:
    return yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8"))


def scenario_events(spec: dict) -> list[dict]:
    """Events of a scenario file; `storm:` entries repeat every `every` seconds `times` times."""
    day = spec["date"] if isinstance(spec["date"], date) else date.fromisoformat(spec["date"])
    out = [_event(day, e) for e in spec.get("events", [])]
    for s in spec.get("storm", []):
        for i in range(s["times"]):
            out.append(_event(day, {**s, "id": f"{s['id']}-{i + 1}"}, offset_s=i * s["every"]))
    return out


def _event(day: date, e: dict, offset_s: int = 0) -> dict:
    hh, mm, ss = (int(x) for x in e["at"].split(":"))
    ts = datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=timezone.utc) + timedelta(seconds=offset_s)
    return {
        "event_id": f"{e['source']}/{e['id']}", "source": e["source"], "source_type": e["type"],
        "category": e["kind"].split(".")[0], "kind": e["kind"], "ts": ts, "ts_raw": ts.isoformat(),
        "ts_assumed_tz": None, "actor": e.get("actor"), "actor_type": e.get("actor_type", "system"),
        "actor_id": None, "subject": e.get("subject"), "title": e.get("title", ""), "body": e.get("body", e.get("title", "")),
        "severity": e.get("severity"), "service": e.get("service"), "refs": e.get("refs", []), "url": None,
        "native_id": e["id"], "attrs": json.dumps(e.get("attrs", {})), "warnings": [], "ingested_at": INGESTED,
    }


def write_events(lake: Path, events: list[dict]) -> None:
    by_file: dict[tuple[str, str], list[dict]] = {}
    for e in events:
        by_file.setdefault((e["source"], e["ts"].strftime("%Y-%m-%d")), []).append(e)
    written = []
    for (source, day), rows in by_file.items():
        folder = lake / "events" / f"source={source}" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=EVENT_SCHEMA), folder / "scenario.parquet")
        written.append(folder / "scenario.parquet")
    publish_files(lake, written)


def lake_config(tmp_path: Path, **correlation) -> Config:
    return Config(path=tmp_path / "connectors.yaml", lake=tmp_path / "lake", timezone="UTC", sources=[],
                  correlation={**CORRELATION_DEFAULTS, **correlation})


def build(config: Config, seed: str) -> dict[str, list[dict]]:
    """Correlate `seed` through the pipeline; every incident table's rows for it (under the
    identity it was stored as), from the catalog."""
    seed = pipeline.correlate_incident(config, seed)
    con = duckdb.connect(str(config.lake / "catalog.duckdb"), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        out = {}
        for table in ("incidents", "timeline", "incident_events", "milestones", "responders", "escalations",
                      "gaps", "decision_points", "action_items", "incident_links", "status_updates"):
            order = {"timeline": "seq", "incident_events": "event_id", "milestones": "ts, name", "status_updates": "ts",
                     "responders": "first_seen, name", "incident_links": "hop, ref"}.get(table, "1")
            cur = con.execute(f"SELECT * FROM {table} WHERE incident_id = ? ORDER BY {order}", [seed])
            names = [d[0] for d in cur.description]
            out[table] = [dict(zip(names, row)) for row in cur.fetchall()]
        return out
    finally:
        con.close()


def build_scenario(tmp_path: Path, name: str) -> dict[str, list[dict]]:
    """A scenario file's events in a fresh lake, its seed built."""
    spec = load_scenario(name)
    config = lake_config(tmp_path)
    write_events(config.lake, scenario_events(spec))
    return build(config, spec["seed"])


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
