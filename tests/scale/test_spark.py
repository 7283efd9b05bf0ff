"""Spark reads the lake the project wrote and runs the portable cross-incident SQL; the
answers equal DuckDB's on the same Parquet and the catalog's own views."""
from __future__ import annotations

import datetime as dt
import decimal

import duckdb
import pytest
from pyspark.sql import SparkSession
from incident_timeline.lake import shared_tables
from incident_timeline.lake.layout import Lake
from tests.support import REPO

from .history import build_history

SQL = REPO / "sql"
QUERIES = sorted(p.stem for p in (SQL / "cross_incident").glob("*.sql"))
CATALOG_VIEWS = ("resolve_time_by_month", "repeat_incidents", "action_item_closure")
TABLES = ("incidents", "incident_services", "incident_refs", "action_items", "incident_aliases")


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    config, seeds = build_history(tmp_path_factory.mktemp("history"))
    return Lake.for_config(config), seeds


@pytest.fixture(scope="module")
def spark():
    session = (SparkSession.builder.master("local[1]").appName("incident-timeline-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "1")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.memory", "512m")
               .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def spark_lake(spark, history):
    """The lake's tables registered in Spark exactly as a Spark user would."""
    lake, _ = history
    for table in TABLES:
        spark.read.parquet(*shared_tables.table_uris(lake, table)).createOrReplaceTempView(table)
    events = spark.read.option("basePath", lake.uri(lake.events)).parquet(*shared_tables.published_files(lake))
    events.createOrReplaceTempView("events")
    return spark


@pytest.fixture(scope="module")
def duck(history):
    """DuckDB over the same Parquet files (not the catalog), with the compat macros."""
    lake, _ = history
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute((SQL / "duckdb_compat.sql").read_text())
    for table in TABLES:
        con.read_parquet(shared_tables.table_uris(lake, table)).create_view(table)
    con.read_parquet(shared_tables.published_files(lake), hive_partitioning=True).create_view("events")
    yield con
    con.close()


def _value(v):
    if isinstance(v, dt.datetime):
        return (v.astimezone(dt.timezone.utc) if v.tzinfo else v).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (float, decimal.Decimal)):
        return round(float(v), 6)
    return v


def _rows(names: list[str], rows) -> tuple[list[str], list[tuple]]:
    return names, sorted((tuple(_value(v) for v in r) for r in rows), key=repr)


def _duck_rows(con, sql: str):
    cur = con.execute(sql)
    return _rows([d[0] for d in cur.description], cur.fetchall())


def _spark_rows(spark, sql: str):
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType
    df = spark.sql(sql)
    # a Spark timestamp comes back in the Python process's zone: format it in Spark's (UTC)
    shown = [F.date_format(f.name, "yyyy-MM-dd HH:mm:ss").alias(f.name) if isinstance(f.dataType, TimestampType)
             else F.col(f.name) for f in df.schema.fields]
    return _rows(df.columns, df.select(*shown).collect())


def _query(name: str) -> str:
    return (SQL / "cross_incident" / f"{name}.sql").read_text()


@pytest.mark.parametrize("name", QUERIES)
def test_spark_and_duckdb_agree_on_the_portable_sql(name, spark_lake, duck):
    names, rows = _spark_rows(spark_lake, _query(name))
    assert (names, rows) == _duck_rows(duck, _query(name))
    assert len(rows) >= 3


@pytest.mark.parametrize("name", CATALOG_VIEWS)
def test_portable_sql_matches_the_catalog_view(name, history, duck):
    lake, _ = history
    catalog = duckdb.connect(str(lake.catalog), read_only=True)
    try:
        catalog.execute("SET TimeZone = 'UTC'")
        assert _duck_rows(duck, _query(name)) == _duck_rows(catalog, f"SELECT * FROM {name}")
    finally:
        catalog.close()


def test_the_history_covers_what_the_queries_measure(duck, history):
    _, seeds = history
    assert duck.execute("SELECT count(*) FROM incidents").fetchone() == (len(seeds),)
    reasons = {r for (r,) in duck.execute(f"SELECT DISTINCT reason FROM ({_query('repeat_incidents')})").fetchall()}
    assert reasons == {"service", "alert"}
    done, open_ = duck.execute(f"SELECT sum(done), sum(not_done) FROM ({_query('action_item_closure')})").fetchone()
    assert done > 0 and open_ > 0
    assert duck.execute(f"SELECT count(DISTINCT month) FROM ({_query('resolve_time_by_month')})").fetchone()[0] >= 3


def test_an_incident_built_again_from_an_alias_is_one_incident_to_spark(spark_lake, duck):
    sql = ("SELECT i.incident_id, count(*) AS n FROM incident_aliases AS a JOIN incidents AS i "
           "ON i.incident_id = a.incident_id WHERE a.alias = 'slack:CINC000' GROUP BY i.incident_id")
    assert _spark_rows(spark_lake, sql) == _duck_rows(duck, sql) == (["incident_id", "n"], [("pagerduty:PINC000", 1)])
    counted = "SELECT count(*) AS n, count(DISTINCT incident_id) AS ids FROM incidents"
    assert _spark_rows(spark_lake, counted) == (["n", "ids"], [(8, 8)])
