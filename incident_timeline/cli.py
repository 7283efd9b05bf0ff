"""The command line. Thin: each command parses, calls the pipeline, prints a summary."""
from __future__ import annotations

import csv
import errno
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from incident_timeline.correlate.expand import IncidentNotFound
from incident_timeline.correlate.seed import SeedInvalid
from incident_timeline.export import render
from incident_timeline.export.report import NotBuilt, explain_rows, jsonable
from incident_timeline.ingest.errors import SourceError

from incident_timeline import logs, pipeline
from incident_timeline.lake import catalog_store
from .config import ConfigInvalid, Config, default_config_path, load_config, missing_secrets
from incident_timeline.lake.layout import Lake
from incident_timeline.lake.published import refresh_from_lake
from incident_timeline.lake.locks import LockBusy
from .progress import RecordBars
from .recovery import recover_catalog

EXIT_FAILED = 1        # the command failed
EXIT_CONFIG = 2        # bad configuration or usage
EXIT_PARTIAL = 3       # some sources failed, the others landed
EXIT_LOCKED = 75       # another run holds the lake (EX_TEMPFAIL: try again later)

EXPECTED = (ConfigInvalid, SourceError, NotBuilt, IncidentNotFound, FileNotFoundError, ValueError, LockBusy)


class Ctx:
    def __init__(self, config_path: Path, debug: bool):
        self.config_path = config_path
        self.debug = debug
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


class OneLineUsageError(click.UsageError):
    """A usage error as one line on stderr that names the option (exit 2), not Click's
    usage-and-hint block."""

    def __init__(self, original: click.UsageError):
        super().__init__(original.format_message(), original.ctx)

    def show(self, file=None) -> None:
        command = self.ctx.command_path if self.ctx is not None else "incident-timeline"
        click.echo(f"error: {self.format_message()} (see {command} --help)", err=True)


# `incident-timeline` alone shows the help (Click 8.2+ raises it as a usage error): kept whole
_SHOWS_HELP = tuple(filter(None, [getattr(click.exceptions, "NoArgsIsHelpError", None)]))


def _one_line(exc: click.UsageError) -> click.UsageError:
    return exc if isinstance(exc, (OneLineUsageError, *_SHOWS_HELP)) else OneLineUsageError(exc)


def _is_broken_pipe(exc: BaseException) -> bool:
    return isinstance(exc, BrokenPipeError) or (isinstance(exc, OSError) and exc.errno == errno.EPIPE)


class Main(click.Group):
    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context):
        try:
            rv = super().invoke(ctx)
            sys.stdout.flush()   # a reader that went away (`| head -1`) is met here, not at exit
            return rv
        except click.UsageError as exc:
            raise _one_line(exc) from None
        except EXPECTED as exc:
            obj = ctx.obj
            if obj is not None and obj.debug:
                raise
            code = {ConfigInvalid: EXIT_CONFIG, SeedInvalid: EXIT_CONFIG,
                    LockBusy: EXIT_LOCKED}.get(type(exc), EXIT_FAILED)
            click.echo(f"error: {exc}", err=True)
            ctx.exit(code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug: still one line, the traceback only with --debug
            if _is_broken_pipe(exc):
                raise   # Click exits quietly (code 1), as other CLIs do when the reader stops
            return self._failed(ctx, exc)

    @staticmethod
    def _failed(ctx: click.Context, exc: Exception):
        if ctx.obj is not None and ctx.obj.debug:
            raise exc
        first = str(exc).splitlines()[0] if str(exc) else ""
        click.echo(f"error: {type(exc).__name__}: {first} (run with --debug for the traceback)", err=True)
        ctx.exit(EXIT_FAILED)


@click.group(cls=Main)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="connectors.yaml to use [default: $INCIDENT_TIMELINE_CONFIG, else ./connectors.yaml]")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log lines on stderr: readable text, or JSON lines for log shippers.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="warning",
              show_default=True)
@click.version_option(package_name="incident-timeline")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, debug: bool, log_format: str, log_level: str) -> None:
    """Rebuild an incident's timeline from alerts, chat and tickets, and draft its post-mortem."""
    logs.setup(log_format, "debug" if debug else log_level)
    ctx.obj = Ctx(config_path or default_config_path(), debug)


def _when(value: str | None, option: str | None = None) -> datetime | None:
    if value is None:
        return None
    from dateutil import parser as dateutil_parser
    try:
        dt = dateutil_parser.isoparse(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=option) from None
    if dt.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no zone: add Z or an offset (times are UTC inside)",
                                 param_hint=option)
    try:   # a bound may be as wide as a datetime holds (0001-01-01T00:00Z: everything)
        return dt.astimezone(timezone.utc)
    except OverflowError:
        raise click.BadParameter(f"{value!r} is past the first or last instant a time can hold "
                                 "once in UTC", param_hint=option) from None


def _print_summary(result: pipeline.RunResult, verb: str) -> None:
    click.echo(f"{'source':<20} {verb:>8} {'new events':>10} {'rejects':>8} {'time':>7}  status", err=True)
    for s in result.sources:
        status = f"FAILED: {s.error}" if s.error else "ok"
        if s.quarantined:
            status += f"; set aside (not readable Parquet): {', '.join(s.quarantined)}"
        click.echo(f"{s.source:<20} {s.fetched:>8} {s.events:>10} {s.rejects:>8} {s.seconds:6.1f}s  {status}",
                   err=True)


def _exit_for(result: pipeline.RunResult) -> None:
    if result.failed:
        sys.exit(EXIT_PARTIAL if len(result.failed) < len(result.sources) else EXIT_FAILED)


@main.command()
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.option("--since", callback=lambda _ctx, param, value: _when(value, "--since"),
              help="Start of the window, ISO 8601 with a zone (inclusive).")
@click.option("--until", callback=lambda _ctx, param, value: _when(value, "--until"),
              help="End of the window, ISO 8601 with a zone (exclusive).")
@click.pass_obj
def ingest(obj: Ctx, sources, since, until) -> None:
    """Fetch [since, until) from each source (default: from its cursor to now), then normalise."""
    with RecordBars() as bars:
        result = pipeline.ingest(obj.config, sources, since, until, on_records=bars.update)
    _print_summary(result, "fetched")
    _exit_for(result)


@main.command()
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable): one job per source "
              "can run side by side with jobs for other sources.")
@click.option("--build-resolved", is_flag=True, help="Then write the draft of every incident resolved since the "
              "last backfill that has none (also `drafts: {build_resolved: true}` in the config).")
@click.pass_obj
def backfill(obj: Ctx, sources, build_resolved: bool) -> None:
    """The nightly job: every source from its cursors to now, normalise, compact, refresh the catalog.

    Safe under cron: a second run for the same sources exits at once with code 75."""
    with RecordBars() as bars:
        result = pipeline.backfill(obj.config, sources, on_records=bars.update)
    _print_summary(result, "fetched")
    failed_drafts = 0
    if build_resolved or obj.config.drafts["build_resolved"]:
        failed_drafts = _build_resolved(obj, result.run_id)
    _exit_for(result)
    if failed_drafts:
        sys.exit(EXIT_PARTIAL)


def _build_resolved(obj: Ctx, run_id: str) -> int:
    """Draft every incident resolved since the last backfill; one that fails is a line, not
    the end of the others. Returns how many failed."""
    drafts = obj.config.drafts
    failed = 0
    for incident in pipeline.resolved_without_draft(obj.config, run_id):
        out = Path(drafts["out"]) / incident.replace(":", "-").replace("/", "-")
        try:
            _build(obj, incident, drafts["format"], out, None, None)
        except (*EXPECTED, click.BadParameter) as exc:
            failed += 1
            click.echo(f"draft {incident}: FAILED: {exc}", err=True)
            continue
        targets = obj.config.publish["on_build_resolved"]   # `publish: {on_build_resolved: [...]}`
        if targets:
            from .publish_cli import publish_and_report
            try:
                failed += publish_and_report(obj.config, incident, targets)
            except EXPECTED as exc:
                failed += 1
                click.echo(f"publish {incident}: FAILED: {exc}", err=True)
    return failed


@main.command()
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.pass_obj
def normalize(obj: Ctx, sources) -> None:
    """Re-run normalisation over the raw history (no API calls)."""
    with RecordBars() as bars:
        result = pipeline.normalize(obj.config, sources, on_records=bars.update)
    _print_summary(result, "raw files")


def _formats(value: str, known: tuple[str, ...] = render.FORMATS) -> tuple[str, ...]:
    formats = tuple(f.strip() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in known]
    if unknown or not formats:
        raise click.BadParameter(f"unknown format(s) {', '.join(unknown) or repr(value)}; choose from {','.join(known)}",
                                 param_hint="--format")
    return formats


def _zone(value: str | None) -> str | None:
    """Checked when the command line is read, so `run` does not ingest before refusing it."""
    try:
        render.display_zone(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc).replace("--display-tz ", ""), param_hint="--display-tz") from None
    return value


def _build(obj: Ctx, incident: str, formats: str, out: Path | None, templates: Path | None,
           display_tz: str | None, explain: bool = False, assist: bool = False) -> None:
    fmts = formats if isinstance(formats, tuple) else _formats(formats)
    out_dir = out or Path("reports") / incident.replace(":", "-").replace("/", "-")
    draft = pipeline.build_draft(obj.config, incident, fmts, out_dir, templates, display_tz, assist)
    if draft.assist_note:
        click.echo(draft.assist_note, err=True)
    for path in draft.paths:
        click.echo(str(path))
    if explain:
        for line in explain_lines(explain_rows(draft.report) or []):
            click.echo(line)


_CONTROL = dict.fromkeys(range(32), " ") | {127: " "}


def explain_lines(links: list[dict]) -> list[str]:
    """One line per ref: how it joined the incident, or which guard kept it out. Titles are
    untrusted text: control characters are blanked so they cannot drive the terminal."""
    lines = []
    for link in links:
        line = f"{link['status']:<8} {link['ref']}"
        via = link.get("via")
        if via:
            title = str(via.get("title") or "").translate(_CONTROL).strip()
            title = title if len(title) <= 80 else title[:79] + "…"
            line += f"  (hop {link['hop']}, via {via['source']} event {via['event_id']} \"{title}\" with {via['ref']})"
        lines.append(f"{line}: {link['reason']}")
    return lines


_build_options = [
    click.argument("incident"),
    click.option("--format", "formats", default="md,html,json,csv", show_default=True,
                 callback=lambda _ctx, _param, value: _formats(value),
                 help="Comma-separated: md, html, json, csv."),
    click.option("--out", type=click.Path(path_type=Path), default=None,
                 help="Output folder [default: reports/<incident>]."),
    click.option("--templates", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
                 help="A folder of Jinja2 templates overriding the built-in ones."),
    click.option("--display-tz", default=None, callback=lambda _ctx, _param, value: _zone(value),
                 help="Also show local times in this IANA zone."),
    click.option("--explain", is_flag=True, default=False,
                 help="Also print why each ref joined the incident or was kept out."),
    click.option("--assist", is_flag=True, default=False,
                 help="Have the chat endpoint in `assist:` draft the summary, root-cause candidates and five "
                      "whys; only sentences its cited events hold are kept (sends the timeline: see README)."),
]


def build_options(fn):
    for option in reversed(_build_options):
        fn = option(fn)
    return fn


@main.command()
@build_options
@click.pass_obj
def build(obj: Ctx, incident, formats, out, templates, display_tz, explain, assist) -> None:
    """Correlate and export one incident from what is already in the lake (no API calls
    unless --assist)."""
    _build(obj, incident, formats, out, templates, display_tz, explain, assist)


@main.command()
@build_options
@click.pass_obj
def run(obj: Ctx, incident, formats, out, templates, display_tz, explain, assist) -> None:
    """Ingest the window the incident needs, then build it: the one command after an incident."""
    window = pipeline.incident_window(obj.config, incident)
    since = until = None
    if window is not None:
        padded = pipeline.padded(window, obj.config.duration("run_pad"))
        since, until = padded.since, padded.until
    with RecordBars() as bars:
        result = pipeline.ingest(obj.config, None, since, until, on_records=bars.update)
    _print_summary(result, "fetched")
    _build(obj, incident, formats, out, templates, display_tz, explain, assist)
    _exit_for(result)


@main.command()
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_obj
def query(obj: Ctx, sql: str, fmt: str) -> None:
    """Run SQL against the catalog, read-only."""
    import duckdb
    recover_catalog(obj.config)   # an unreadable catalog: set aside and rebuilt from the lake
    lake = Lake.for_config(obj.config)
    refresh_from_lake(lake)   # a lake on object storage: take what other machines published
    con = catalog_store.read_only_catalog(lake)
    try:
        try:
            cur = con.execute(sql)
        except duckdb.Error as exc:
            raise ValueError(f"query failed: {str(exc).splitlines()[0]}") from None
        names = [d[0] for d in cur.description] if cur.description else []
        rows = cur.fetchall() if names else []
    finally:
        con.close()
    print_rows(names, rows, fmt)


def print_rows(names: list[str], rows: list[tuple], fmt: str, cell=None) -> None:
    """Rows as one JSON array of objects, CSV, or an aligned table; `cell` shows a value in
    CSV and the table (default: as the JSON export writes it)."""
    cell = cell or _jsonable
    if fmt == "json":
        click.echo(json.dumps([{n: _jsonable(v) for n, v in zip(names, row)} for row in rows],
                              ensure_ascii=False, indent=2))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([[cell(v) for v in row] for row in rows])
    else:
        _print_table(names, rows if cell is _jsonable else [tuple(cell(v) for v in row) for row in rows])


_jsonable = jsonable   # times as RFC 3339 UTC, like the JSON export


def _print_table(names: list[str], rows: list[tuple]) -> None:
    cells = [[("" if v is None else str(_jsonable(v))) for v in row] for row in rows]
    widths = [min(60, max([len(n)] + [len(r[i]) for r in cells])) for i, n in enumerate(names)]
    click.echo("  ".join(n.ljust(w) for n, w in zip(names, widths)))
    click.echo("  ".join("-" * w for w in widths))
    for r in cells:
        click.echo("  ".join(c[:w].ljust(w) for c, w in zip(r, widths)))
    click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", err=True)


@main.command()
@click.pass_obj
def sources(obj: Ctx) -> None:
    """List the configured sources, how each one reads, and any secret it lacks."""
    for s in obj.config.sources:
        mode = f"recorded: {s.get('path')}" if s.get("path") is not None else f"api: {s.get('base_url')}"
        missing = missing_secrets(s)
        note = f"  MISSING {', '.join(missing)}" if missing else ""
        click.echo(f"{s.name:<20} {s.type:<14} {mode}{note}")


@main.command("lake-files")
@click.option("--kind", type=click.Choice(["events", "rejects"]), default="events", show_default=True)
@click.pass_obj
def lake_files(obj: Ctx, kind: str) -> None:
    """Print the lake's published Parquet files, one path or s3:// URL a line: what Spark,
    Trino or another DuckDB should read (a glob also finds retired or unpublished files)."""
    from incident_timeline.lake.shared_tables import published_files
    recover_catalog(obj.config)
    for uri in published_files(Lake.for_config(obj.config), kind):
        click.echo(uri)


@main.group("lake")
def lake_group() -> None:
    """The lake's Delta tables: upgrade a lake of the previous layout, vacuum."""


@lake_group.command("upgrade")
@click.pass_obj
def lake_upgrade(obj: Ctx) -> None:
    """Make a lake written by a version before the Delta tables into Delta tables, in place
    (every command does it first when it finds one; this does it on purpose, and says so)."""
    from incident_timeline.lake import upgrade
    lake = Lake.for_config(obj.config)
    if not upgrade.needed(lake):
        click.echo("the lake is already Delta tables: nothing to upgrade")
        return
    counts = upgrade.upgrade(lake)
    click.echo("upgraded: " + ", ".join(f"{kind} {n} files" for kind, n in counts.items()))


@lake_group.command("vacuum")
@click.pass_obj
def lake_vacuum(obj: Ctx) -> None:
    """Delete the files no snapshot of the retention period needs (the nightly backfill does it too)."""
    from incident_timeline.lake.published import vacuum
    recover_catalog(obj.config)
    click.echo(f"deleted {vacuum(Lake.for_config(obj.config))} files")


from .incidents_cli import incidents  # noqa: E402  (its commands use the helpers above)
from .publish_cli import publish  # noqa: E402
from .review_cli import review  # noqa: E402

main.add_command(incidents)
main.add_command(publish)
main.add_command(review)
