"""One person across sources: matched by e-mail, then by name.

Where the canonical identity lives: `actor_id` holds the person's e-mail (lower-cased)
whenever any source knows it, and `actor` the name the sources agree on for that e-mail
(a full name over a handle, then the name seen most often). A source that knows only
a name (PagerDuty log entries carry a user id and a name, no e-mail) is matched by name,
compared case-, accent- and punctuation-blind, and only when exactly one e-mail has that
name. `subject` (who was paged or assigned) gets the same names, so Alice is one
responder whether she acted in PagerDuty, Slack or Jira. Bots and systems are left alone.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def as_email(value: str | None) -> str | None:
    if value and _EMAIL.match(value.strip()):
        return value.strip().lower()
    return None


def name_key(name: str | None) -> str:
    """'Alice Chen', 'alice.chen', 'ALICE  CHEN' and 'Alicé Chen' are one key."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[._\-]+", " ", text).split())


class People:
    """A directory of (name, e-mail) sightings, from every source that has them."""

    def __init__(self, sightings: Iterable[tuple[str | None, str | None, int]] = ()):
        self._names: dict[str, Counter] = defaultdict(Counter)     # e-mail -> name -> count
        self._emails: dict[str, set[str]] = defaultdict(set)       # name key -> e-mails
        for name, actor_id, count in sightings:
            self.add(name, actor_id, count)

    def add(self, name: str | None, actor_id: str | None, count: int = 1) -> None:
        email = as_email(actor_id)
        if not email or not name:
            return
        self._names[email][name] += count
        self._emails[name_key(name)].add(email)

    def name_for(self, email: str) -> str | None:
        names = self._names.get(email)
        if not names:
            return None
        # a full name ("Alice Chen") over a handle ("alice"), then the most seen
        return max(names.items(), key=lambda kv: (" " in kv[0].strip(), kv[1], len(kv[0]), kv[0]))[0]

    def resolve(self, name: str | None, actor_id: str | None) -> tuple[str | None, str | None]:
        """(canonical name, e-mail or the source's own id) for one human actor."""
        email = as_email(actor_id)
        if email is None:
            emails = self._emails.get(name_key(name)) if name else None
            if not emails or len(emails) != 1:
                return name, actor_id
            email = next(iter(emails))
        return self.name_for(email) or name, email

    def resolve_names(self, names: str | None) -> str | None:
        """A comma-separated subject ("Alice Chen, bob") with each name made canonical."""
        if not names:
            return names
        parts = [n.strip() for n in names.split(",")]
        resolved = [self.resolve(n, None)[0] or n for n in parts]
        return ", ".join(resolved) if resolved != parts else names   # untouched unless someone matched

    @classmethod
    def from_events(cls, *tables: pa.Table) -> "People":
        """Sightings from event tables: every human event whose actor_id is an e-mail."""
        people = cls()
        for table in tables:
            if table.num_rows == 0:
                continue
            humans = table.filter(pc.equal(table["actor_type"], "human"))
            if humans.num_rows:
                # a name and an id make a sighting: pairs missing either (a null key) are skipped
                counts = pc.value_counts(_pair_keys(humans["actor"], humans["actor_id"], "emit_null"))
                for pair in counts.to_pylist():
                    if pair["values"] is not None:
                        people.add(*_split(pair["values"]), pair["counts"])
        return people

    def merged(self, other: "People | None") -> "People":
        out = People()
        for source in (self, other):
            if source is None:
                continue
            for email, names in source._names.items():
                for name, count in names.items():
                    out.add(name, email, count)
        return out


def canonicalise(events: pa.Table, people: People) -> pa.Table:
    """Events with human actors and subjects renamed to their canonical identity.

    Works on the distinct (actor, actor_id) pairs, so its cost grows with the number of
    people, not of events."""
    if events.num_rows == 0:
        return events
    human = pc.fill_null(pc.equal(events["actor_type"], "human"), False)
    keys = _pair_keys(events["actor"], events["actor_id"], "replace")
    distinct = pc.unique(keys)
    resolved = [people.resolve(*(_split(k))) for k in distinct.to_pylist()]
    index = pc.index_in(keys, value_set=distinct)
    new_actor = pc.take(pa.array([r[0] for r in resolved], pa.string()), index)
    new_id = pc.take(pa.array([r[1] for r in resolved], pa.string()), index)
    subjects = events["subject"]
    distinct_subjects = pc.unique(subjects)
    renamed = pa.array([people.resolve_names(s) for s in distinct_subjects.to_pylist()], pa.string())
    new_subject = pc.take(renamed, pc.index_in(subjects, value_set=distinct_subjects))
    out = events
    out = out.set_column(out.schema.get_field_index("actor"), "actor",
                         pc.if_else(human, new_actor, events["actor"]))
    out = out.set_column(out.schema.get_field_index("actor_id"), "actor_id",
                         pc.if_else(human, new_id, events["actor_id"]))
    return out.set_column(out.schema.get_field_index("subject"), "subject",
                          pc.if_else(pc.is_null(subjects), subjects, new_subject))


def _pair_keys(actors: pa.ChunkedArray, ids: pa.ChunkedArray, nulls: str) -> pa.ChunkedArray:
    """'name\x1fid' per row; a missing side is null ("emit_null") or empty ("replace")."""
    return pc.binary_join_element_wise(actors, ids, "\x1f", null_handling=nulls, null_replacement="")


def _split(key: str) -> tuple[str | None, str | None]:
    name, _, actor_id = key.partition("\x1f")
    return name or None, actor_id or None
