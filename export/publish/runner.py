"""Publish one incident to the targets asked for: the pages first, then the message and the
ticket link that point to them. One target failing is a line in the outcome, not the end of
the others; each publication is recorded as soon as it is made."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from incident_timeline.correlate import identity
from incident_timeline.export.report import NotBuilt, load
from incident_timeline.lake import catalog_store
from incident_timeline.config import Config, ConfigInvalid
from incident_timeline.lake.layout import Lake
from incident_timeline.lake.publications import publications, record_publication
from incident_timeline.ingest.errors import SourceError

from . import draft as drafts
from .base import Request
from .confluence import Confluence
from .errors import PublishError
from .gdrive import GoogleDrive
from .jira import Jira
from .settings import ORDER, PAGE_TARGETS
from .slack import Slack

TARGETS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "confluence": Confluence, "gdrive": GoogleDrive, "slack": Slack, "jira": Jira}


@dataclass
class Outcome:
    target: str
    urls: list[str]
    error: str | None = None


def resolve(config: Config, incident: str) -> str:
    """The identity `incident` (an id or any alias) names in the catalog."""
    con = catalog_store.read_catalog(Lake.for_config(config))
    if con is None:
        raise NotBuilt(f"incident {incident} has not been built: run `incident-timeline build {incident}`")
    try:
        return identity.owner(con, incident) or incident
    finally:
        con.close()


def read_draft(config: Config, incident_id: str) -> drafts.Draft:
    con = catalog_store.read_only_catalog(Lake.for_config(config))
    try:
        return drafts.build(load(con, incident_id, config.history_window))    # redacted, or NotBuilt
    finally:
        con.close()


def publish(config: Config, incident: str, targets: list[str], new: bool = False,
            make: dict[str, Callable[[dict[str, Any]], Any]] | None = None) -> list[Outcome]:
    make = make or TARGETS
    unknown = [t for t in targets if t not in config.publish or t == "on_build_resolved"]
    if unknown:
        raise ConfigInvalid(config.path, [f"publish.{t} is not configured (configured: "
                                          f"{', '.join(k for k in config.publish if k != 'on_build_resolved') or 'none'})"
                                          for t in unknown])
    incident_id = resolve(config, incident)
    draft = read_draft(config, incident_id)
    previous: dict[str, dict[str, dict]] = {}
    for row in publications(Lake.for_config(config), incident_id):
        previous.setdefault(row["target"], {})[row["destination"]] = row
    pages = {t: r["url"] for t in PAGE_TARGETS for r in previous.get(t, {}).values() if r["url"]}
    outcomes = []
    for name in [t for t in ORDER if t in targets]:
        req = Request(draft, previous.get(name, {}), new, dict(pages),
                      record=lambda pub: record_publication(Lake.for_config(config), pub.row(incident_id)))
        try:
            made = make[name](config.publish[name]).publish(req)
        except ConfigInvalid as exc:     # a ${VAR} it needs is not set
            outcomes.append(Outcome(name, [], f"target {name}: {'; '.join(exc.problems)}".replace(
                f"source {name}: ", "")))
            continue
        except SourceError as exc:       # PublishError and the HTTP client's errors
            outcomes.append(Outcome(name, [], str(exc)))
            continue
        if name in PAGE_TARGETS and made and made[0].url:
            pages[name] = made[0].url
        outcomes.append(Outcome(name, [p.url or p.remote_id for p in made]))
    return outcomes


__all__ = ["Outcome", "PublishError", "publish", "resolve"]
