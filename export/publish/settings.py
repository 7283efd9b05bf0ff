"""The `publish:` section of connectors.yaml: one entry per target, secrets as `${ENV}`.

    publish:
      confluence: {base_url: https://acme.atlassian.net, email: sre-bot@acme.example, token: ${CONFLUENCE_TOKEN},
                   space: OPS, parent_id: "123456"}
      on_build_resolved: [confluence, slack]
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# target -> (required keys, optional keys, secret keys)
TARGETS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "confluence": (("base_url", "space", "token"), ("email", "parent_id", "api", "labels"), ("token",)),
    "gdrive": (("folder_id",), ("credentials_file", "credentials", "base_url"), ("credentials",)),
    "slack": (("token",), ("base_url", "channel", "incident_channel"), ("token",)),
    "jira": (("base_url", "token"), ("email", "ticket_project"), ("token",)),
}
# the order a publish runs them in: the pages first, so the message and the ticket link to them
ORDER = ("confluence", "gdrive", "slack", "jira")
PAGE_TARGETS = ("confluence", "gdrive")
CONFLUENCE_APIS = ("cloud", "datacenter")


def parse_publish(items: Any, base_dir: Path, config_path: Path, problems: list[str]) -> dict[str, Any]:
    """{target: options} plus `on_build_resolved: [targets]`; every problem reported at once."""
    from incident_timeline.config import Secret
    if items is None:
        return {"on_build_resolved": []}
    if not isinstance(items, dict):
        problems.append("publish must be a mapping of a target (confluence, gdrive, slack, jira) to its settings")
        return {"on_build_resolved": []}
    out: dict[str, Any] = {}
    for name, options in items.items():
        if name == "on_build_resolved":
            continue
        label = f"publish.{name}"
        if name not in TARGETS:
            problems.append(f"publish: unknown target {name!r} (known: {', '.join(ORDER)})")
            continue
        if not isinstance(options, dict):
            problems.append(f"{label} must be a mapping")
            continue
        required, optional, secrets = TARGETS[name]
        for key in sorted(set(options) - set(required) - set(optional)):
            problems.append(f"{label}: unknown key {key!r}")
        for key in required:
            if options.get(key) in (None, ""):
                problems.append(f"{label}: {key} is required")
        values: dict[str, Any] = {}
        for key, value in options.items():
            if key in secrets:
                if not isinstance(value, str) or not _ENV_REF.search(value):
                    problems.append(f"{label}: {key} must be an ${{ENV}} reference, not a literal secret")
                    continue
                values[key] = Secret(value, name, key, config_path)
            elif isinstance(value, str):
                values[key] = os.path.expandvars(value)
            else:
                values[key] = value
        _check_target(name, values, base_dir, label, problems)
        out[name] = values
    on_resolved = items.get("on_build_resolved") or []
    if isinstance(on_resolved, str):
        on_resolved = [on_resolved]
    if not isinstance(on_resolved, list) or not all(isinstance(t, str) for t in on_resolved):
        problems.append("publish.on_build_resolved must be a list of targets")
        on_resolved = []
    for target in on_resolved:
        if target not in out:
            problems.append(f"publish.on_build_resolved: {target!r} is not a configured publish target")
    out["on_build_resolved"] = [t for t in ORDER if t in on_resolved]
    return out


def _check_target(name: str, values: dict[str, Any], base_dir: Path, label: str, problems: list[str]) -> None:
    if name == "confluence" and values.get("api", "cloud") not in CONFLUENCE_APIS:
        problems.append(f"{label}: api must be cloud or datacenter, not {values['api']!r}")
    if name == "confluence" and values.get("api", "cloud") == "cloud" and not values.get("email"):
        problems.append(f"{label}: email is required for Confluence Cloud (the API token's account)")
    if name == "confluence" and "labels" in values and not (
            isinstance(values["labels"], list) and all(isinstance(v, str) for v in values["labels"])):
        problems.append(f"{label}: labels must be a list of words")
    if name == "gdrive":
        given = [k for k in ("credentials_file", "credentials") if values.get(k)]
        if len(given) != 1:
            problems.append(f"{label}: give one of credentials_file (a service account key file) or "
                            "credentials (${ENV} holding its JSON)")
        elif given[0] == "credentials_file":
            p = Path(str(values["credentials_file"])).expanduser()
            p = p if p.is_absolute() else base_dir / p
            values["credentials_file"] = p
            if not p.exists():
                problems.append(f"{label}: credentials_file not found: {p}")
    if name == "slack":
        if not isinstance(values.setdefault("incident_channel", True), bool):
            problems.append(f"{label}: incident_channel must be true or false")
        if not values["incident_channel"] and not values.get("channel"):
            problems.append(f"{label}: give channel, or incident_channel: true")
