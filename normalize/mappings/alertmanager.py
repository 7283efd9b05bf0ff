"""Alertmanager webhook notifications and v2 API alerts -> alert.triggered / .resolved.

One alert instance is its fingerprint plus its startsAt: every notification of it (the
first, each repeat, the resolution) maps to the same two event ids, so repeats collapse.
`endsAt: "0001-01-01T00:00:00Z"` means the alert has not ended. An alert without a
fingerprint gets the one Alertmanager computes from its labels (contract.alertmanager),
used exactly as a sent one, and `attrs.fingerprint_computed` says so. An alert of the API
snapshot (`alerts`) is read as a firing notification of no group.
"""
from __future__ import annotations

import json
from typing import Any

from incident_timeline.contract.alertmanager import label_fingerprint, labels_computable
from incident_timeline.contract.links import DEDUP, group_key_hash

from ..sql import unique_sql
from ..mapping import SourceSpec
from ..transforms import TRANSFORMS, Transform, _own_and_found_sql, own_and_found_refs
from . import Check, Const, Field, Json, Mapping, OmitNone, Or, Present, Rule, Time, Value, attrs, call

NOT_ENDED_PREFIX = "0001-"
_ALERT = ("fingerprint", "labels", "labels.alertname", "labels.severity", "labels.service", "labels.job",
          "annotations.summary", "annotations.message", "annotations.description", "annotations.runbook_url",
          "startsAt", "endsAt", "status", "generatorURL")
_GROUP = ("receiver", "groupKey", "externalURL")


def alertmanager_mapping(spec: SourceSpec) -> Mapping:
    return Mapping(source_type="alertmanager", time=Time(field="startsAt"),
                   rules=(_rule("notifications", resolved=False), _rule("notifications", resolved=True),
                          _rule("alerts", resolved=False)))


def _rule(stream: str, resolved: bool) -> Rule:
    """A notification's (or an API alert's) trigger, or (`resolved`) its resolution."""
    prefix = "alert." if stream == "notifications" else ""

    def v(name: str, as_: str = "text") -> Value:
        return Value(name.replace(".", "_"), as_)
    fields = tuple(Field(c.replace(".", "_"), prefix + c, required=False) for c in _ALERT)
    if stream == "notifications":
        fields += tuple(Field(c, c, required=False) for c in (*_GROUP, "alert"))
    fingerprint = call("am_fingerprint", v("fingerprint"), v("labels", "object"))
    name = Or((v("labels.alertname", "truthy"), Const("alert")))
    summary = Or((v("annotations.summary", "truthy"), v("annotations.message", "truthy"), Const("")))
    description = Or((v("annotations.description", "truthy"), Const("")))
    label = Present(summary, call("concat", name, Const(": "), summary), name)
    starts = v("startsAt")
    resolves = call("if_equal", v("status"), Const("resolved"), Const("resolved")) if resolved else None
    ends = Or((v("endsAt", "truthy"), Const("")))
    draft = {
        "kind": Const("alert.resolved" if resolved else "alert.triggered"),
        "ts_raw": ends if resolved else starts,
        "title": call("concat", Const("Resolved: " if resolved else "Firing: "), label),
        "actor": Const("Alertmanager"), "actor_type": Const("system"), "subject": v("receiver"),
        "body": Or((description, summary)), "severity": call("to_sev", v("labels.severity")),
        "service": Or((v("labels.service", "truthy"), v("labels.job"))),
        "refs": call("am_refs", call("concat", Const("alert:"), fingerprint), call("am_group_ref", v("groupKey", "json")),
                     summary, description, v("annotations.runbook_url")),
        "url": Or((v("generatorURL", "truthy"), Const(None))),
        "native_id": call("concat", fingerprint, Const("@"), starts),
        "attrs": attrs(alertname=Json(call("json_or", v("labels.alertname", "json"), Const('"alert"'))),
                       labels=Json(call("object_json_or_empty", v("labels", "json"), v("labels", "type"))),
                       fingerprint=fingerprint, group_key=Json(v("groupKey", "json")),
                       receiver=Json(v("receiver", "json")), external_url=Json(v("externalURL", "json")),
                       fingerprint_computed=OmitNone(Json(call("am_computed", v("fingerprint"), fingerprint)))),
    }
    checks = (Check(fingerprint, "fingerprint", "missing, and the alert has no labels (an object of strings) "
                                                "to compute it from"),
              Check(starts, "startsAt", "missing"))
    if stream == "notifications":
        checks = (Check(call("if_equal", Value("alert", "type"), Const("object"), Const("object")), "alert",
                        "notification without its alert"), *checks)
    if resolved:
        checks += (Check(Present(resolves, call("am_ended", ends), Const("-")), "endsAt",
                         "a resolved alert without an end time"),)
    return Rule(streams=(stream,), fields=fields, draft=draft, checks=checks, keep=resolves,
                time_field=f"{prefix}{'endsAt' if resolved else 'startsAt'}")


# ------------------------------------------------------------------ transforms
def _fingerprint(own: str | None, labels: Any) -> str | None:
    if own not in (None, ""):
        return own
    return label_fingerprint(labels) if labels_computable(labels) else None


def _group_ref(group_key_json: str | None) -> str | None:
    """The key Alertmanager's Opsgenie and PagerDuty notifiers send for this group (alias,
    dedup_key): the SHA-256 of the group key the webhook carries."""
    key = None if group_key_json is None else json.loads(group_key_json)
    return DEDUP + group_key_hash(key) if isinstance(key, str) and key else None


def _refs(ctx, own: str | None, group_ref: str | None, *texts: str | None) -> list[str]:
    return own_and_found_refs(ctx, own, *texts) + ([group_ref] if group_ref else [])


def _refs_sql(ctx, own: str, group_ref: str, *texts: str) -> str:
    return (f"list_concat({_own_and_found_sql(ctx, own, *texts)}, "
            f"CASE WHEN {group_ref} IS NULL THEN []::VARCHAR[] ELSE [{group_ref}] END)")


TRANSFORMS.update({
    "am_fingerprint": Transform(_fingerprint, sql=lambda _c, own, _l: own, exact=lambda _c, own, _l: f"{own} <> ''"),
    "am_computed": Transform(lambda own, fp: "true" if own in (None, "") and fp is not None else None,
                             sql=lambda _c, own, fp: f"CASE WHEN coalesce({own}, '') = '' AND {fp} IS NOT NULL "
                                                     f"THEN 'true' END", exact=lambda *_a: "true"),
    "am_group_ref": Transform(_group_ref, distinct=True),
    "am_refs": Transform(_refs, returns="VARCHAR[]", with_ctx=True, sql=_refs_sql, post=unique_sql("{col}"),
                         exact=lambda c, _own, _g, *texts: TRANSFORMS["own_and_found_refs"].exact(c, None, *texts)),
    "am_ended": Transform(lambda ends: "ended" if ends and not ends.startswith(NOT_ENDED_PREFIX) else None,
                          sql=lambda _c, e: f"CASE WHEN {e} <> '' AND NOT starts_with({e}, {NOT_ENDED_PREFIX!r}) "
                                            f"THEN 'ended' END", exact=lambda *_a: "true"),
})
