"""Statuspage incidents -> comms.status_update: one event per item of `incident_updates`
(what the page told its subscribers), at the update's `created_at` (when it was posted;
`display_at`, the time the page shows, which a user may backdate, is kept in attrs, and
used only when `created_at` is missing). text: the update's body. refs: the Statuspage
incident (`statuspage:<id>`) first, so correlation joins the updates of one incident, then
the refs its text names. service: the first of the incident's components (else of the
update's affected components) as the source's `components:` maps it, else its name.
attrs: status (investigating, identified, monitoring, resolved; scheduled maintenances:
scheduled, in_progress, verifying, completed), impact, components, affected (the update's
affected components), incident (its name), incident_id, incident_status, shortlink,
display_at.
"""
from __future__ import annotations

import json
from typing import Any

from incident_timeline.contract.schemas import STATUS_UPDATE

from ..mapping import SourceSpec
from ..transforms import TRANSFORMS, Transform
from . import Check, Const, Field, Json, Mapping, Or, Rule, Time, Value, attrs, call

_INCIDENT = {"updates": "incident_updates", "incident_id": "id", "incident_name": "name",
             "incident_status": "status", "impact": "impact", "shortlink": "shortlink", "components": "components"}
_UPDATE = {"update_id": "id", "status": "status", "body": "body", "created_at": "created_at",
           "display_at": "display_at", "affected": "affected_components"}


def components(value: Any) -> dict[str, str]:
    """`components:` as {component name: service}; anything but a mapping is none."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {}


def statuspage_mapping(spec: SourceSpec) -> Mapping:
    mapped = Const(json.dumps(components(spec.options.get("components")), sort_keys=True))
    return Mapping(source_type="statuspage", time=Time(field="created_at"), rules=(_updates(mapped),))


def _text(name: str):
    return Or((Value(name, "truthy"), Const(None)))


def _updates(mapped) -> Rule:
    incident = Value("incident_id")
    name = Or((Value("incident_name", "truthy"), Const("")))
    status = _text("status")
    body = Or((Value("body", "truthy"), Const("")))
    incident_components, affected = Value("components", "json"), Value("affected", "json")
    posted = Or((Value("created_at", "truthy"), Value("display_at")))
    # an update without its id is still one event: named by its time within the incident
    update = Or((Value("update_id", "truthy"), call("concat", Const("@"), posted)))
    draft = {
        "kind": Const(STATUS_UPDATE), "ts_raw": posted,
        "actor": Const("Statuspage"), "actor_type": Const("system"),
        "title": call("concat", Const("Status page update ("), Or((status, Const("no status"))), Const("): "), name),
        "body": body, "service": call("sp_service", incident_components, affected, mapped),
        "url": _text("shortlink"),
        "refs": call("own_and_found_refs", call("concat", Const("statuspage:"), incident), body),
        "native_id": call("concat", incident, Const("/updates/"), update),
        "attrs": attrs(status=status, impact=_text("impact"), incident=_text("incident_name"), incident_id=incident,
                       incident_status=_text("incident_status"), shortlink=_text("shortlink"),
                       display_at=_text("display_at"),
                       components=Json(call("sp_names", incident_components)),
                       affected=Json(call("sp_names", affected))),
    }
    fields = (*(Field(n, c, required=False) for n, c in _INCIDENT.items()),
              *(Field(n, c, required=False, of_item=True) for n, c in _UPDATE.items()))
    return Rule(streams=("incidents",), each="incident_updates", draft=draft, fields=fields,
                time_field="incident_updates.created_at",
                checks=(Check(incident, "id", "missing"),
                        # (a list that is not of objects is the `each` rule's own reject)
                        Check(call("sp_updated", Value("updates", "json")), "incident_updates",
                              "an incident without updates (nothing was posted)")))


# ------------------------------------------------------------------ transforms
def names(components_json: str | None) -> list[str]:
    """The names of a list of components (objects with a `name`), in order, once each."""
    value = json.loads(components_json) if components_json else None
    out = [str(c["name"]) for c in value if isinstance(c, dict) and isinstance(c.get("name"), str) and c["name"]] \
        if isinstance(value, list) else []
    return list(dict.fromkeys(out))


def service(incident_json: str | None, affected_json: str | None, mapped_json: str) -> str | None:
    first = next(iter(names(incident_json) + names(affected_json)), None)
    if first is None:
        return None
    mapped: dict[str, Any] = json.loads(mapped_json)
    return str(mapped.get(first) or first)


def updated(updates_json: str | None) -> str | None:
    """"yes" unless the updates are absent, null or empty (`[]`, `{}`, `""`, 0, false: the
    `each` rule takes none of them as items and rejects nothing); any other value that is not
    a list of objects is the `each` rule's reject."""
    value = json.loads(updates_json) if updates_json else None
    return "yes" if value else None


TRANSFORMS.update({
    "sp_updated": Transform(updated),
    "sp_names": Transform(lambda text: json.dumps(names(text), ensure_ascii=False, separators=(",", ":"))),
    "sp_service": Transform(service),
})
