"""`incident-timeline review`: the monthly or quarterly review, computed from the catalog."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import click

from incident_timeline.export import review_render
from incident_timeline.export.extras import has_table
from incident_timeline.export.review import compute
from incident_timeline.export.review_period import PeriodInvalid, period

from incident_timeline.lake import catalog_store
from incident_timeline.lake.layout import Lake
from incident_timeline.lake.published import refresh_from_lake
from .recovery import recover_catalog

NEEDS = ("incidents", "action_items", "incident_drafts", "repeat_incidents")


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a date (2026-10-01): {value!r}", param_hint="--as-of") from None


@click.command()
@click.option("--period", "name", default=None, help="A quarter (2026-Q3), a month (2026-07) or a year (2026), in UTC.")
@click.option("--since", default=None, help="Start, inclusive: a date (midnight UTC) or ISO 8601 with a zone.")
@click.option("--until", default=None, help="End, exclusive: a date (midnight UTC) or ISO 8601 with a zone.")
@click.option("--format", "formats", default=",".join(review_render.FORMATS), show_default=True,
              callback=lambda _ctx, _param, value: _formats(value), help="Comma-separated: md, html, json, csv.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: reports/review-<period>, beside the drafts (drafts.out)].")
@click.option("--templates", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="A folder of Jinja2 templates overriding the built-in ones (review.md.j2, review.html.j2).")
@click.option("--as-of", "as_of", default=None, callback=lambda _ctx, _param, value: _as_of(value),
              help="The day open action items are judged overdue against [default: today, UTC].")
@click.pass_obj
def review(obj, name, since, until, formats, out, templates, as_of) -> None:
    """The monthly or quarterly review: incidents per month by severity and service, MTTA and
    MTTR (median, p90), repeats, post-mortems within 48 h, action items, recurring alerts, and
    what changed against the period before (the same number of months, else the same length).

    Every incident counts once, whatever refs it was built from."""
    try:
        p = period(since, until, name)
    except PeriodInvalid as exc:
        raise click.UsageError(str(exc)) from None
    recover_catalog(obj.config)
    lake = Lake.for_config(obj.config)
    refresh_from_lake(lake)
    con = catalog_store.read_only_catalog(lake)
    try:
        missing = [t for t in NEEDS if not has_table(con, t)]
        if missing:
            raise ValueError(f"the catalog at {lake.catalog} has no {', '.join(missing)}: "
                             "build an incident first (`incident-timeline build INCIDENT`)")
        figures = compute(con, p, as_of or datetime.now(timezone.utc).date(), obj.config.history_window)
    finally:
        con.close()
    out_dir = out or Path(obj.config.drafts["out"]) / f"review-{p.label}"
    for path in review_render.write(figures, out_dir, formats, templates):
        click.echo(str(path))


def _formats(value: str) -> tuple[str, ...]:
    from .cli import _formats as parse
    return parse(value, review_render.FORMATS)
