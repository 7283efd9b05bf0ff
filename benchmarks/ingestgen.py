"""Recorded pages for the ingest benchmark: an unpacked Slack export of N messages.

The shape the `slack_export` connector reads (channels.json, users.json, one JSON array
per channel and day), written fast and deterministically by seed.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

START = datetime(2026, 10, 1, tzinfo=timezone.utc)
CHANNELS = [(f"C0BENCH{i:03d}", f"team-{i:03d}") for i in range(20)]
USERS = [(f"U0BENCH{i:04d}", f"Person {i:04d}", f"person{i:04d}@acme.example") for i in range(200)]
TEXTS = ["deploy finished, watching <#C0BENCH000|team-000>", "paging <@U0BENCH0001> on OPS-{n}",
         "p99 latency is up again", "rolled back the canary &amp; all good", "see OPS-{n} for the follow-up",
         "restarting the pods now", "error rate back to normal", "on it"]


def generate(folder: Path, messages: int, days: int = 7, seed: int = 11) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "channels.json").write_text(json.dumps([
        {"id": cid, "name": name, "created": int(START.timestamp()) - 86_400, "creator": USERS[0][0],
         "members": [u for u, _, _ in USERS[:20]]} for cid, name in CHANNELS]))
    (folder / "users.json").write_text(json.dumps([
        {"id": uid, "name": mail.split("@")[0], "real_name": name, "profile": {"real_name": name, "email": mail}}
        for uid, name, mail in USERS]))
    channel = rng.integers(0, len(CHANNELS), messages)
    seconds = np.sort(rng.integers(0, days * 86_400, messages))
    micros = rng.integers(0, 1_000_000, messages)
    user = rng.integers(0, len(USERS), messages)
    text = rng.integers(0, len(TEXTS), messages)
    ticket = rng.integers(1, 5_000, messages)
    base = int(START.timestamp())
    pages: dict[tuple[int, int], list[dict]] = {}
    for i in range(messages):
        day = int(seconds[i] // 86_400)
        pages.setdefault((int(channel[i]), day), []).append({
            "type": "message", "user": USERS[user[i]][0], "ts": f"{base + int(seconds[i])}.{int(micros[i]):06d}",
            "text": TEXTS[text[i]].format(n=int(ticket[i]))})
    for (c, day), rows in pages.items():
        path = folder / CHANNELS[c][1] / (datetime.fromtimestamp(base + day * 86_400, timezone.utc)
                                          .strftime("%Y-%m-%d") + ".json")
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(rows))
    return folder


NOTE_TEXTS = ["failover started on db-{n}, watching replication", "paged the DBA on OPS-{n}",
              "error rate back under 1%", "handover: see servicenow:INC{n:07d}", "restarted web-{n}",
              "customer impact confirmed", "rollback done"]


def notes(path: Path, rows: int, days: int = 30, seed: int = 13) -> Path:
    """A JSON-lines file of `rows` technician notes (id, time with offset, author, text),
    the shape a `file` source reads with fields {ts: time, text: note, actor: author, id: note_id}."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, days * 86_400, rows))
    author = rng.integers(0, len(USERS), rows)
    text = rng.integers(0, len(NOTE_TEXTS), rows)
    ticket = rng.integers(1, 5_000, rows)
    base = int(START.timestamp())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for i in range(rows):
            at = datetime.fromtimestamp(base + int(seconds[i]), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            fh.write(json.dumps({"note_id": f"n-{i:07d}", "time": at, "author": USERS[author[i]][1],
                                 "note": NOTE_TEXTS[text[i]].format(n=int(ticket[i]))}) + "\n")
    tmp.rename(path)
    return path


def pagerduty(folder: Path, entries: int, per_incident: int = 1_000, page: int = 100, seed: int = 17) -> Path:
    """Recorded PagerDuty pages (the `path:` mode's layout, as the API answers): incidents.json
    and each incident's log entries, `page` entries a page (log_entries.json, .page-2.json, ...)."""
    if (folder / "incidents.json").exists():
        return folder
    rng = np.random.default_rng(seed)
    kinds = ["trigger", "acknowledge", "notify", "annotate", "resolve"]
    incidents = []
    done = 0
    number = 0
    while done < entries:
        number += 1
        iid = f"QBENCH{number:05d}"
        start = int(START.timestamp()) + number * 3_600
        service = {"id": f"PSVC{number % 20:03d}", "type": "service_reference", "summary": f"svc-{number % 20}"}
        incidents.append({"id": iid, "type": "incident", "incident_number": number, "status": "resolved",
                          "title": f"svc-{number % 20}: error rate above 5%", "summary": f"[#{number}] error rate",
                          "created_at": _iso(start), "resolved_at": _iso(start + 1_800), "service": service,
                          "urgency": "high", "html_url": f"https://acme.pagerduty.com/incidents/{iid}"})
        n = min(per_incident, entries - done)
        offsets = np.sort(rng.integers(0, 1_800, n))
        rows = [{"id": f"R{number:05d}{i:07d}", "type": f"{kinds[i % 5]}_log_entry",
                 "summary": f"{kinds[i % 5]} by {USERS[i % len(USERS)][1]}", "created_at": _iso(start + int(offsets[i])),
                 "agent": {"id": f"P{i % 200:06d}", "type": "user_reference", "summary": USERS[i % len(USERS)][1]},
                 "channel": {"type": "website"}, "service": service,
                 "incident": {"id": iid, "type": "incident_reference"}} for i in range(n)]
        base = folder / "incidents" / iid
        base.mkdir(parents=True, exist_ok=True)
        for p, at in enumerate(range(0, n, page), start=1):
            name = "log_entries.json" if p == 1 else f"log_entries.page-{p}.json"
            (base / name).write_text(json.dumps({"log_entries": rows[at:at + page], "offset": at, "limit": page,
                                                 "more": at + page < n}))
        done += n
    (folder / "incidents.json").write_text(json.dumps({"incidents": incidents, "more": False}))
    return folder


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def opsgenie(folder: Path, records: int, logs_per_alert: int = 1_000, page: int = 100) -> Path:
    """Recorded Opsgenie pages: v2/alerts.json (the alert list) and each alert's activity
    log, `page` entries a page (v2/alerts/<id>/logs.json, logs.page-2.json, ...)."""
    if (folder / "v2" / "alerts.json").exists():
        return folder
    alerts, done, number = [], 0, 0
    texts = ["Alert acknowledged via web", "Sent email notification to person3@acme.example",
             "Escalated to next responder", "Alert closed via API"]
    while done < records:
        number += 1
        alert_id = f"{number:08x}-bench-og"
        start = int(START.timestamp()) + number * 3_600
        n = min(logs_per_alert + 1, records - done) - 1
        alerts.append({"id": alert_id, "tinyId": str(number), "alias": f"checkout-5xx-{number}",
                       "message": "Checkout 5xx high", "status": "closed", "priority": "P1", "count": 3,
                       "tags": ["checkout"], "createdAt": _iso_ms(start * 1000), "updatedAt": _iso_ms((start + 3_000) * 1000),
                       "source": "Prometheus", "entity": "checkout", "description": "See OPS-1240"})
        rows = [{"log": texts[i % len(texts)], "type": "alertRecipient" if i % 2 else "system",
                 "owner": USERS[i % len(USERS)][2], "createdAt": _iso_ms((start + 1) * 1000 + i * 2_000),
                 "offset": f"{number:06d}{i:010d}"} for i in range(n)]
        base = folder / "v2" / "alerts" / alert_id
        base.mkdir(parents=True, exist_ok=True)
        for p, at in enumerate(range(0, n, page), start=1):
            name = "logs.json" if p == 1 else f"logs.page-{p}.json"
            (base / name).write_text(json.dumps({"data": rows[at:at + page], "paging": {}}))
        done += n + 1
    (folder / "v2" / "alerts.json").write_text(json.dumps({"data": alerts, "paging": {}}))
    return folder


def _iso_ms(millis: int) -> str:
    return datetime.fromtimestamp(millis // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis % 1000:03d}Z"
