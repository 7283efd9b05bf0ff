"""GitHub deployments, deployment statuses, releases and merged pull requests -> change.*.

- a deployment is `change.deploy_started` (its creation is the deploy's start), or
  `change.rollback` when its task or description says so; version: `payload.version`, else
  its `ref` (a tag, a branch); commit: `sha`; author: `creator.login`;
- a deployment status: success `change.deploy_finished`, failure or error
  `change.deploy_failed`, queued, pending, in_progress, inactive `change.deploy_status`;
- a published release `change.release` (version: `tag_name`), a merged pull request
  `change.merge` (commit: `merge_commit_sha`).
The service is the source's `repositories:` entry for the record's repository (its
parent_id's first two parts), else the repository's name. `attrs.deployment_id` names a
status's deployment, so its events can be read together.
"""
from __future__ import annotations

import json
from typing import Any

from incident_timeline.contract.changes import DEPLOY_STARTED, DEPLOY_STATUS, MERGE, RELEASE

from ..mapping import SourceSpec
from ..transforms import TRANSFORMS, Transform
from . import Check, Const, Field, Json, Mapping, Or, Parent, Rule, Time, Value, attrs, call
from . import changes  # noqa: F401  (registers the change transforms)


def github_mapping(spec: SourceSpec) -> Mapping:
    from incident_timeline.ingest.github import repositories

    repos = Const(json.dumps(repositories(spec.options.get("repositories")), sort_keys=True))
    service = call("gh_service", Parent(), repos)
    return Mapping(source_type="github", time=Time(field="created_at"),
                   rules=(_deployments(service), _statuses(service), _releases(service), _pulls(service)))


def _fields(*names: str) -> tuple[Field, ...]:
    return tuple(Field(n.replace(".", "_"), n, required=False) for n in names)


def _text(name: str):
    return Or((Value(name, "truthy"), Const(None)))


def _actor(prefix: str) -> dict:
    login = _text(f"{prefix}_login")
    return {"actor": login, "actor_type": call("gh_actor_type", Value(f"{prefix}_type", "truthy"), login),
            "actor_id": login}


def _checks(time_field: str) -> tuple[Check, ...]:
    return (Check(Value(time_field), time_field, "missing"),
            Check(Parent(), "parent_id", "record without its repository"))


def _deployments(service) -> Rule:
    version = Or((Value("payload_version", "truthy"), _text("ref")))
    environment = _text("environment")
    description = Or((Value("description", "truthy"), Const("")))
    kind = call("change_rollback_or", Const(DEPLOY_STARTED), Value("task", "truthy"), description)
    deployment = call("concat", Parent(), Const("/deployments/"), Value("id"))
    draft = {
        "kind": kind, "ts_raw": Value("created_at"), **_actor("creator"),
        "title": call("change_title", kind, service, version, environment, Const(None)), "body": description,
        "service": service, "url": Const(None),
        "refs": call("listed_and_found_refs", Const(None), description, Const("")),
        "native_id": deployment,
        "attrs": attrs(version=version, commit=_text("sha"), environment=environment, author=_text("creator_login"),
                       repository=call("gh_repository", Parent()), deployment_id=deployment, task=_text("task")),
    }
    return Rule(streams=("deployments",), draft=draft, time_field="created_at",
                fields=_fields("id", "sha", "ref", "task", "environment", "description", "payload.version",
                               "creator.login", "creator.type", "created_at"),
                checks=(Check(Value("id"), "id", "missing"), *_checks("created_at")))


def _statuses(service) -> Rule:
    environment = _text("environment")
    description = Or((Value("description", "truthy"), Const("")))
    kind = call("change_kind_of", Const(None), Value("state", "truthy"), Const(DEPLOY_STATUS))
    draft = {
        "kind": kind, "ts_raw": Value("created_at"), **_actor("creator"),
        "title": call("concat", call("change_title", kind, service, Const(None), environment, Const(None)),
                      Const(" ("), Or((Value("state", "truthy"), Const("no state"))), Const(")")),
        "body": description, "service": service,
        "url": Or((Value("log_url", "truthy"), Value("target_url", "truthy"), Const(None))),
        "refs": call("listed_and_found_refs", Const(None), description, Const("")),
        "native_id": call("concat", Parent(), Const("/statuses/"), Value("id")),
        "attrs": attrs(environment=environment, author=_text("creator_login"), state=_text("state"),
                       repository=call("gh_repository", Parent()), deployment_id=Parent()),
    }
    return Rule(streams=("deployment_statuses",), draft=draft, time_field="created_at",
                fields=_fields("id", "state", "environment", "description", "log_url", "target_url",
                               "creator.login", "creator.type", "created_at"),
                checks=(Check(Value("id"), "id", "missing"), *_checks("created_at")))


def _releases(service) -> Rule:
    version = Or((Value("tag_name", "truthy"), _text("name")))
    body = Or((Value("body", "truthy"), Value("name", "truthy"), Const("")))
    draft = {
        "kind": Const(RELEASE), "ts_raw": Value("published_at"), **_actor("author"),
        "title": call("change_title", Const(RELEASE), service, version, Const(None), Const(None)),
        "body": body, "service": service, "url": _text("html_url"),
        "refs": call("listed_and_found_refs", Const(None), body, Const("")),
        "native_id": call("concat", Parent(), Const("/releases/"), Value("id")),
        "attrs": attrs(version=version, commit=_text("target_commitish"), author=_text("author_login"),
                       repository=call("gh_repository", Parent()), prerelease=Json(Value("prerelease", "json"))),
    }
    return Rule(streams=("releases",), draft=draft, time_field="published_at",
                fields=_fields("id", "tag_name", "name", "body", "html_url", "target_commitish", "prerelease",
                               "author.login", "author.type", "published_at"),
                checks=(Check(Value("id"), "id", "missing"), *_checks("published_at")))


def _pulls(service) -> Rule:
    title = Or((Value("title", "truthy"), Const("")))
    number = Value("number")
    draft = {
        "kind": Const(MERGE), "ts_raw": Value("merged_at"), **_actor("user"),
        "title": call("concat", call("change_title", Const(MERGE), service, Const(None), Const(None), Const(None)),
                      Const(" #"), number, Const(": "), title),
        "body": Or((Value("body", "truthy"), Const(""))), "service": service, "url": _text("html_url"),
        "refs": call("listed_and_found_refs", Const(None), title, Const("")),
        "native_id": call("concat", Parent(), Const("/pulls/"), number),
        "attrs": attrs(commit=_text("merge_commit_sha"), author=_text("user_login"), branch=_text("base_ref"),
                       repository=call("gh_repository", Parent())),
    }
    return Rule(streams=("pulls",), draft=draft, time_field="merged_at",
                fields=_fields("number", "title", "body", "html_url", "merge_commit_sha", "base.ref", "user.login",
                               "user.type", "merged_at"),
                checks=(Check(number, "number", "missing"), *_checks("merged_at")))


# ------------------------------------------------------------------ transforms
def repository(parent: str | None) -> str | None:
    """`acme/checkout-api` of a parent id (`acme/checkout-api` or `.../deployments/42`)."""
    parts = (parent or "").split("/")
    return "/".join(parts[:2]) if len(parts) >= 2 and all(parts[:2]) else None


def service_of(parent: str | None, repos_json: str) -> str | None:
    repo = repository(parent)
    if repo is None:
        return None
    repos: dict[str, Any] = json.loads(repos_json)
    return str(repos.get(repo) or repo.rsplit("/", 1)[-1])


def actor_type(kind: str | None, login: str | None) -> str:
    if not login:
        return "system"
    return "bot" if kind == "Bot" or login.endswith("[bot]") else "human"


TRANSFORMS.update({
    "gh_service": Transform(service_of, distinct=True),
    "gh_repository": Transform(repository, distinct=True),
    "gh_actor_type": Transform(actor_type, distinct=True),
})
