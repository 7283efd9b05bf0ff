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


def test_one_run_names_each_person_once_across_sources(tmp_path: Path):
    """PagerDuty knows people by name only; the sources that know e-mails are normalised
    first in a run, so its events already carry the e-mail after the very first run."""
    import duckdb

    from incident_timeline import pipeline
    from incident_timeline.config import load_config

    config = write_config(tmp_path, demo_sources())
    run = pipeline.ingest(load_config(config))
    # PagerDuty is normalised last, and the summary still lists the sources as the config does
    assert [s.source for s in run.sources] == [s["name"] for s in demo_sources()] == \
        ["pagerduty", "slack", "jira", "github", "statuspage"]
    assert not run.failed
    files = [str(f) for f in tmp_path.rglob("events/source=*/date=*/*.parquet")]
    rows = duckdb.sql("SELECT source, actor, actor_id FROM read_parquet(?, union_by_name = true) "
                      "WHERE actor_type = 'human'", params=[files]).fetchall()
    by_name: dict[str, set] = {}
    for source, actor, actor_id in rows:
        by_name.setdefault(actor, set()).add(actor_id)
    pagerduty_people = {actor for source, actor, _ in rows if source == "pagerduty"}
    assert pagerduty_people >= {"Alice Chen", "Bob Martin", "Carol Diaz"}
    for name in pagerduty_people:
        (actor_id,) = by_name[name]              # one id per person, whichever source named them
        assert actor_id.endswith("@acme.example"), (name, by_name[name])
