"""Hostile text reaches no target as markup, and no secret reaches any: the demo incident with
a script tag, an onerror image, pasted tokens and Markdown breakers in its chat, published to
every target; and a title built to mention @channel or hide a link in Slack."""
from __future__ import annotations

import copy
import xml.dom.minidom

from incident_timeline.export.publish import draft as drafts
from incident_timeline.export.publish.slack import message
from tests.export.hostile import IMG, SCRIPT, SECRETS, hostile_config
from tests.publish.conftest import built_config
from tests.support import DEMO_INCIDENT, cli


def _sources(tmp_path):
    import yaml
    return yaml.safe_load(hostile_config(tmp_path / "h").read_text())["sources"]


def test_hostile_chat_is_escaped_and_secrets_redacted_everywhere(tmp_path, httpserver, service_account_key,
                                                                 apis, env):
    cfg = built_config(tmp_path, httpserver, service_account_key[0], sources=_sources(tmp_path))
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence,gdrive,slack,jira")
    assert result.exit_code == 0, result.output
    (page,) = apis["confluence"].pages.values()
    storage = page["body"]["value"]
    (doc,) = apis["gdrive"].files.values()
    published = [storage, doc["media"], *(m["text"] for m in apis["slack"].messages.values()),
                 *(str(link) for links in apis["jira"].links.values() for link in links.values())]
    for text in published:
        for secret in SECRETS.values():
            assert secret not in text
    assert "Payload in the access log" in storage          # the message is there, as text
    assert SCRIPT not in storage and IMG not in storage and "&lt;script&gt;" in storage
    dom = xml.dom.minidom.parseString(f'<r xmlns:ac="urn:ac" xmlns:ri="urn:ri">{storage}</r>')
    assert not dom.getElementsByTagName("script") and not dom.getElementsByTagName("img")
    assert SCRIPT not in doc["media"]


def test_slack_message_cannot_mention_or_inject_links(demo_config):
    from incident_timeline.export.report import load
    from incident_timeline.lake import catalog_store
    from incident_timeline.config import load_config
    from incident_timeline.lake.layout import Lake
    result = cli(demo_config, "run", DEMO_INCIDENT, "--format", "json", "--out", str(demo_config.parent / "o"))
    assert result.exit_code == 0
    con = catalog_store.read_only_catalog(Lake.for_config(load_config(demo_config)))
    report = load(con, DEMO_INCIDENT)
    con.close()
    hostile = copy.deepcopy(report)
    hostile["incident"]["title"] = "<!channel> <@U024BE7LH> <https://evil.example|your SSO> & @here \x07\x00"
    hostile["timeline"][0]["title"] = "]]><script>alert(1)</script> \x0b"
    draft = drafts.build(hostile)
    text = message(draft, {"confluence": "https://acme.atlassian.net/wiki/spaces/OPS/pages/1/A|B><!channel>"})
    assert "<!channel>" not in text and "<@U024BE7LH>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text and "&amp; @here" in text
    # the one link is ours, its url unable to close it early or open another
    assert text.count("<") == 1 and "|Confluence page>" in text
    assert "%7CB%3E%3C%21channel%3E" in text or "%7CB%3E%3C!channel%3E" in text
    # the storage format is well-formed XML even with control characters in the text
    xml.dom.minidom.parseString(f'<r xmlns:ac="urn:ac" xmlns:ri="urn:ri">{draft.storage}</r>')
    assert "&lt;script&gt;" in draft.storage and "\x0b" not in draft.storage and "\x07" not in draft.title


def test_the_cited_summary_is_preferred_when_the_draft_has_one():
    contract = {"incident": {"id": "pagerduty:Q1", "title": "t", "severity": "SEV2", "services": ["api"]},
                "summary": {"sentences": [{"text": "Checkout failed for 29 minutes.", "citations": ["e1"]},
                                          {"text": "  "}, {"text": "A config push caused it."}]}}
    assert drafts.summary_sentences(contract, {}) == ["Checkout failed for 29 minutes.", "A config push caused it."]
    del contract["summary"]
    got = drafts.summary_sentences(contract, {"detected": None, "resolved": None, "time_to_acknowledge_s": 65,
                                              "time_to_resolve_s": None})
    assert got[0] == "t: SEV2 on api." and "Time to acknowledge 1m 05s" in got[2]


def test_the_slack_message_stays_short():
    from types import SimpleNamespace

    from incident_timeline.export.publish.slack import SUMMARY_SENTENCES
    contract = {"incident": {"title": "t", "id": "pagerduty:P1", "severity": "SEV2", "services": ["api"]},
                "metrics": {"time_to_acknowledge_s": 60, "time_to_resolve_s": 600},
                "milestones": {"detected": None, "resolved": None}}
    sentences = [f"Sentence {i}." for i in range(10)]
    text = message(SimpleNamespace(contract=contract, summary=sentences), {})
    assert [s for s in sentences if s in text] == sentences[:SUMMARY_SENTENCES]
