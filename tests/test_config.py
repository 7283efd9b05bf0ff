from pathlib import Path

import pytest

from incident_timeline.config import ConfigInvalid, load_config, parse_config
from tests.support import demo_sources, write_config


def test_every_problem_is_reported_at_once(tmp_path):
    path = write_config(tmp_path, [
        {"name": "pd", "type": "pagerduty", "base_url": "https://api.pagerduty.com", "token": "u+abc123"},
        {"name": "pd", "type": "nosuch"},
        {"name": "j", "type": "jira", "base_url": "https://x.atlassian.net", "tokn": "x"},
    ], timezone="Mars/Olympus")
    with pytest.raises(ConfigInvalid) as info:
        load_config(path)
    problems = info.value.problems
    text = " | ".join(problems)
    assert "unknown time zone 'Mars/Olympus'" in text
    assert "token must be an ${ENV} reference" in text
    assert "name used twice" in text and "unknown type 'nosuch'" in text
    assert "unknown key 'tokn'" in text and "email is required" in text
    assert "u+abc123" not in str(info.value)          # a literal secret is never echoed
    assert len(problems) >= 6


def test_recorded_mode_needs_no_secrets(tmp_path, monkeypatch):
    monkeypatch.delenv("PAGERDUTY_TOKEN", raising=False)
    config = load_config(write_config(tmp_path, demo_sources()))
    assert [s.name for s in config.sources] == ["pagerduty", "slack", "jira", "github", "statuspage"]
    assert "Secret(***)" == repr(config.source("pagerduty").options["token"])
    # a key named by api_key_env is a Secret too, and a recorded source lacks none
    assert "Secret(***)" == repr(config.source("statuspage").options["api_key_env"])
    assert "base_url" not in config.source("statuspage").options


def test_api_mode_reads_secrets_from_the_environment_only_when_used(tmp_path, monkeypatch):
    sources = [{"name": "pd", "type": "pagerduty", "base_url": "http://127.0.0.1:1",
                "token": "${PD_TEST_TOKEN}"}]
    monkeypatch.delenv("PD_TEST_TOKEN", raising=False)
    config = load_config(write_config(tmp_path, sources))    # loading needs no secret
    with pytest.raises(ConfigInvalid, match="source pd: token needs environment variable PD_TEST_TOKEN, "
                                            "which is not set"):
        config.source("pd").get("token")
    monkeypatch.setenv("PD_TEST_TOKEN", "s3cret-value")
    config = load_config(write_config(tmp_path, sources))
    assert config.source("pd").get("token") == "s3cret-value"


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "sub" / "exp").mkdir(parents=True)
    config = parse_config({"lake": "./mylake", "sources": [
        {"name": "s", "type": "slack_export", "path": "exp"}]}, tmp_path / "sub" / "c.yaml")
    assert config.lake == (tmp_path / "sub").resolve() / "mylake"
    assert config.source("s").path() == (tmp_path / "sub").resolve() / "exp"


def test_a_lake_folder_that_is_a_python_package_is_refused(tmp_path):
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "__init__.py").write_text("")
    with pytest.raises(ConfigInvalid, match=r"lake: './lake' is a Python package folder"):
        parse_config({"lake": "./lake", "sources": [
            {"name": "s", "type": "slack_export", "path": "."}]}, tmp_path / "c.yaml")


def test_the_repository_config_loads():
    config = load_config(Path(__file__).resolve().parent.parent / "connectors.yaml")
    assert {s.type for s in config.sources} == {"pagerduty", "slack_export", "jira", "github", "statuspage"}


def test_services_name_one_service_by_every_tools_name(tmp_path):
    config = load_config(write_config(tmp_path, demo_sources(), services={
        "payments": ["payments-settlement", "PSVC123", "ci-pay"], "checkout": "checkout-api"}))
    assert config.services == {"payments": ["payments-settlement", "PSVC123", "ci-pay"], "checkout": ["checkout-api"]}


@pytest.mark.parametrize("services,problem", [
    ({"payments": ["ci-pay"], "billing": ["CI-PAY"]}, "'CI-PAY' is listed under both payments and billing"),
    ({"payments": [["nested"]]}, "services.payments: must be a list"),
    ({"payments": [""]}, "services.payments: must be a list"),
    (["payments"], "services must be a mapping"),
])
def test_bad_services_are_reported(tmp_path, services, problem):
    with pytest.raises(ConfigInvalid) as info:
        load_config(write_config(tmp_path, demo_sources(), services=services))
    assert problem in str(info.value)
