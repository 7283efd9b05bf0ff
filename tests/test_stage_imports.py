"""The stages talk through the lake: which package may import which.

A stage reads what the one before it left in the lake, through `lake/`; what two stages
must agree on is in `contract/`. The glue (`incident_timeline/`) is the only place that
knows them all. Each exception below is today's, with its reason; a new one fails here.
"""
from __future__ import annotations

import ast
from pathlib import Path

from tests.support import REPO

STAGES = ("contract", "ingest", "normalize", "correlate", "export", "lake", "incident_timeline")
ALLOWED = {
    "contract": set(),
    "ingest": {"contract"},
    "normalize": {"contract", "lake"},
    "lake": {"contract"},
    "correlate": {"contract", "lake"},
    "export": {"contract", "lake"},
    "incident_timeline": set(STAGES),
}
KNOWN = {  # (module file, stage it imports): why it is allowed for now
    ("normalize/mappings/github.py", "ingest"): "the repository -> service map is read by the connector's rule",
    ("normalize/mappings/gitlab.py", "ingest"): "the same repository -> service rule as GitHub's",
    ("normalize/mappings/teams.py", "ingest"): "channel names read from `channels:` as the connector reads them",
    ("export/history.py", "correlate"): "an action item's status is correlate's rule",
    ("export/publish/runner.py", "correlate"): "a typed ref is resolved to the incident's identity",
    ("export/publish/runner.py", "ingest"): "publish failures are the HTTP client's SourceError",
    ("export/publish/runner.py", "incident_timeline"): "the publish targets' configuration",
    ("export/publish/base.py", "incident_timeline"): "the publish targets' configuration",
    ("export/publish/settings.py", "incident_timeline"): "the publish targets' configuration",
    ("export/assist/settings.py", "incident_timeline"): "the assist settings' configuration",
    ("export/publish/confluence.py", "ingest"): "the HTTP client with retries and redaction",
    ("export/publish/gdrive.py", "ingest"): "the HTTP client with retries and redaction",
    ("export/publish/jira.py", "ingest"): "the HTTP client with retries and redaction",
    ("export/publish/slack.py", "ingest"): "the Slack WebClient as ingest builds it",
    ("export/publish/errors.py", "ingest"): "publish failures are the HTTP client's SourceError",
}


def _imported_stages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
        if isinstance(node, ast.ImportFrom) and node.module == "incident_timeline":
            names = [f"incident_timeline.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "incident_timeline" and len(parts) > 1 and parts[1] in STAGES:
                parts = parts[1:]            # incident_timeline.ingest.x is the ingest stage
            if parts[0] in STAGES:
                found.add(parts[0])
    return found


def test_each_stage_imports_only_what_it_may():
    wrong = []
    for stage in STAGES:
        for path in sorted((REPO / stage).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            for other in _imported_stages(path) - {stage} - ALLOWED[stage]:
                if (rel, other) not in KNOWN:
                    wrong.append(f"{rel} imports {other}")
    assert wrong == []


def test_every_known_exception_still_exists():
    gone = [f"{f} no longer imports {s}" for f, s in KNOWN if s not in _imported_stages(REPO / f)]
    assert gone == []
