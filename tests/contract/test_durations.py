"""The config's one duration grammar (contract.durations): every key that takes a duration
(correlation windows, overlap, clock_offset, Slack's thread_lookback) reads it the same way,
with the same error."""
from datetime import timedelta

import pytest

from incident_timeline.contract.durations import parse_duration, signed_seconds
from incident_timeline.config import ConfigInvalid, clock_offset_seconds, load_config
from incident_timeline.ingest.errors import ConfigError
from incident_timeline.ingest.slack import SlackConnector
from tests.support import write_config

GOOD = {"30m": timedelta(minutes=30), "2h": timedelta(hours=2), "1.5d": timedelta(hours=36),
        "0s": timedelta(0), " 90 s ": timedelta(seconds=90), "7d": timedelta(days=7)}
BAD = ["1w", "-5m", "", "1.5", "m", "1e3s", "2 hours", "1,5d", "+ 2h"]


@pytest.mark.parametrize("text, expected", GOOD.items())
def test_a_duration_is_a_number_and_one_unit(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", BAD)
def test_anything_else_is_refused_with_the_value_quoted(text):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value) == f"not a duration (like 30m, 2h, 1d): {text!r}"


@pytest.mark.parametrize("text, seconds", [("-30s", -30.0), ("+2m", 120.0), ("90s", 90.0), ("-1.5h", -5400.0)])
def test_a_signed_duration_keeps_its_sign(text, seconds):
    assert signed_seconds(text) == seconds


def test_a_signed_duration_error_names_the_value_without_its_sign():
    with pytest.raises(ValueError, match=r"not a duration \(like 30m, 2h, 1d\): '5 minutes'$"):
        signed_seconds("-5 minutes")


def _pd(**options) -> dict:
    return {"name": "pd", "type": "pagerduty", "path": "pd/*.json", **options}


@pytest.mark.parametrize("text", ["1w", "", "1.5", "2 hours"])
def test_every_duration_key_in_the_config_gives_the_same_error(tmp_path, text):
    path = write_config(tmp_path, [_pd(overlap=text, clock_offset=f"-{text}")], correlation={"gap": text})
    with pytest.raises(ConfigInvalid) as info:
        load_config(path)
    reason = f"not a duration (like 30m, 2h, 1d): {text!r}"
    assert f"correlation.gap: {reason}" in info.value.problems
    assert f"source pd: overlap: {reason}" in info.value.problems
    assert f"source pd: clock_offset: {reason}" in info.value.problems


@pytest.mark.parametrize("text, expected", GOOD.items())
def test_every_duration_key_reads_a_good_value_the_same_way(tmp_path, text, expected):
    config = load_config(write_config(tmp_path, [
        _pd(overlap=text, clock_offset=f"-{text.strip()}"),
        {"name": "chat", "type": "slack", "path": "slack/*.json", "thread_lookback": text}],
        correlation={"gap": text}))
    assert config.duration("gap") == expected
    assert clock_offset_seconds(config.source("pd")) == -expected.total_seconds()
    assert SlackConnector(config.source("chat"))._lookback() == expected


def test_slack_thread_lookback_refuses_what_the_config_refuses(tmp_path):
    config = load_config(write_config(tmp_path, [
        {"name": "chat", "type": "slack", "path": "slack/*.json", "thread_lookback": "1w"}]))
    with pytest.raises(ConfigError, match=r"thread_lookback: not a duration like 7d or 12h: '1w'"):
        SlackConnector(config.source("chat"))._lookback()
