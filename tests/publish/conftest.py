"""A built demo incident and a config whose `publish:` targets point at the local fakes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.publish import fakes
from tests.support import DEMO_INCIDENT, cli, demo_sources, write_config


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    import incident_timeline.ingest.http
    from incident_timeline import ingest
    waits: list[float] = []
    monkeypatch.setattr(ingest.http, "sleep", waits.append)
    return waits


@pytest.fixture(scope="session")
def service_account_key(tmp_path_factory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("CONFLUENCE_TOKEN", fakes.TOKEN)
    monkeypatch.setenv("SLACK_PUBLISH_TOKEN", "xoxb-1111-2222-publishbottoken")
    monkeypatch.setenv("JIRA_TOKEN", "jira-token-abcdef")


def publish_section(server, key_file: Path) -> dict:
    base = server.url_for("/").rstrip("/")
    return {"confluence": {"base_url": base, "email": fakes.EMAIL, "token": "${CONFLUENCE_TOKEN}", "space": "OPS",
                           "parent_id": "1000"},
            "gdrive": {"base_url": base, "credentials_file": str(key_file), "folder_id": "1FoLdEr0ps"},
            "slack": {"base_url": server.url_for("/api/"), "token": "${SLACK_PUBLISH_TOKEN}", "channel": "C0SRE0001"},
            "jira": {"base_url": base, "email": fakes.EMAIL, "token": "${JIRA_TOKEN}"}}


def key_file(tmp_path: Path, server, private_pem: str) -> Path:
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "acme-sre", "private_key_id": "k1", "private_key": private_pem,
        "client_email": "postmortems@acme-sre.iam.gserviceaccount.com", "client_id": "1001",
        "token_uri": server.url_for("/token")}), encoding="utf-8")
    return path


@pytest.fixture
def apis(httpserver, service_account_key):
    return {"confluence": fakes.Confluence(httpserver), "slack": fakes.Slack(httpserver),
            "jira": fakes.Jira(httpserver), "gdrive": fakes.Drive(httpserver, service_account_key[1])}


def built_config(tmp_path: Path, httpserver, private_pem: str, sources=None, **publish_overrides) -> Path:
    """The demo incident built (its draft written) with `publish:` pointing at the fakes."""
    cfg = write_config(tmp_path, sources or demo_sources())
    result = cli(cfg, "run", DEMO_INCIDENT, "--out", str(tmp_path / "out"), "--format", "json")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(cfg.read_text())
    section = publish_section(httpserver, key_file(tmp_path, httpserver, private_pem))
    for name, value in publish_overrides.items():
        section[name] = value if name == "on_build_resolved" else {**section[name], **value}
    data["publish"] = section
    cfg.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return cfg


@pytest.fixture
def cfg(tmp_path, httpserver, service_account_key, apis, env) -> Path:
    return built_config(tmp_path, httpserver, service_account_key[0])
