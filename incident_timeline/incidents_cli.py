"""`incident-timeline incidents`: list the built incidents, merge two, forget one."""
from __future__ import annotations


import click

from incident_timeline import pipeline
from incident_timeline.lake import catalog_store
from incident_timeline.lake.layout import Lake

LIST_SQL = """
SELECT i.incident_id AS id, i.title, array_to_string(i.services, ', ') AS service, i.severity,
       i.detected, i.resolved, {aliases} AS aliases, {draft} AS draft_built_at
FROM incidents AS i {join}
ORDER BY i.detected DESC NULLS LAST, i.incident_id
"""


def list_incidents(lake: Lake) -> tuple[list[str], list[tuple]]:
    con = catalog_store.read_catalog(lake)
    if con is None:
        return [], []
    try:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "incidents" not in tables:
            return [], []
        columns = {c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'incidents'").fetchall()}
        drafts = "incident_drafts" in tables     # a catalog an older version wrote lacks them
        cur = con.execute(LIST_SQL.format(
            aliases="coalesce(i.aliases, [])" if "aliases" in columns else "CAST([] AS VARCHAR[])",
            draft="d.first_built_at" if drafts else "CAST(NULL AS TIMESTAMPTZ)",
            join="LEFT JOIN incident_drafts AS d USING (incident_id)" if drafts else ""))
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


@click.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def incidents(ctx: click.Context, fmt: str) -> None:
    """List the built incidents: one row each, whatever ref it was built from.

    The identity is the alerting source's incident (PagerDuty, Opsgenie, ServiceNow) when one
    is found; every other ref that reaches it (ticket, channel, alert fingerprint) is an alias,
    and building from an alias updates that incident."""
    if ctx.invoked_subcommand is not None:
        return
    from .cli import print_rows
    names, rows = list_incidents(Lake.for_config(ctx.obj.config))
    if fmt != "table" or names:
        print_rows(names, rows, fmt, _cell)
    else:
        click.echo("no incident built yet: run `incident-timeline build INCIDENT`", err=True)


def _cell(value):
    from .cli import _jsonable
    if isinstance(value, list):
        return " ".join(value)
    return _jsonable(value)


@incidents.command()
@click.argument("keep")
@click.argument("other")
@click.pass_obj
def merge(obj, keep: str, other: str) -> None:
    """OTHER is the same incident as KEEP: one incident from now on, under KEEP's identity.

    Either may be any ref of its incident. The decision is kept (in the catalog and the lake);
    no later build undoes it, and the merged incident is rebuilt from both."""
    identity = pipeline.merge_incidents(obj.config, keep, other)
    click.echo(f"merged {other} into {identity}")


@incidents.command()
@click.argument("incident")
@click.pass_obj
def forget(obj, incident: str) -> None:
    """Remove INCIDENT (any of its refs) from the catalog and the cross-incident views.

    Building it again by hand brings it back."""
    identity = pipeline.forget_incident(obj.config, incident)
    click.echo(f"forgot {identity}")
