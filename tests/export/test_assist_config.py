"""`assist:` in connectors.yaml: validated up front with every problem at once; the key only
ever an ${ENV} reference, never echoed."""
from __future__ import annotations

import pytest

from incident_timeline.export.assist.settings import assist_settings
from incident_timeline.config import ConfigInvalid, load_config
from tests.support import demo_sources, write_config


def test_a_valid_section_becomes_the_clients_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("IT_ASSIST_KEY", "sk-local-Zq8vX2mN4pL6rT0y")
    config = load_config(write_config(tmp_path, demo_sources(), assist={
        "base_url": "http://localhost:11434/v1", "model": "llama3.1:8b", "api_key": "${IT_ASSIST_KEY}",
        "timeout": "90s", "retries": 2, "json_mode": False,
        "private": {"sources": ["jira"], "fields": ["actor"], "patterns": [r"ACME-CUST-\d+"]}}))
    settings = assist_settings(config)
    assert (settings.base_url, settings.model, settings.timeout_s, settings.retries, settings.json_mode) == \
        ("http://localhost:11434/v1", "llama3.1:8b", 90.0, 2, False)
    assert settings.api_key == "sk-local-Zq8vX2mN4pL6rT0y" and settings.unusable is None
    assert settings.endpoint_host == "localhost:11434"
    assert settings.private.sources == ["jira"] and settings.private.fields == ["actor"]
    assert settings.private.mask("for ACME-CUST-42 only") == "for [PRIVATE] only"
    assert "sk-local-Zq8vX2mN4pL6rT0y" not in repr(config.assist)


def test_no_section_means_no_settings_and_a_key_is_optional(tmp_path):
    assert assist_settings(load_config(write_config(tmp_path, demo_sources()))) is None
    local = load_config(write_config(tmp_path, demo_sources(), assist={"base_url": "http://127.0.0.1:8080/v1",
                                                                       "model": "qwen2.5"}))
    settings = assist_settings(local)
    assert settings.api_key is None and settings.timeout_s == 60.0 and settings.json_mode is True


def test_an_unset_key_variable_only_makes_assist_unusable(tmp_path, monkeypatch):
    monkeypatch.delenv("IT_ASSIST_UNSET", raising=False)
    config = load_config(write_config(tmp_path, demo_sources(), assist={
        "base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini", "api_key": "${IT_ASSIST_UNSET}"}))
    assert "needs environment variable IT_ASSIST_UNSET" in assist_settings(config).unusable


def test_every_problem_in_the_section_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigInvalid) as info:
        load_config(write_config(tmp_path, demo_sources(), assist={
            "base_url": "localhost:11434", "api_key": "sk-literal-Zq8vX2mN4pL6", "timeout": "soon",
            "retries": 9, "json_mode": "yes", "temperature": 0.2,
            "private": {"sources": ["hr-slack"], "fields": ["ts"], "patterns": ["(unclosed"], "people": []}}))
    text = " | ".join(info.value.problems)
    for problem in ("assist.base_url is required", "assist.model is required",
                    "assist.api_key must be an ${ENV} reference", "assist.timeout:",
                    "assist.retries must be a whole number from 0 to 5", "assist.json_mode must be true or false",
                    "assist: unknown key 'temperature'", "assist.private: unknown key 'people'",
                    "assist.private.fields: 'ts' is not a row field",
                    "assist.private.sources: 'hr-slack' is not a source of this config "
                    "(pagerduty, slack, jira, github, statuspage)",
                    "assist.private.patterns: '(unclosed' is not a regular expression"):
        assert problem in text
    assert "sk-literal-Zq8vX2mN4pL6" not in str(info.value)


def test_the_readme_example_is_a_valid_section(tmp_path):
    import yaml

    from tests.support import REPO
    text = (REPO / "README.md").read_text(encoding="utf-8").split("## Assisted drafting", 1)[1]
    example = yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])["assist"]
    config = load_config(write_config(tmp_path, demo_sources(), assist=example))
    assert config.assist["private"].mask("customer-42") == "[PRIVATE]"
