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
