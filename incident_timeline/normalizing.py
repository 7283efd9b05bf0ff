"""The normaliser's passes (normalize/passes.py) given what the config says of a source."""
from __future__ import annotations

from incident_timeline.ingest.base import SourceSettings
from incident_timeline.ingest.jira_projects import jira_projects
from incident_timeline.lake.layout import Lake
from incident_timeline.normalize import passes
from incident_timeline.normalize.engine import Normalized
from incident_timeline.normalize.identity import People
from incident_timeline.normalize.mapping import SourceSpec
from .config import Config, clock_offset_seconds


def normalize_files(config: Config, lake: Lake, settings: SourceSettings, files: list,
                    run_id: str, part: str = "", people: People | None = None) -> tuple[Normalized, list]:
    return passes.normalize_files(lake, source_spec(settings), files, run_id, part, people,
                                  jira_projects=jira_projects(config.sources))


def source_spec(settings: SourceSettings) -> SourceSpec:
    """What the mapping is told of its source; secrets (anything with `reveal`) left out."""
    return SourceSpec(name=settings.name, type=settings.type,
                      timezone=str(settings.options.get("timezone") or "UTC"),
                      clock_offset_s=clock_offset_seconds(settings),
                      options={k: v for k, v in settings.options.items() if not hasattr(v, "reveal")})
