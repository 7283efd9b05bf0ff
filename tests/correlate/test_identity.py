"""Incident identity: one incident is one row whatever ref it is built from; aliases; merge
and forget, kept across later builds and a lost catalog."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb
import pytest
import yaml
from click.testing import CliRunner

import incident_timeline.lake.catalog as catalog
from incident_timeline import pipeline
from incident_timeline.lake import shared_tables
from incident_timeline.cli import main
from incident_timeline.config import load_config
from incident_timeline.lake.layout import Lake
from tests.correlate.lakes import SCENARIOS, lake_config, load_scenario, scenario_events, write_events
from tests.support import DEMO_INCIDENT, REPO, demo_sources, publish_files, write_config

FOUR_REFS = (DEMO_INCIDENT, "jira:OPS-1234", "slack:#inc-4213-checkout", "slack:C05INC4213")


def _cli(config, *args):
    return CliRunner().invoke(main, ["--config", str(config), *args])


def _query(path, sql, params=()):
    con = catalog.connect(path, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_four_refs(tmp_path_factory):
    """The demo ingested once, then built from four of its refs through the CLI."""
    tmp = tmp_path_factory.mktemp("four-refs")
    config = write_config(tmp, demo_sources())
    assert _cli(config, "ingest").exit_code == 0
    for ref in FOUR_REFS:
        out = tmp / "out" / ref.replace(":", "-").replace("#", "")
        result = _cli(config, "build", ref, "--format", "json", "--out", str(out))
        assert result.exit_code == 0, result.output
    return config, tmp


def test_the_demo_built_from_four_refs_is_one_incident(demo_four_refs):
    config, _ = demo_four_refs
    path = load_config(config).lake / "catalog.duckdb"
    assert _query(path, "SELECT incident_id, seed FROM incidents") == [(DEMO_INCIDENT, "slack:C05INC4213")]
    assert _query(path, "SELECT incidents, resolved FROM resolve_time_by_month") == [(1, 1)]
    assert _query(path, "SELECT incidents, items FROM action_item_closure") == [(1, 1)]
    assert _query(path, "SELECT ref FROM action_items") == [("jira:OPS-1240",)]
    aliases = dict(_query(path, "SELECT alias, kind FROM incident_aliases WHERE incident_id = ?", [DEMO_INCIDENT]))
    assert {a: aliases[a] for a in FOUR_REFS} == {DEMO_INCIDENT: "identity", "jira:OPS-1234": "seed",
                                                  "slack:#inc-4213-checkout": "seed", "slack:C05INC4213": "seed"}
    assert aliases["jira:OPS-1240"] == "ref"
    (listed,) = _query(path, "SELECT aliases FROM incidents")
    assert set(listed[0]) == set(aliases) - {DEMO_INCIDENT}


def test_every_alias_gives_the_same_draft_with_its_identity(demo_four_refs):
    _, tmp = demo_four_refs
    drafts = {ref: json.loads((tmp / "out" / ref.replace(":", "-").replace("#", "") / "postmortem.json")
                              .read_text(encoding="utf-8")) for ref in FOUR_REFS}
    for ref, draft in drafts.items():
        assert draft["incident"]["id"] == ref                       # as typed, as before
        assert draft["incident"]["identity"] == DEMO_INCIDENT
        assert "jira:OPS-1234" in draft["incident"]["aliases"]
        assert draft["action_items"] == drafts[DEMO_INCIDENT]["action_items"]
        assert [r["event_ids"] for r in draft["timeline"]] == [r["event_ids"] for r in drafts[DEMO_INCIDENT]["timeline"]]


def test_the_lake_tables_and_the_portable_sql_count_it_once(demo_four_refs):
    config, _ = demo_four_refs
    lake = Lake.for_config(load_config(config))
    assert len(shared_tables.table_uris(lake, "incidents")) == 1
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute((REPO / "sql" / "duckdb_compat.sql").read_text())
        for table in ("incidents", "incident_services", "action_items"):
            con.read_parquet(shared_tables.table_uris(lake, table)).create_view(table)
        sql = (REPO / "sql" / "cross_incident" / "resolve_time_by_month.sql").read_text()
        assert con.execute(f"SELECT service, incidents FROM ({sql})").fetchall() == [("checkout-api", 1)]
        sql = (REPO / "sql" / "cross_incident" / "action_item_closure.sql").read_text()
        assert con.execute(f"SELECT incidents, items FROM ({sql})").fetchall() == [(1, 1)]
    finally:
        con.close()


def test_the_incidents_command_lists_one_row_per_incident(demo_four_refs):
    config, _ = demo_four_refs
    result = _cli(config, "incidents", "--format", "json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert row["id"] == DEMO_INCIDENT and row["service"] == "checkout-api" and row["severity"] == "SEV1"
    assert (row["detected"], row["resolved"]) == ("2026-10-14T14:02:11Z", "2026-10-14T14:31:10Z")
    assert set(FOUR_REFS[1:]) <= set(row["aliases"])
    assert row["draft_built_at"].endswith("Z")
    table = _cli(config, "incidents")
    assert table.exit_code == 0 and DEMO_INCIDENT in table.output and "draft_built_at" in table.output


# ------------------------------------------------------------- an incident built from an alias first

def _event(eid, kind, ts, refs, source="pd", service=None, title="", actor_type="system"):
    return {"event_id": f"{source}/{eid}", "source": source,
            "source_type": {"pd": "pagerduty", "slack": "slack", "jira": "jira", "og": "opsgenie"}[source],
            "category": kind.split(".")[0], "kind": kind, "ts": ts, "ts_raw": ts.isoformat(), "ts_assumed_tz": None,
            "actor": "Ana" if actor_type == "human" else None, "actor_type": actor_type, "actor_id": None,
            "subject": None, "title": title, "body": title, "severity": "SEV2" if kind.startswith("alert") else None,
            "service": service, "refs": refs, "url": None, "native_id": eid, "attrs": "{}", "warnings": [],
            "ingested_at": datetime(2026, 11, 1, tzinfo=timezone.utc)}


T0 = datetime(2026, 8, 3, 9, 0, tzinfo=timezone.utc)


def test_a_ticket_built_before_its_page_arrived_is_folded_into_the_page(tmp_path):
    config = lake_config(tmp_path)
    write_events(config.lake, [
        _event("t1", "ticket.created", T0 + timedelta(minutes=5), ["jira:OPS-77", "slack:CX"], "jira",
               title="OPS-77 created: cart errors", actor_type="human"),
        _event("c1", "chat.message", T0 + timedelta(minutes=6), ["slack:CX"], "slack", title="on it",
               actor_type="human")])
    assert pipeline.correlate_incident(config, "jira:OPS-77") == "jira:OPS-77"
    # the page is ingested later; the channel names it
    folder = config.lake / "events" / "source=pd" / "date=2026-08-03"
    folder.mkdir(parents=True)
    import pyarrow as pa
    import pyarrow.parquet as pq
    from incident_timeline.contract.schemas import EVENT_SCHEMA
    pq.write_table(pa.Table.from_pylist([
        _event("p1", "alert.triggered", T0, ["pagerduty:PX"], service="cart"),
        _event("c2", "chat.message", T0 + timedelta(minutes=7), ["slack:CX", "pagerduty:PX"], "slack",
               title="this is PX", actor_type="human"),
        _event("p2", "alert.resolved", T0 + timedelta(minutes=30), ["pagerduty:PX"], service="cart")],
        schema=EVENT_SCHEMA), folder / "later.parquet")
    publish_files(config.lake, [folder / "later.parquet"])      # the page's normalisation, committed
    assert pipeline.correlate_incident(config, "slack:CX") == "pagerduty:PX"
    path = config.lake / "catalog.duckdb"
    assert _query(path, "SELECT incident_id FROM incidents") == [("pagerduty:PX",)]
    assert ("jira:OPS-77", "pagerduty:PX", "seed") in _query(path, "SELECT alias, incident_id, kind FROM incident_aliases")
    # building from the ticket again updates the page's incident, never a second one
    assert pipeline.correlate_incident(config, "jira:OPS-77") == "pagerduty:PX"
    assert _query(path, "SELECT incident_id, event_count FROM incidents") == [("pagerduty:PX", 5)]
    lake = Lake.for_config(config)
    assert [u.rsplit("/", 1)[1].split("-")[0] for u in shared_tables.table_uris(lake, "incidents")] == ["pagerduty_PX"]


# ------------------------------------------------------------- merge and forget

def _two_incidents(tmp_path):
    """The clean scenario (opsgenie:og-1) and its repeat 18 days later (opsgenie:og-9)."""
    config = lake_config(tmp_path)
    text = (SCENARIOS / "clean.yaml").read_text(encoding="utf-8")
    later = yaml.safe_load(text.replace("og-1", "og-9").replace("2026-09-02", "2026-09-20"))
    write_events(config.lake, scenario_events(load_scenario("clean"))
                 + [{**e, "event_id": "later-" + e["event_id"]} for e in scenario_events(later)])
    for seed in ("opsgenie:og-1", "opsgenie:og-9"):
        pipeline.correlate_incident(config, seed)
    return config


@pytest.fixture
def merged(tmp_path):
    config = _two_incidents(tmp_path)
    path = config.lake / "catalog.duckdb"
    counts = dict(_query(path, "SELECT incident_id, event_count FROM incidents"))
    assert pipeline.merge_incidents(config, "opsgenie:og-1", "opsgenie:og-9") == "opsgenie:og-1"
    return config, path, counts


def test_merge_makes_one_incident_from_both(merged):
    config, path, counts = merged
    assert _query(path, "SELECT incident_id, event_count FROM incidents") == [
        ("opsgenie:og-1", counts["opsgenie:og-1"] + counts["opsgenie:og-9"])]
    assert ("opsgenie:og-9", "merged") in _query(
        path, "SELECT alias, kind FROM incident_aliases WHERE incident_id = 'opsgenie:og-1'")
    assert _query(path, "SELECT decision, incident_id, other FROM incident_decisions") == [
        ("merge", "opsgenie:og-1", "opsgenie:og-9")]
    assert _query(path, "SELECT count(*) FROM repeat_incidents") == [(0,)]
    assert _query(path, "SELECT service, incidents FROM resolve_time_by_month WHERE service = 'payments-api'") == [
        ("payments-api", 1)]
    lake = Lake.for_config(config)
    assert len(shared_tables.table_uris(lake, "incidents")) == 1
    assert shared_tables.read_decisions(lake).to_pylist()[0]["other"] == "opsgenie:og-9"


def test_no_later_build_undoes_a_merge_even_with_the_catalog_lost(merged):
    config, path, counts = merged
    assert pipeline.correlate_incident(config, "opsgenie:og-9") == "opsgenie:og-1"
    assert _query(path, "SELECT incident_id FROM incidents") == [("opsgenie:og-1",)]
    path.unlink()             # a lost catalog: the decision comes back from the lake
    pipeline.ingest(config)
    assert pipeline.correlate_incident(config, "opsgenie:og-9") == "opsgenie:og-1"
    assert _query(path, "SELECT incident_id, event_count FROM incidents") == [
        ("opsgenie:og-1", counts["opsgenie:og-1"] + counts["opsgenie:og-9"])]
    assert _query(path, "SELECT decision, other FROM incident_decisions") == [("merge", "opsgenie:og-9")]


def test_forget_removes_an_incident_named_by_any_alias_until_it_is_built_again(tmp_path):
    config = lake_config(tmp_path)
    write_events(config.lake, scenario_events(load_scenario("clean")))
    pipeline.correlate_incident(config, "opsgenie:og-1")
    write_config(tmp_path, demo_sources())      # the CLI's config: the same lake
    result = _cli(config.path, "incidents", "forget", "slack:CPAY")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "forgot opsgenie:og-1"
    path = config.lake / "catalog.duckdb"
    for table in ("incidents", "timeline", "action_items", "incident_aliases"):
        assert _query(path, f"SELECT count(*) FROM {table}") == [(0,)], table
    assert _query(path, "SELECT count(*) FROM resolve_time_by_month") == [(0,)]
    lake = Lake.for_config(config)
    assert shared_tables.table_uris(lake, "incidents") == []
    assert [d["decision"] for d in shared_tables.read_decisions(lake).to_pylist()] == ["forget"]
    assert _cli(config.path, "incidents", "--format", "json").output.strip() == "[]"
    assert pipeline.correlate_incident(config, "opsgenie:og-1") == "opsgenie:og-1"
    assert _query(path, "SELECT count(*) FROM incidents") == [(1,)]
    assert shared_tables.read_decisions(lake).num_rows == 0


def test_merge_and_forget_refuse_in_one_line(tmp_path):
    config = lake_config(tmp_path)
    write_events(config.lake, scenario_events(load_scenario("clean")))
    pipeline.correlate_incident(config, "opsgenie:og-1")
    write_config(tmp_path, demo_sources())      # the CLI's config: the same lake
    same = _cli(config.path, "incidents", "merge", "opsgenie:og-1", "slack:CPAY")
    assert same.exit_code == 1
    assert same.output.strip() == "error: opsgenie:og-1 and slack:CPAY are already one incident (opsgenie:og-1)"
    unknown = _cli(config.path, "incidents", "forget", "jira:NOPE-1")
    assert unknown.exit_code == 1 and len(unknown.output.strip().splitlines()) == 1
    assert "no built incident is named jira:NOPE-1" in unknown.output


def test_a_channel_built_by_name_before_its_page_is_folded_into_the_page(tmp_path):
    config = lake_config(tmp_path)
    chat = _event("c1", "chat.message", T0 + timedelta(minutes=6), ["slack:CY"], "slack", title="cart is down",
                  actor_type="human")
    write_events(config.lake, [{**chat, "attrs": json.dumps({"channel": "CY", "channel_name": "inc-cart"})}])
    assert pipeline.correlate_incident(config, "slack:#inc-cart") == "slack:CY"     # its id, not its name
    import pyarrow as pa
    import pyarrow.parquet as pq
    from incident_timeline.contract.schemas import EVENT_SCHEMA
    folder = config.lake / "events" / "source=pd" / "date=2026-08-03"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([
        _event("p1", "alert.triggered", T0, ["pagerduty:PY", "slack:CY"], service="cart"),
        _event("p2", "alert.resolved", T0 + timedelta(minutes=30), ["pagerduty:PY"], service="cart")],
        schema=EVENT_SCHEMA), folder / "later.parquet")
    publish_files(config.lake, [folder / "later.parquet"])
    assert pipeline.correlate_incident(config, "pagerduty:PY") == "pagerduty:PY"
    path = config.lake / "catalog.duckdb"
    assert _query(path, "SELECT incident_id FROM incidents") == [("pagerduty:PY",)]
    aliases = dict(_query(path, "SELECT alias, kind FROM incident_aliases WHERE incident_id = 'pagerduty:PY'"))
    assert aliases["slack:#inc-cart"] == "seed" and aliases["slack:CY"] == "seed"


def test_a_damaged_catalog_comes_back_with_the_merge_the_aliases_and_the_draft_times(tmp_path):
    cfg = write_config(tmp_path, demo_sources())
    assert _cli(cfg, "ingest").exit_code == 0
    for ref in (DEMO_INCIDENT, "jira:OPS-1234", "pagerduty:Q9Z8Y7X"):
        assert _cli(cfg, "build", ref, "--format", "json", "--out", str(tmp_path / "out")).exit_code == 0
    # the two demo incidents are not one; merged here only to have a decision to lose
    assert _cli(cfg, "incidents", "merge", DEMO_INCIDENT, "pagerduty:Q9Z8Y7X").exit_code == 0
    path = load_config(cfg).lake / "catalog.duckdb"
    before = {sql: _query(path, sql) for sql in (
        "SELECT incident_id, event_count FROM incidents",
        "SELECT alias, incident_id, kind FROM incident_aliases ORDER BY ALL",
        "SELECT decision, incident_id, other, decided_at FROM incident_decisions",
        "SELECT incident_id, first_built_at FROM incident_drafts")}
    assert before["SELECT incident_id, first_built_at FROM incident_drafts"][0][0] == DEMO_INCIDENT
    path.write_bytes(b"this is not a DuckDB database\n" * 500)
    again = _cli(cfg, "incidents", "merge", "jira:OPS-1234", "pagerduty:Q9Z8Y7X")   # recovers first
    assert again.exit_code == 1 and "already one incident" in again.output
    assert {sql: _query(path, sql) for sql in before} == before
