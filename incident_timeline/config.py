"""connectors.yaml: loaded, `${VAR}`-expanded and validated, every problem reported at once."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from incident_timeline.contract.durations import parse_duration, signed_seconds
from incident_timeline.ingest.base import SourceSettings
from incident_timeline.ingest.errors import SourceError
from incident_timeline.ingest.registry import CONNECTORS

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

COMMON_KEYS = {"name", "type", "path", "base_url", "timezone", "clock_offset", "overlap", "redact"}
TOP_KEYS = {"lake", "timezone", "sources", "correlation", "catalog", "storage", "services", "redact", "drafts",
            "publish", "history", "assist"}
# `redact:` what a source's secrets are redacted in besides the catalog and the exports
# (always): `events` (normalised text), `raw` (the payloads as fetched; implies events).
REDACT_TARGETS = ("events", "raw")
# `drafts:`: the backfill writes the draft of every incident resolved since its last run
DRAFTS_DEFAULTS = {"build_resolved": False, "out": "reports", "format": "md,html,json,csv"}
# `history:`: how far back a draft's History section looks for earlier incidents
HISTORY_DEFAULTS = {"window": "90d"}
# `storage:` for a lake on s3://; each falls back to the usual AWS environment variable.
STORAGE_KEYS = {"endpoint_url": "AWS_ENDPOINT_URL", "region": "AWS_REGION",
                "access_key_id": "AWS_ACCESS_KEY_ID", "secret_access_key": "AWS_SECRET_ACCESS_KEY",
                "session_token": "AWS_SESSION_TOKEN"}
STORAGE_SECRETS = ("access_key_id", "secret_access_key", "session_token")
OBJECT_STORE_SCHEMES = ("s3", "s3a")
CORRELATION_DEFAULTS = {"pad_before": "1h", "pad_after": "12h", "depth": 3, "run_pad": "2h",
                        "storm_window": "10m", "dedup_window": "2m", "gap": "15m", "change_window": "2h"}


class ConfigInvalid(Exception):
    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        listing = "; ".join(problems)
        super().__init__(f"{path}: {len(problems)} problem(s): {listing}")


class SecretMissing(ConfigInvalid, SourceError):
    """A `${VAR}` a source needs now (it is about to call its API) is not set: that source
    fails with one line naming it, the key and the variable; other sources go on."""

    def __init__(self, path: Path, source: str, key: str, variable: str):
        self.problems = [f"source {source}: {key} needs environment variable {variable}, which is not set"]
        self.path, self.source, self.key, self.variable = path, source, key, variable
        self.stream = self.page = None
        Exception.__init__(self, f"{path}: {self.problems[0]}")


class Secret:
    """A `${VAR}` value: resolved from the environment only when used, never printed.

    A missing variable is not an error when the config loads: only a command that calls
    the source's API reveals its secrets (a recorded `path:` source never does)."""

    _revealed: set[str] = set()

    @classmethod
    def revealed(cls) -> set[str]:
        """Every secret value read so far: log output scrubs them."""
        return set(cls._revealed)

    def __init__(self, template: str, source: str, key: str, config_path: Path | None = None):
        self.template, self.source, self.key = template, source, key
        self.config_path = config_path or Path("connectors.yaml")

    def missing(self) -> list[str]:
        return [v for v in _ENV_REF.findall(self.template) if v not in os.environ]

    def reveal(self) -> str:
        missing = self.missing()
        if missing:
            raise SecretMissing(self.config_path, self.source, self.key, missing[0])
        value = _ENV_REF.sub(lambda m: os.environ[m.group(1)], self.template)
        Secret._revealed.add(value)
        return value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


@dataclass
class Config:
    path: Path
    lake: Path
    timezone: str
    sources: list[SourceSettings]
    correlation: dict[str, Any] = field(default_factory=lambda: dict(CORRELATION_DEFAULTS))
    # A lake on object storage: `lake_url` is s3://bucket/prefix and `lake` is then the local
    # folder that holds the catalog and the locks. `catalog` is the `catalog:` key, if given.
    lake_url: str | None = None
    catalog: Path | None = None
    storage: dict[str, Any] = field(default_factory=dict)
    # `services:`: one service -> the names each tool gives it (PagerDuty service names or
    # ids, ServiceNow CIs, Opsgenie tags, alert labels), compared without regard to case
    services: dict[str, list[str]] = field(default_factory=dict)
    drafts: dict[str, Any] = field(default_factory=lambda: dict(DRAFTS_DEFAULTS))
    # `publish:`: target (confluence, gdrive, slack, jira) -> its settings; `on_build_resolved`
    publish: dict[str, Any] = field(default_factory=lambda: {"on_build_resolved": []})
    history: dict[str, Any] = field(default_factory=lambda: dict(HISTORY_DEFAULTS))
    # `assist:` as validated (api_key a Secret); None when not configured: nothing is sent
    assist: dict[str, Any] | None = None

    def s3_credentials(self):
        from incident_timeline.lake.storage import S3Credentials
        values = {}
        for key, env in STORAGE_KEYS.items():
            value = self.storage.get(key)
            if value is None and env in os.environ:
                value = Secret(f"${{{env}}}", "storage", key) if key in STORAGE_SECRETS else os.environ[env]
            values[key] = value.reveal() if isinstance(value, Secret) else value
        if values["region"] is None:
            values["region"] = os.environ.get("AWS_DEFAULT_REGION")
        return S3Credentials(**values)

    def source(self, name: str) -> SourceSettings:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources)
        raise ConfigInvalid(self.path, [f"no source named {name!r} (configured: {known})"])

    def select(self, names: tuple[str, ...] | list[str] | None) -> list[SourceSettings]:
        return [self.source(n) for n in names] if names else list(self.sources)

    def duration(self, key: str) -> timedelta:
        return parse_duration(str(self.correlation[key]))

    @property
    def history_window(self) -> timedelta:
        return parse_duration(str(self.history["window"]))


def default_config_path() -> Path:
    return Path(os.environ.get("INCIDENT_TIMELINE_CONFIG", "connectors.yaml"))


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigInvalid(path, ["file not found (use --config or $INCIDENT_TIMELINE_CONFIG)"]) from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigInvalid(path, [f"not valid YAML: {exc}".replace("\n", " ")]) from None
    return parse_config(data, path)


def parse_config(data: Any, path: Path) -> Config:
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ConfigInvalid(path, ["the top level must be a mapping"])
    for key in sorted(set(data) - TOP_KEYS):
        problems.append(f"unknown top-level key {key!r}")
    base_dir = path.parent.resolve()
    lake_url, lake, catalog_file = _parse_lake(data, base_dir, problems)
    storage = _parse_storage(data.get("storage"), problems)
    zone = str(data.get("timezone", "UTC"))
    _check_zone(zone, "timezone", problems)
    correlation = dict(CORRELATION_DEFAULTS)
    corr_in = data.get("correlation") or {}
    if not isinstance(corr_in, dict):
        problems.append("correlation must be a mapping")
        corr_in = {}
    for key, value in corr_in.items():
        if key not in CORRELATION_DEFAULTS:
            problems.append(f"correlation: unknown key {key!r}")
        elif key == "depth":
            if not isinstance(value, int) or not 0 <= value <= 10:
                problems.append("correlation.depth must be a whole number from 0 to 10")
        else:
            try:
                parse_duration(str(value))
            except ValueError as exc:
                problems.append(f"correlation.{key}: {exc}")
        correlation[key] = value
    services = _parse_services(data.get("services"), problems)
    redact = parse_redact(data.get("redact"), "redact", problems)
    sources = _parse_sources(data.get("sources"), base_dir, zone, problems, redact, path)
    drafts = _parse_drafts(data.get("drafts"), base_dir, problems)
    history = _parse_history(data.get("history"), problems)
    from incident_timeline.export.publish.settings import parse_publish
    publish = parse_publish(data.get("publish"), base_dir, path, problems)
    from incident_timeline.export.assist.settings import parse_assist
    assist = parse_assist(data.get("assist"), path, problems, [s.name for s in sources])
    if problems:
        raise ConfigInvalid(path, problems)
    return Config(path=path, lake=lake, timezone=zone, sources=sources, correlation=correlation,
                  lake_url=lake_url, catalog=catalog_file, storage=storage, services=services,
                  drafts=drafts, publish=publish, history=history, assist=assist)


def _parse_services(items: Any, problems: list[str]) -> dict[str, list[str]]:
    """`services: {payments: [payments-settlement, PSVC123, ci-pay]}`: a name used by two
    services, or an empty one, is a problem (which one it means could not be told)."""
    if items is None:
        return {}
    if not isinstance(items, dict):
        problems.append("services must be a mapping of a service to the names tools give it")
        return {}
    out: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for name, aliases in items.items():
        if not isinstance(name, str) or not name.strip():
            problems.append(f"services: {name!r} is not a service name")
            continue
        if isinstance(aliases, (str, int)) and not isinstance(aliases, bool):
            aliases = [aliases]
        if aliases is None:
            aliases = []
        if not isinstance(aliases, list) or not all(isinstance(a, (str, int)) and not isinstance(a, bool)
                                                    and str(a).strip() for a in aliases):
            problems.append(f"services.{name}: must be a list of the names tools give it (strings)")
            continue
        for alias in [name, *aliases]:
            key = str(alias).strip().lower()
            if owner.get(key, name) != name:
                problems.append(f"services: {str(alias)!r} is listed under both {owner[key]} and {name}")
            owner[key] = name
        out[name] = [str(a).strip() for a in aliases]
    return out


def _parse_drafts(items: Any, base_dir: Path, problems: list[str]) -> dict[str, Any]:
    drafts = dict(DRAFTS_DEFAULTS)
    if items is None:
        drafts["out"] = _local_path(drafts["out"], base_dir)
        return drafts
    if not isinstance(items, dict):
        problems.append("drafts must be a mapping")
        items = {}
    for key in sorted(set(items) - set(DRAFTS_DEFAULTS)):
        problems.append(f"drafts: unknown key {key!r}")
    drafts.update({k: v for k, v in items.items() if k in DRAFTS_DEFAULTS})
    if not isinstance(drafts["build_resolved"], bool):
        problems.append("drafts.build_resolved must be true or false")
    if not isinstance(drafts["format"], str) or not drafts["format"].strip():
        problems.append("drafts.format must be a comma-separated list, like md,html,json,csv")
    drafts["out"] = _local_path(str(drafts["out"]), base_dir)
    return drafts


def _parse_history(items: Any, problems: list[str]) -> dict[str, Any]:
    history = dict(HISTORY_DEFAULTS)
    if items is None:
        return history
    if not isinstance(items, dict):
        problems.append("history must be a mapping")
        return history
    for key in sorted(set(items) - set(HISTORY_DEFAULTS)):
        problems.append(f"history: unknown key {key!r}")
    if "window" in items:
        try:
            if parse_duration(str(items["window"])) <= timedelta(0):
                problems.append("history.window must be longer than 0 (like 90d)")
            history["window"] = items["window"]
        except ValueError as exc:
            problems.append(f"history.window: {exc}")
    return history


def _local_path(text: str, base_dir: Path) -> Path:
    p = Path(os.path.expandvars(text)).expanduser()
    return p if p.is_absolute() else base_dir / p


def _parse_lake(data: dict, base_dir: Path, problems: list[str]) -> tuple[str | None, Path, Path | None]:
    """(object-storage URL or None, local lake or state folder, catalog file or None)."""
    text = os.path.expandvars(str(data.get("lake", "./lake")))
    catalog_file = _local_path(str(data["catalog"]), base_dir) if data.get("catalog") else None
    if "://" not in text:
        folder = _local_path(text, base_dir)
        if (folder / "__init__.py").exists():
            problems.append(f"lake: {text!r} is a Python package folder ({folder.name}/__init__.py), "
                            "not a place for data; name another folder (the demo uses ./data)")
        return None, folder, catalog_file
    scheme, _, rest = text.partition("://")
    if scheme not in OBJECT_STORE_SCHEMES or not rest.strip("/"):
        problems.append(f"lake: {text!r} is neither a folder nor s3://bucket/prefix")
        return None, base_dir / "lake", catalog_file
    catalog_file = catalog_file or base_dir / ".incident-timeline" / "catalog.duckdb"
    return f"s3://{rest.strip('/')}", catalog_file.parent, catalog_file


def _parse_storage(items: Any, problems: list[str]) -> dict[str, Any]:
    if items is None:
        return {}
    if not isinstance(items, dict):
        problems.append("storage must be a mapping")
        return {}
    out: dict[str, Any] = {}
    for key, value in items.items():
        if key not in STORAGE_KEYS:
            problems.append(f"storage: unknown key {key!r} (known: {', '.join(STORAGE_KEYS)})")
            continue
        text = str(value)
        refs = _ENV_REF.findall(text)
        if key in STORAGE_SECRETS and not refs:
            problems.append(f"storage: {key} must be an ${{ENV}} reference, not a literal secret")
            continue
        for var in refs:
            if var not in os.environ:
                problems.append(f"storage: {key} needs environment variable {var}, which is not set")
        out[key] = Secret(text, "storage", key) if key in STORAGE_SECRETS else os.path.expandvars(text)
    return out


def parse_redact(value: Any, label: str, problems: list[str]) -> tuple[str, ...]:
    """`events`, `raw`, a list of them, or `none`/`[]`: as a tuple (`raw` brings `events`)."""
    if value is None or value is False or value == "none":
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v in REDACT_TARGETS for v in items):
        problems.append(f"{label}: must be events, raw, a list of them or none, not {value!r}")
        return ()
    return tuple(v for v in REDACT_TARGETS if v in items or "raw" in items)


def _parse_sources(items: Any, base_dir: Path, zone: str, problems: list[str],
                   redact: tuple[str, ...] = (), config_path: Path | None = None) -> list[SourceSettings]:
    if not isinstance(items, list) or not items:
        problems.append("sources must be a non-empty list")
        return []
    out, seen = [], set()
    for i, item in enumerate(items):
        label = f"sources[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{label} must be a mapping")
            continue
        name, type_ = item.get("name"), item.get("type")
        if not name or not _NAME.match(str(name)):
            problems.append(f"{label}: name is required (letters, digits, _ . -)")
        else:
            label = f"source {name}"
            if name in seen:
                problems.append(f"{label}: name used twice")
            seen.add(name)
        cls = CONNECTORS.get(type_)
        if cls is None:
            problems.append(f"{label}: unknown type {type_!r} (known: {', '.join(sorted(CONNECTORS))})")
            continue
        allowed = COMMON_KEYS | set(cls.api_keys) | set(cls.optional_keys)
        for key in sorted(set(item) - allowed):
            problems.append(f"{label}: unknown key {key!r} for type {type_}")
        options = {k: v for k, v in item.items() if k not in ("name", "type")}
        options.setdefault("timezone", zone)
        if "redact" in options or redact:
            options["redact"] = parse_redact(options.get("redact", list(redact)), f"{label}: redact", problems)
        _check_zone(str(options["timezone"]), f"{label}: timezone", problems)
        if "overlap" in options:
            try:
                parse_duration(str(options["overlap"]))
            except ValueError as exc:
                problems.append(f"{label}: overlap: {exc}")
        if "clock_offset" in options:
            try:
                signed_seconds(str(options["clock_offset"]))
            except ValueError as exc:
                problems.append(f"{label}: clock_offset: {exc}")
        _check_mode(cls, options, label, base_dir, problems)
        problems += [f"{label}: {problem}" for problem in cls.check_options(options)]
        for key in cls.secret_keys:
            if isinstance(options.get(key), str) and _ENV_REF.search(options[key]):
                options[key] = Secret(options[key], str(name), key, config_path)
        _env_secrets(cls, options, str(name), label, problems, config_path)
        out.append(SourceSettings(name=str(name), type=type_, options=options, base_dir=base_dir))
    return out


def _env_secrets(cls, options: dict, name: str, label: str, problems: list[str],
                 config_path: Path | None) -> None:
    """A key naming the environment variable of a secret (`api_key_env: STATUSPAGE_API_KEY`)
    becomes that variable's Secret; an API-mode entry without base_url gets its type's default."""
    for key in cls.secret_env_keys:
        if key not in options:
            continue
        variable = options[key]
        if not isinstance(variable, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
            problems.append(f"{label}: {key} must name an environment variable (like STATUSPAGE_API_KEY)")
            continue
        options[key] = Secret(f"${{{variable}}}", name, key, config_path)
    if cls.default_base_url and options.get("path") is None:
        options.setdefault("base_url", cls.default_base_url)


def _check_mode(cls, options: dict, label: str, base_dir: Path, problems: list[str]) -> None:
    path = options.get("path")
    if path is not None:
        p = Path(str(path)).expanduser()
        p = p if p.is_absolute() else base_dir / p
        if not any(ch in str(path) for ch in "*?[") and not p.exists():
            problems.append(f"{label}: path not found: {path}")
        return
    if cls.file_based:
        problems.append(f"{label}: path is required")
        return
    for key in cls.required_keys(options):
        if key not in options:
            problems.append(f"{label}: {key} is required (or give path: to read recorded pages)")
    for key in cls.secret_keys:
        value = options.get(key)
        if isinstance(value, str) and key in ("token", "password") and not _ENV_REF.search(value):
            problems.append(f"{label}: {key} must be an ${{ENV}} reference, not a literal secret")
    # An unset ${VAR} is not a problem here: it is reported when a command calls the API
    # (Secret.reveal), so one missing token never blocks `query`, `build` or another source.


def missing_secrets(settings: SourceSettings) -> list[str]:
    """`key: $VAR` for each secret this source would need and cannot read; none in recorded
    mode (`path:`), which never calls the API."""
    calls_api = settings.options.get("base_url") is not None and (
        settings.options.get("path") is None or settings.type == "alertmanager")  # it reads both
    if not calls_api:
        return []
    return [f"{key}: ${var}" for key, value in settings.options.items() if isinstance(value, Secret)
            for var in value.missing()]


def _check_zone(zone: str, label: str, problems: list[str]) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"{label}: unknown time zone {zone!r}")


def clock_offset_seconds(settings: SourceSettings) -> float:
    raw = settings.options.get("clock_offset")
    if raw is None:
        return 0.0
    return signed_seconds(str(raw))
