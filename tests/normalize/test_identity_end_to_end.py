"""Alice is one responder although Slack knows her only as the handle "alice"."""
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from incident_timeline.cli import main
from tests.support import DEMO_INCIDENT, FIXTURES, demo_sources, write_config


def test_one_alice_across_pagerduty_slack_and_jira(tmp_path: Path):
    export = tmp_path / "slack-export"
    shutil.copytree(FIXTURES / "slack-export", export)
    users = json.loads((export / "users.json").read_text(encoding="utf-8"))
    for user in users:
        if user["id"] == "U02ALICE001":      # no real name anywhere: Slack says "alice"
            user["real_name"] = ""
            user["profile"].update(real_name="", real_name_normalized="")
    (export / "users.json").write_text(json.dumps(users), encoding="utf-8")
    for day in export.glob("*/*.json"):
        messages = json.loads(day.read_text(encoding="utf-8"))
        for m in messages if isinstance(messages, list) else []:
            if isinstance(m, dict) and "user_profile" in m:
                m["user_profile"]["real_name"] = ""
        day.write_text(json.dumps(messages), encoding="utf-8")
    sources = [dict(s, path=str(export)) if s["type"] == "slack_export" else s for s in demo_sources()]
    config = write_config(tmp_path, sources)
    runner = CliRunner()
    out = tmp_path / "out"
    for args in (["run", DEMO_INCIDENT, "--format", "json", "--out", str(out)], ["normalize"],
                 ["build", DEMO_INCIDENT, "--format", "json", "--out", str(out)]):
        result = runner.invoke(main, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
    report = json.loads((out / "postmortem.json").read_text(encoding="utf-8"))
    names = [r["name"] for r in report["responders"]]
    assert names.count("Alice Chen") == 1 and "alice" not in names
    alice = [row for row in report["timeline"] if row["actor"] == "Alice Chen"]
    assert {s for row in alice for s in row["sources"]} >= {"pagerduty", "slack", "jira"}
