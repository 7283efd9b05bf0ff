"""Everyone who acted, when they first showed up, and who was paged against who answered."""
from __future__ import annotations


def responders(events: list[dict]) -> list[dict]:
    people: dict[str, dict] = {}

    def person(name: str, ts) -> dict:
        row = people.setdefault(name, {"name": name, "first_seen": ts, "paged": False,
                                       "acknowledged": False, "spoke": False})
        row["first_seen"] = min(row["first_seen"], ts)
        return row

    for e in events:
        if e["kind"] == "alert.notified" and e.get("subject"):
            for name in e["subject"].split(", "):
                person(name, e["ts"])["paged"] = True
        if e["actor_type"] != "human" or not e.get("actor"):
            continue
        row = person(e["actor"], e["ts"])
        if e["kind"] == "alert.acknowledged":
            row["acknowledged"] = True
        if e["kind"] in ("chat.message", "chat.reply", "ticket.comment", "alert.annotated"):
            row["spoke"] = True
    return sorted(people.values(), key=lambda r: (r["first_seen"], r["name"]))
