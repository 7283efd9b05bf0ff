"""Grafana alert state history -> alert.* events, one per state transition.

Alerting is a trigger; leaving Alerting (to Normal) is a resolution; the rest (Pending,
NoData, Error, Recovering) are kept as alert.state with the transition in the title.
"""
from __future__ import annotations

from ..sql import odd_ref_text_sql, refs_sql, unique_sql
from ..mapping import SourceSpec
from ..transforms import TRANSFORMS, Transform
from . import Check, Const, Field, Json, Mapping, Or, Rule, Time, Value, attrs, call

_LINE = ("previous", "current", "labels", "labels.alertname", "labels.severity", "labels.service", "labels.job",
         "ruleTitle", "fingerprint", "error", "ruleUID", "values")


def grafana_mapping(spec: SourceSpec) -> Mapping:
    def v(name: str, as_: str = "text") -> Value:
        return Value(name.replace(".", "_"), as_)
    previous, current = call("gf_state", v("previous", "truthy")), call("gf_state", v("current", "truthy"))
    labels = call("object_json_or_empty", v("labels", "json"), v("labels", "type"))
    error = Or((v("error", "truthy"), Const("")))
    title = Or((v("ruleTitle", "truthy"), v("labels.alertname", "truthy"), Const("Grafana alert")))
    draft = {
        "kind": call("gf_kind", previous, current), "ts_raw": Value("time"),
        "actor": Const("Grafana"), "actor_type": Const("system"),
        "title": call("concat", title, Const(": "), Or((previous, Const("?"))), Const(" → "), v("current")),
        "body": error, "severity": call("to_sev", v("labels.severity")),
        "service": Or((v("labels.service", "truthy"), v("labels.job"))),
        # the rule's own ref last: what a pasted rule link (/alerting/grafana/<uid>/view) names
        "refs": call("gf_refs", v("fingerprint", "truthy"), error, v("ruleUID"), v("ruleUID", "type")),
        "native_id": call("concat", *[x for part in (v("ruleUID"), v("fingerprint"), Value("time"), v("current"))
                                      for x in (call("str_or_none", part), Const("/"))][:-1]),
        "attrs": attrs(rule_uid=Json(v("ruleUID", "json")), previous=Json(v("previous", "json")),
                       current=Json(v("current", "json")), labels=Json(labels), values=Json(v("values", "json"))),
    }
    fields = (Field("line", "line", required=False), Field("time", "time", required=False),
              *(Field(c.replace(".", "_"), "line." + c, required=False) for c in _LINE))
    checks = (Check(call("if_equal", Value("line", "type"), Const("object"), Const("object")), "line",
                    "history row without its state line"),
              Check(v("current"), "current", "missing"), Check(Value("time"), "time", "missing"))
    return Mapping(source_type="grafana", time=Time(field="time", format="epoch_ms"),
                   rules=(Rule(streams=("history",), fields=fields, checks=checks, draft=draft),))


# ------------------------------------------------------------------ transforms
def state(value: str | None) -> str:
    """"Alerting (NoData)" -> "Alerting": Grafana appends the reason in brackets."""
    return (value or "").split(" (")[0].strip()


def transition_kind(previous: str, current: str) -> str:
    if current == "Alerting":
        return "alert.triggered"
    if current == "Normal" and previous in ("Alerting", "Recovering"):
        return "alert.resolved"
    return "alert.state"


def _refs(ctx, fingerprint: str | None, error: str, rule_uid: str | None, uid_type: str | None) -> list[str]:
    return (([f"alert:{fingerprint}"] if fingerprint else []) + ctx.refs.find(error)
            + ([f"grafana:{rule_uid}"] if uid_type == "string" and rule_uid else []))


def _refs_sql(ctx, fingerprint: str, error: str, rule_uid: str, uid_type: str) -> str:
    text = f"coalesce({error}, '')"
    return (f"list_concat(CASE WHEN {fingerprint} IS NULL THEN []::VARCHAR[] ELSE ['alert:' || {fingerprint}] END, "
            f"{refs_sql(ctx.refs, text)}, CASE WHEN {uid_type} = 'string' AND "
            f"{rule_uid} <> '' THEN ['grafana:' || {rule_uid}] ELSE []::VARCHAR[] END)")


TRANSFORMS.update({
    "gf_state": Transform(state, distinct=True),
    "gf_kind": Transform(transition_kind, distinct=True),
    "gf_refs": Transform(_refs, returns="VARCHAR[]", with_ctx=True, sql=_refs_sql, post=unique_sql("{col}"),
                         exact=lambda c, _f, error, *_a: f"NOT {odd_ref_text_sql(c.refs, error)}"),
})
