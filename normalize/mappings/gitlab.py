"""GitLab deployments -> change.*: a deployment is `change.deploy_started` at `created_at`
(`change.rollback` when its job's name or commit title says so) and, once it ended,
`change.deploy_finished` (success) or `change.deploy_failed` (failed, canceled) at
`finished_at`. version: `ref` (the tag or branch deployed); commit: `sha`;
environment: `environment.name`; author: `user.username`. The service is the source's
`projects:` entry for the project (the parent id), else the project's name.
"""
from __future__ import annotations

import json

from incident_timeline.contract.changes import DEPLOY_FAILED, DEPLOY_FINISHED, DEPLOY_STARTED

from ..mapping import SourceSpec
from ..transforms import TRANSFORMS, Transform
from . import Check, Const, Field, Mapping, Or, Parent, Rule, Time, Value, attrs, call
from . import changes  # noqa: F401  (registers the change transforms)

ENDED = {"success": DEPLOY_FINISHED, "failed": DEPLOY_FAILED, "canceled": DEPLOY_FAILED}
FIELDS = ("id", "iid", "ref", "sha", "status", "created_at", "finished_at", "user.username", "user.name",
          "environment.name", "deployable.name", "deployable.web_url", "deployable.commit.title")


def gitlab_mapping(spec: SourceSpec) -> Mapping:
    from incident_timeline.ingest.github import repositories

    projects = Const(json.dumps(repositories(spec.options.get("projects")), sort_keys=True))
    service = call("gh_service", Parent(), projects)
    return Mapping(source_type="gitlab", time=Time(field="created_at"),
                   rules=(_rule(service, finished=False), _rule(service, finished=True)))


def _text(name: str):
    return Or((Value(name, "truthy"), Const(None)))


def _rule(service, finished: bool) -> Rule:
    version = _text("ref")
    environment, author = _text("environment_name"), _text("user_username")
    deployment = call("concat", Parent(), Const("/deployments/"), Value("id"))
    if finished:
        kind = call("gl_ended", Value("status", "truthy"), Value("finished_at", "truthy"))
        ts, native = Value("finished_at"), call("concat", deployment, Const("/finished"))
    else:
        kind = call("change_rollback_or", Const(DEPLOY_STARTED), Value("deployable_name", "truthy"),
                    Value("deployable_commit_title", "truthy"))
        ts, native = Value("created_at"), deployment
    draft = {
        "kind": kind, "ts_raw": ts, "actor": Or((Value("user_name", "truthy"), author)),
        "actor_type": call("change_actor_type", author), "actor_id": author,
        "title": call("change_title", kind, service, version, environment, Const(None)),
        "body": Or((Value("deployable_commit_title", "truthy"), Const(""))), "service": service,
        "url": _text("deployable_web_url"),
        "refs": call("listed_and_found_refs", Const(None), Or((Value("deployable_commit_title", "truthy"), Const(""))),
                     Const("")),
        "native_id": native,
        "attrs": attrs(version=version, commit=_text("sha"), environment=environment, author=author,
                       state=_text("status"), repository=Parent(), deployment_id=deployment),
    }
    return Rule(streams=("deployments",), draft=draft, time_field="finished_at" if finished else "created_at",
                fields=tuple(Field(f.replace(".", "_"), f, required=False) for f in FIELDS),
                checks=(Check(Value("id"), "id", "missing"), Check(Value("created_at"), "created_at", "missing"),
                        Check(Parent(), "parent_id", "deployment without its project")),
                keep=kind if finished else None)


TRANSFORMS.update({
    # a deployment that ended, when it says when
    "gl_ended": Transform(lambda status, finished: ENDED.get(status or "") if finished else None, distinct=True),
})
