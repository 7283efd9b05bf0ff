"""`incident-timeline publish INCIDENT --to confluence,slack`: the post-mortem where the team reads it."""
from __future__ import annotations

import sys

import click

from incident_timeline.export.publish.settings import ORDER


def _targets(_ctx, _param, value: tuple[str, ...]) -> list[str]:
    names = [t.strip() for v in value for t in v.split(",") if t.strip()]
    unknown = [t for t in names if t not in ORDER]
    if unknown:
        raise click.BadParameter(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}",
                                 param_hint="--to")
    return names


@click.command()
@click.argument("incident")
@click.option("--to", "targets", multiple=True, callback=_targets, required=True,
              help="confluence, gdrive, slack, jira: repeat or comma-separate for several.")
@click.option("--new", is_flag=True, help="Publish a new page, Doc, message and link instead of updating "
              "the ones published before.")
@click.pass_obj
def publish(obj, incident: str, targets: list[str], new: bool) -> None:
    """Publish a built incident's post-mortem (configured under `publish:`); publishing again
    updates the same page, Doc, message and link. Exit 3 when some targets failed."""
    failed = publish_and_report(obj.config, incident, targets, new)
    if failed:
        sys.exit(3 if failed < len(set(targets)) else 1)


def publish_and_report(config, incident: str, targets: list[str], new: bool = False) -> int:
    """Publish and print one line per target; returns how many failed."""
    from incident_timeline.export.publish.runner import publish as run
    failed = 0
    for outcome in run(config, incident, targets, new):
        if outcome.error:
            failed += 1
            click.echo(f"publish {outcome.target}: FAILED: {outcome.error}", err=True)
        else:
            click.echo(f"publish {outcome.target}: {' '.join(outcome.urls)}")
    return failed
