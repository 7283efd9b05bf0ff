"""docs/catalog.md stays true: every documented column exists, every query runs and returns rows,
and the catalog documents itself in COMMENTs."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import incident_timeline.lake.catalog as catalog
from incident_timeline.contract.schemas import REJECT_SCHEMA
from incident_timeline.lake import tables
from incident_timeline.lake.views import CROSS_INCIDENT_VIEWS
from incident_timeline import pipeline
from incident_timeline.config import load_config
from tests.correlate.lakes import SCENARIOS, load_scenario, scenario_events, write_events
from tests.support import DEMO_INCIDENT, REPO, demo_sources, publish_files, write_config

DOC = (REPO / "docs" / "catalog.md").read_text(encoding="utf-8")


def _shifted_clean() -> dict:
    """The clean scenario again 18 days later under another id: a repeat incident."""
    text = (SCENARIOS / "clean.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text.replace("og-1", "og-9").replace("2026-09-02", "2026-09-20"))


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("catalog")
    config = load_config(write_config(tmp, demo_sources()))
    later = _shifted_clean()
    repeat = [{**e, "event_id": "later-" + e["event_id"]} for e in scenario_events(later)]
    write_events(config.lake, scenario_events(load_scenario("clean")) + repeat
                 + scenario_events(load_scenario("storm")))
    reject_dir = config.lake / "rejects" / "source=jira" / "date=2026-10-14"
    reject_dir.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([{
        "source": "jira", "source_type": "jira", "stage": "normalize", "native_id": "OPS-9", "field": "created",
        "reason": "not a time: 'yesterday'", "record": "{}", "run_id": "r1",
        "rejected_at": datetime(2026, 10, 14, tzinfo=timezone.utc)}], schema=REJECT_SCHEMA), reject_dir / "r1.parquet")
    publish_files(config.lake, [reject_dir / "r1.parquet"], "rejects")
    pipeline.ingest(config)
    for seed in (DEMO_INCIDENT, "opsgenie:og-1", "opsgenie:og-9", "pagerduty:PDB1"):
        pipeline.correlate_incident(config, seed)
    return config.lake / "catalog.duckdb"


@pytest.fixture
def con(catalog_path):
    con = catalog.connect(catalog_path, read_only=True)
    yield con
    con.close()


def _sql_blocks() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC, flags=re.DOTALL)


def _documented_columns() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, body in re.findall(r"^### `(\w+)`\n(.*?)(?=^#|\Z)", DOC, flags=re.DOTALL | re.MULTILINE):
        out[name] = re.findall(r"^\| `(\w+)` \|", body, flags=re.MULTILINE)
    return out


def test_the_doc_has_ten_numbered_examples():
    assert re.findall(r"^(\d+)\. ", DOC.split("## Ten example queries")[1], flags=re.MULTILINE) == [
        str(i) for i in range(1, 11)]


@pytest.mark.parametrize("sql", _sql_blocks(), ids=lambda s: s.split("\n")[0][:50])
def test_every_query_in_the_doc_runs_and_finds_rows(con, sql):
    rows = con.execute(sql).fetchall()
    assert rows, sql


def test_every_documented_column_exists_and_every_table_is_documented(con):
    documented = _documented_columns()
    ours = {t.name for t in tables.ALL_TABLES} | set(CROSS_INCIDENT_VIEWS) | {"events", "rejects"}
    assert ours <= set(documented)
    for name, columns in documented.items():
        actual = [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [name]).fetchall()]
        assert set(columns) == set(actual), name


def test_the_catalog_documents_itself(con):
    names = [t.name for t in tables.ALL_TABLES] + list(CROSS_INCIDENT_VIEWS) + ["events", "rejects"]
    comments = dict(con.execute(
        "SELECT table_name, comment FROM duckdb_tables() UNION ALL "
        "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
    assert all(comments.get(n) for n in names), {n: comments.get(n) for n in names}
    missing = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE list_contains(?, table_name) "
        "AND comment IS NULL", [[t.name for t in tables.ALL_TABLES] + ["events"]]).fetchall()
    assert missing == []


def test_cross_incident_views_see_the_repeat_and_the_closure_rate(con):
    repeats = con.execute("SELECT incident_id, earlier_incident_id, reason, shared, days_apart "
                          "FROM repeat_incidents").fetchall()
    assert repeats == [("opsgenie:og-9", "opsgenie:og-1", "service", "payments-api", 18.0)]
    by_month = con.execute("SELECT month::VARCHAR, service, incidents, median_time_to_resolve_s "
                           "FROM resolve_time_by_month ORDER BY ALL").fetchall()
    assert by_month == [("2026-09-01", "orders-db", 1, 1803.0), ("2026-09-01", "payments-api", 2, 2399.0),
                        ("2026-10-01", "checkout-api", 1, 1739.0)]
    closure = con.execute("SELECT month::VARCHAR, items, done, closure_rate FROM action_item_closure "
                          "ORDER BY month").fetchall()
    assert closure == [("2026-09-01", 2, 0, 0.0), ("2026-10-01", 1, 0, 0.0)]
