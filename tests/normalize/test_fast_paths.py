"""The vectorised paths give exactly the events the per-record mappers give."""
import json
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from ingest.registry import CONNECTORS
from normalize.engine import build_entities, normalize_raw
from normalize.fast import FAST_PATHS
from normalize.mappers import MAPPERS
from normalize.mapping import SourceSpec
from normalize.schema import RAW_SCHEMA
from tests.support import REPO, demo_sources

NOW = datetime(2026, 10, 15, tzinfo=timezone.utc)


def _demo_raw(source: dict) -> pa.Table:
    from incident_timeline.config import parse_config

    settings = parse_config({"sources": [source]}, REPO / "connectors.yaml").sources[0]
    connector = CONNECTORS[settings.type](settings)
    rows = []
    try:
        from ingest.base import Window
        for partition in connector.partitions():
            for r in connector.fetch(partition, Window(None, None)):
                rows.append({"run_id": "r", "source": settings.name, "source_type": settings.type,
                             "stream": r.stream, "partition": r.partition, "native_id": str(r.native_id),
                             "parent_id": r.parent_id, "payload": r.payload_json(), "fetched_at": NOW})
    finally:
        connector.close()
    return pa.Table.from_pylist(rows, schema=RAW_SCHEMA)


def _both(raw: pa.Table, spec: SourceSpec):
    mapper = MAPPERS[spec.type]
    entities = build_entities(raw, mapper.entity_streams)
    kw = dict(entities=entities, jira_projects=["OPS"], ingested_at=NOW, run_id="r")
    fast = normalize_raw(raw, spec, vectorized=True, **kw)
    slow = normalize_raw(raw, spec, vectorized=False, **kw)
    order = [("event_id", "ascending")]
    return fast.events.sort_by(order).to_pylist(), slow.events.sort_by(order).to_pylist(), fast, slow


@pytest.mark.parametrize("source", [s for s in demo_sources() if s["type"] in FAST_PATHS],
                         ids=lambda s: s["name"])
def test_demo_fixtures_give_identical_events(source):
    raw = _demo_raw(source)
    spec = SourceSpec(source["name"], source["type"], options={"workspace_url": "https://acme.slack.com"})
    fast, slow, fo, so = _both(raw, spec)
    assert len(fast) > 10
    assert fast == slow
    assert fo.rejects.num_rows == so.rejects.num_rows == 0
    taken, declined = _split(raw, spec)
    entity_rows = sum(s in ("users", "channels") for s in raw["stream"].to_pylist())
    with_attachments = sum('"attachments"' in p for p in raw["payload"].to_pylist())
    assert taken == len(fast) - with_attachments and declined == entity_rows + with_attachments


def _split(raw: pa.Table, spec: SourceSpec) -> tuple[int, int]:
    from normalize.mapping import Context
    from normalize.refs import RefFinder

    ctx = Context(spec=spec, refs=RefFinder(["OPS"]), entities=build_entities(raw, ["users", "channels"]))
    drafts, rest = FAST_PATHS[spec.type](raw, ctx)
    return drafts.num_rows, rest.num_rows


def _slack_raw(messages: list) -> pa.Table:
    return pa.Table.from_pylist([{
        "run_id": "r", "source": "slack", "source_type": "slack", "stream": stream, "partition": "C0INC42",
        "native_id": m["id"] if stream != "messages" else str(i), "parent_id": parent, "payload": m if isinstance(m, str) else json.dumps(m),
        "fetched_at": NOW} for i, (stream, parent, m) in enumerate(messages)], schema=RAW_SCHEMA)


def test_awkward_slack_messages_agree_and_go_the_right_way():
    users = [("users", None, {"id": "U1", "real_name": "", "name": "ann", "profile": {"display_name": "Ann",
                                                                                  "email": "ann@acme.example"}}),
             ("users", None, {"id": "UB", "is_bot": True, "profile": {"real_name": "Deploy Bot"}}),
             ("channels", None, {"id": "C0INC42", "name": "inc-42"})]
    msgs = [
        {"type": "message", "user": "U1", "ts": "1791986850.000700",
         "text": "  <@U1> &amp; <@U9|bob> see <#C0OTHER1|other> <https://x.example|x> <mailto:a@b.c> "
                 "<!here> <!subteam^S1|@sre> &lt;b&gt; OPS-1 INC0010001\nsecond line"},
        {"type": "message", "user": "U1", "ts": "1791986851.000100", "thread_ts": "1791986850.000700",
         "text": "x" * 200},
        {"type": "message", "subtype": "bot_message", "bot_id": "B1", "username": "PagerDuty",
         "ts": "1791986852.000001", "text": "Triggered"},
        {"type": "message", "user": "UB", "ts": "1791986853.000001", "text": "deployed"},
        {"type": "message", "subtype": "channel_join", "user": "U404", "ts": "1791986854.000001",
         "text": "<@U404> has joined"},
        {"type": "message", "user": "U1", "ts": "1791986855.000001", "text": "caf&eacute; &#39;q&#39;"},
        {"type": "message", "user": "U1", "ts": "1791986856.000001", "text": "nbsp\u00a0end\u00a0"},
        {"type": "message", "user": "U1", "ts": "1791986857.000001", "text": "",
         "attachments": [{"fallback": "see https://acme.pagerduty.com/incidents/Q2W3E4R"}]},
        {"type": "message", "user": "U1", "ts": 1791986858.5, "text": "numeric ts"},
        {"type": "message", "user": "U1", "text": "no ts"},
        "[1, 2]", "{broken", '{"type": "message", "user": "U1", "ts": "1791986859.000001", "text": "x",}',
    ]
    raw = _slack_raw([(s, p, u) for s, p, u in users] + [("messages", "C0INC42", m) for m in msgs])
    fast, slow, fo, so = _both(raw, SourceSpec("slack", "slack"))
    assert fast == slow
    assert fo.rejects.to_pylist() == so.rejects.to_pylist()
    assert fo.rejects.num_rows == 4        # no ts, not an object, broken JSON, trailing comma
    # declined: entities (3), odd entities, nbsp, attachments, numeric ts, the four rejects
    assert _split(raw, SourceSpec("slack", "slack")) == (5, 3 + 4 + 4)
    by_ts = {e["ts_raw"]: e for e in fast}
    first = by_ts["1791986850.000700"]
    assert first["body"].strip().startswith("@Ann & @bob see #other x (https://x.example) a@b.c @here @@sre <b>")
    assert first["title"] == first["body"].split("\n")[0].strip()
    assert set(first["refs"]) >= {"slack:C0INC42", "slack:C0OTHER1", "jira:OPS-1", "servicenow:INC0010001"}
    assert by_ts["1791986851.000100"]["kind"] == "chat.reply" and by_ts["1791986851.000100"]["title"].endswith("…")
    assert by_ts["1791986853.000001"]["actor_type"] == "bot" and by_ts["1791986853.000001"]["actor"] == "Deploy Bot"
    assert by_ts["1791986855.000001"]["body"] == "café 'q'"
