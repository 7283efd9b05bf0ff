"""Change events: what was deployed, rolled back or reconfigured, and where.

Every change source (github, gitlab, pagerduty change events, change_file) writes one of
these kinds (category `change`) and the same attrs keys, so correlation and the drafts
read a deploy the same way whichever tool recorded it. `service` is the event's own
column; the rest live in attrs (there is no column for them).
"""
from __future__ import annotations

DEPLOY_STARTED = "change.deploy_started"
DEPLOY_FINISHED = "change.deploy_finished"
DEPLOY_FAILED = "change.deploy_failed"
ROLLBACK = "change.rollback"
CONFIG_CHANGE = "change.config_change"
# a deploy's state between started and its end (queued, pending, in progress, superseded)
DEPLOY_STATUS = "change.deploy_status"
# a release published, a pull request merged: code that changed, not yet a deploy
RELEASE = "change.release"
MERGE = "change.merge"
OTHER = "change.other"

CHANGE_KINDS = (DEPLOY_STARTED, DEPLOY_FINISHED, DEPLOY_FAILED, ROLLBACK, CONFIG_CHANGE, DEPLOY_STATUS,
                RELEASE, MERGE, OTHER)
# what a change made reach production: these are "what changed" in correlation
LANDED = (DEPLOY_STARTED, DEPLOY_FINISHED, ROLLBACK, CONFIG_CHANGE, OTHER)

# the changes an incident's timeline shows (a deploy's progress states, releases and merges
# stay in the lake: they are not what reached production)
IN_TIMELINE = (DEPLOY_STARTED, DEPLOY_FINISHED, DEPLOY_FAILED, ROLLBACK, CONFIG_CHANGE, OTHER)

# attrs keys every change event may carry (None when the source does not say)
ATTRS = ("version", "commit", "environment", "author", "repository", "deployment_id", "state")

# words a CI log or a tool's status uses -> the kind (change_file, GitHub/GitLab states)
WORDS = {
    "deploy": DEPLOY_STARTED, "deploy_started": DEPLOY_STARTED, "started": DEPLOY_STARTED,
    "running": DEPLOY_STARTED, "in_progress": DEPLOY_STATUS, "created": DEPLOY_STARTED,
    "deployed": DEPLOY_FINISHED, "deploy_finished": DEPLOY_FINISHED, "finished": DEPLOY_FINISHED,
    "success": DEPLOY_FINISHED, "succeeded": DEPLOY_FINISHED, "done": DEPLOY_FINISHED,
    "failed": DEPLOY_FAILED, "failure": DEPLOY_FAILED, "error": DEPLOY_FAILED, "deploy_failed": DEPLOY_FAILED,
    "canceled": DEPLOY_FAILED, "cancelled": DEPLOY_FAILED, "aborted": DEPLOY_FAILED,
    "rollback": ROLLBACK, "rolled_back": ROLLBACK, "revert": ROLLBACK, "reverted": ROLLBACK,
    "config": CONFIG_CHANGE, "config_change": CONFIG_CHANGE, "configuration": CONFIG_CHANGE,
    "feature_flag": CONFIG_CHANGE, "flag": CONFIG_CHANGE,
    "queued": DEPLOY_STATUS, "pending": DEPLOY_STATUS, "waiting": DEPLOY_STATUS, "inactive": DEPLOY_STATUS,
    "blocked": DEPLOY_STATUS, "skipped": DEPLOY_STATUS,
    "release": RELEASE, "released": RELEASE, "merge": MERGE, "merged": MERGE,
}


def change_kind(word: str | None) -> str:
    """The kind a word names (`deployed`, `Rollback`, `change.rollback`), else change.other."""
    text = str(word or "").strip().lower().replace(" ", "_").replace("-", "_")
    if text in CHANGE_KINDS:
        return text
    if text.startswith("change.") and text[7:] in WORDS:
        return WORDS[text[7:]]
    return WORDS.get(text, OTHER)
