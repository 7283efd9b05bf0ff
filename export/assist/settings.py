"""The `assist:` section of connectors.yaml: the OpenAI-compatible chat endpoint that
`build/run --assist` asks for a first draft. Without it nothing is ever sent.

    assist:
      base_url: http://localhost:11434/v1     # up to /v1: {base_url}/chat/completions is called
      model: llama3.1:8b
      api_key: ${OPENAI_API_KEY}              # optional; only ever an ${ENV} reference
      timeout: 60s
      retries: 1                              # more tries after a 429 or 502-504
      json_mode: true                         # sends response_format: {type: json_object}
      max_rows: 400                           # timeline rows sent at most (people's first)
      private:
        sources: [hr-slack]                   # rows of these sources (names in sources:) are not sent
        fields: [actor, body]                 # these row fields are left out of every row
        patterns: ['(?i)customer-\\d+']        # matches are sent (and kept) as [PRIVATE]
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .client import AssistSettings
from .payload import MAX_ROWS, ROW_FIELDS, Private

KEYS = {"base_url", "model", "api_key", "timeout", "retries", "json_mode", "max_rows", "private"}
PRIVATE_KEYS = ("sources", "fields", "patterns")
DEFAULTS = {"timeout": "60s", "retries": 1, "json_mode": True, "max_rows": MAX_ROWS, "api_key": None}


def parse_assist(items: Any, config_path: Path, problems: list[str],
                 source_names: list[str] | None = None) -> dict[str, Any] | None:
    """The validated section (api_key a Secret, `timeout_s`, `private` a Private), None
    when there is none; every problem appended at once."""
    from incident_timeline.config import _ENV_REF, Secret, parse_duration
    if items is None:
        return None
    if not isinstance(items, dict):
        problems.append("assist must be a mapping (base_url, model, api_key, timeout, retries, json_mode, private)")
        return None
    for key in sorted(set(items) - KEYS):
        problems.append(f"assist: unknown key {key!r} (known: {', '.join(sorted(KEYS))})")
    out: dict[str, Any] = {**DEFAULTS, **{k: v for k, v in items.items() if k in KEYS}}
    base_url = out.get("base_url")
    if not isinstance(base_url, str) or not re.match(r"^https?://[^\s/]+", base_url.strip()):
        problems.append("assist.base_url is required: the endpoint's http(s) URL up to /v1 "
                        "(e.g. http://localhost:11434/v1 for Ollama)")
    else:
        out["base_url"] = base_url.strip()
    if not isinstance(out.get("model"), str) or not out["model"].strip():
        problems.append("assist.model is required (the model's name on that endpoint, e.g. llama3.1:8b)")
    key = out["api_key"]
    if key is not None:
        if not isinstance(key, str) or not _ENV_REF.search(key):
            problems.append("assist.api_key must be an ${ENV} reference, not a literal secret")
        else:
            out["api_key"] = Secret(key, "assist", "api_key", config_path)
    try:
        out["timeout_s"] = parse_duration(str(out["timeout"])).total_seconds()
        if out["timeout_s"] <= 0:
            raise ValueError("must be more than 0s")
    except ValueError as exc:
        problems.append(f"assist.timeout: {exc}")
    retries = out["retries"]
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 5:
        problems.append("assist.retries must be a whole number from 0 to 5")
    max_rows = out["max_rows"]
    if not isinstance(max_rows, int) or isinstance(max_rows, bool) or not 1 <= max_rows <= 10000:
        problems.append("assist.max_rows must be a whole number from 1 to 10000")
    if not isinstance(out["json_mode"], bool):
        problems.append("assist.json_mode must be true or false")
    out["private"] = _parse_private(out.get("private"), problems, source_names)
    return out


def _parse_private(items: Any, problems: list[str], source_names: list[str] | None) -> Private:
    if items is None:
        return Private()
    if not isinstance(items, dict):
        problems.append("assist.private must be a mapping of sources, fields and patterns to lists")
        return Private()
    for key in sorted(set(items) - set(PRIVATE_KEYS)):
        problems.append(f"assist.private: unknown key {key!r} (known: {', '.join(PRIVATE_KEYS)})")
    lists: dict[str, list[str]] = {}
    for key in PRIVATE_KEYS:
        value = items.get(key) or []
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            problems.append(f"assist.private.{key} must be a list of strings")
            value = []
        lists[key] = value
    for name in lists["sources"]:
        if source_names is not None and name not in source_names:
            problems.append(f"assist.private.sources: {name!r} is not a source of this config "
                            f"({', '.join(source_names)})")
    for name in lists["fields"]:
        if name not in ROW_FIELDS:
            problems.append(f"assist.private.fields: {name!r} is not a row field that can be left out "
                            f"({', '.join(ROW_FIELDS)})")
    for pattern in lists["patterns"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(f"assist.private.patterns: {pattern!r} is not a regular expression: {exc}")
    return Private(sources=lists["sources"], fields=[f for f in lists["fields"] if f in ROW_FIELDS],
                   patterns=lists["patterns"])


def assist_settings(config) -> AssistSettings | None:
    """`assist:` as the client takes it; None when the config has none. A key whose
    environment variable is unset makes the settings unusable (one line in the draft):
    only --assist is affected."""
    from incident_timeline.config import SecretMissing
    part = config.assist
    if part is None:
        return None
    settings = AssistSettings(base_url=part["base_url"], model=part["model"], timeout_s=part["timeout_s"],
                              private=part["private"], retries=part["retries"], json_mode=part["json_mode"],
                              max_rows=part["max_rows"])
    if part["api_key"] is not None:
        try:
            settings.api_key = part["api_key"].reveal()
        except SecretMissing as exc:
            settings.unusable = f"assist.api_key needs environment variable {exc.variable}, which is not set"
    settings.known_secrets = sorted(_config_secrets(config) | ({settings.api_key} if settings.api_key else set()))
    return settings


def _config_secrets(config) -> set[str]:
    """The values of every credential the config names whose variable is set: scrubbed
    from what is sent and from what comes back, whether or not this command used them."""
    from incident_timeline.config import Secret
    out = set(Secret.revealed())
    holders = [s.options for s in config.sources] + [v for v in (config.publish or {}).values() if isinstance(v, dict)]
    for options in holders:
        for value in options.values():
            if isinstance(value, Secret) and not value.missing():
                out.add(value.reveal())
    return out
