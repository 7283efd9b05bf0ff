"""What every change mapping shares (github, gitlab, pagerduty change events, change_file):
the kind a tool's words name, a title written the same way whichever tool recorded the
change, and who made it. The kinds and attrs keys are contract.changes'."""
from __future__ import annotations

import re

from incident_timeline.contract.changes import (CHANGE_KINDS, CONFIG_CHANGE, DEPLOY_FAILED, DEPLOY_FINISHED, DEPLOY_STARTED,
                              DEPLOY_STATUS, MERGE, OTHER, RELEASE, ROLLBACK, change_kind)

from ..transforms import TRANSFORMS, Transform

# what a deploy's own text says when it is a rollback (a tool has no field for it)
# (a job's name like `rollback_production` counts: `_` is no boundary for \b)
ROLLBACK_TEXT = re.compile(r"(?i)(?<![a-z])(roll(ed|ing)?[ _-]?backs?|revert(s|ed|ing)?)(?![a-z])")
_VERBS = {DEPLOY_STARTED: "Deploy started", DEPLOY_FINISHED: "Deployed", DEPLOY_FAILED: "Deploy failed",
          ROLLBACK: "Rollback", CONFIG_CHANGE: "Config change", DEPLOY_STATUS: "Deploy", RELEASE: "Released",
          MERGE: "Merged"}


def kind_of(kind: str | None, status: str | None, default: str | None) -> str:
    """A row's kind: a rollback or config change it names; else what its status says
    (failed, finished, started); else its kind's word; else the source's default."""
    named = change_kind(kind) if kind else None
    if named in (ROLLBACK, CONFIG_CHANGE):
        return named
    said = change_kind(status) if status else None
    if said in (DEPLOY_FAILED, DEPLOY_FINISHED, DEPLOY_STARTED, DEPLOY_STATUS):
        return said
    if named not in (None, OTHER):
        return named
    return change_kind(default) if said in (None, OTHER) else said


def rollback_or(kind: str | None, *texts: str | None) -> str | None:
    """`kind`, or change.rollback when a deploy's own texts (task, description, ref) say rollback."""
    if kind in (DEPLOY_STARTED, DEPLOY_FINISHED) and any(t and ROLLBACK_TEXT.search(t) for t in texts):
        return ROLLBACK
    return kind


def title(kind: str | None, service: str | None, version: str | None, environment: str | None,
          fallback: str | None = None) -> str:
    """`Deployed checkout-api v2.31.0 to production`, from what is known."""
    verb = _VERBS.get(kind or "", "Change")
    parts = [verb, service or fallback or "", version or ""]
    text = " ".join(p for p in parts if p)
    if environment:
        text += f" to {environment}" if kind != CONFIG_CHANGE else f" in {environment}"
    return text


def actor_type(author: str | None) -> str:
    """A person, a bot (`github-actions[bot]`, `ci-bot`), or the system when nobody is named."""
    if not author:
        return "system"
    lowered = author.lower()
    return "bot" if lowered.endswith("[bot]") or lowered.endswith("-bot") or lowered in ("ci", "bot") else "human"


assert all(k.startswith("change.") for k in CHANGE_KINDS)

TRANSFORMS.update({
    "change_kind_of": Transform(kind_of, distinct=True),
    "change_rollback_or": Transform(rollback_or, distinct=True),
    "change_title": Transform(title, distinct=True),
    "change_actor_type": Transform(actor_type, distinct=True),
})
