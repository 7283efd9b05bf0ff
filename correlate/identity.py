"""Incident identity: one incident is one row, whatever ref it is built from.

- The identity is the alerting source's incident (pagerduty:, opsgenie:, servicenow:) the
  incident's events name first, when there is one; else the seed it was first built from.
  An incident that already has an alerting identity keeps it.
- Every other ref that reaches it (the seeds typed, the refs expansion followed: tickets,
  channels, alert fingerprints) is an alias, in `incident_aliases`. Building from an alias
  updates the incident it names; an incident stored under a ref that is now an alias of
  another (built from a ticket before its page was ingested) is folded into that one.
- What the data cannot decide, a person does: `merge` (two incidents are one) and
  `forget`; both are kept in `incident_decisions`, so no later build undoes them.

All functions take a connection to the catalog (writers: a copy inside catalog_writer).
"""
from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pyarrow as pa

from incident_timeline.lake import catalog
from incident_timeline.lake.tables import INCIDENT_DECISIONS

ALERTING_PREFIXES = ("pagerduty:", "opsgenie:", "servicenow:")
INCIDENT_TABLES = catalog.INCIDENT_TABLES
# which of several incidents an alias names: a person's decision, then a seed, then a ref
_KIND_RANK = "CASE a.kind WHEN 'identity' THEN 0 WHEN 'merged' THEN 1 WHEN 'seed' THEN 2 ELSE 3 END"


class IdentityError(ValueError):
    """A merge or forget the catalog cannot do (an incident not built, already one)."""


def is_alerting(ref: str | None) -> bool:
    return bool(ref) and ref.startswith(ALERTING_PREFIXES)


def alerting_incident(events: list[dict], refs: list[str]) -> str | None:
    """The first alerting-source incident among `refs` that the alerts (in timeline order)
    name; else that any event names (a ticket citing its page, with the page not ingested).
    Within an event its refs are read in the order its mapper wrote them: the record's own
    incident comes first, before a PagerDuty alert's own id (`pagerduty:<alert id>`)."""
    wanted = {r for r in refs if is_alerting(r)}
    for pool in ([e for e in events if e.get("category") == "alert"], events):
        for e in pool:
            hit = next((r for r in (e.get("refs") or []) if r in wanted), None)
            if hit:
                return hit
    return None


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()[0][0])


def merged_into(con: duckdb.DuckDBPyConnection, incident_id: str) -> str:
    """The incident `incident_id` was merged into (transitively), else itself."""
    if not _has(con, "incident_decisions"):
        return incident_id
    seen: set[str] = set()
    while incident_id not in seen:
        seen.add(incident_id)
        row = con.execute("SELECT incident_id FROM incident_decisions WHERE decision = 'merge' AND other = ? "
                          "ORDER BY decided_at DESC LIMIT 1", [incident_id]).fetchall()
        if not row:
            break
        incident_id = row[0][0]
    return incident_id


def merged_from(con: duckdb.DuckDBPyConnection, incident_id: str) -> list[str]:
    """Every incident a person merged into `incident_id` (transitively)."""
    if not _has(con, "incident_decisions"):
        return []
    found: list[str] = []
    todo = [incident_id]
    while todo:
        rows = con.execute("SELECT DISTINCT other FROM incident_decisions WHERE decision = 'merge' "
                           "AND incident_id = ? ORDER BY other", [todo.pop()]).fetchall()
        for (other,) in rows:
            if other not in found and other != incident_id:
                found.append(other)
                todo.append(other)
    return found


def owner(con: duckdb.DuckDBPyConnection, ref: str) -> str | None:
    """The incident `ref` names (its identity, or the incident holding it as an alias, a
    person's merge followed), else None."""
    found = None
    if _has(con, "incident_aliases"):
        row = con.execute(f"""SELECT a.incident_id FROM incident_aliases AS a
                              LEFT JOIN incidents AS i USING (incident_id) WHERE a.alias = ?
                              ORDER BY {_KIND_RANK}, i.detected DESC NULLS LAST, a.incident_id LIMIT 1""",
                          [ref]).fetchall()
        found = row[0][0] if row else None
    if found is None and _has(con, "incident_decisions") and con.execute(
            "SELECT count(*) FROM incident_decisions WHERE decision = 'merge' AND other = ?", [ref]).fetchall()[0][0]:
        found = ref     # the catalog lost its aliases (rebuilt): the decisions still say it
    return merged_into(con, found) if found is not None else None


def lookup(con: duckdb.DuckDBPyConnection | None, seed: str) -> tuple[str | None, tuple[str, ...]]:
    """Before a build: the incident the seed already names, and the seeds to build it from
    besides the one typed (its identity, incidents merged into it)."""
    if con is None:
        return None, ()
    existing = owner(con, seed)
    if existing is None:
        return None, ()
    return existing, tuple(s for s in [existing, *merged_from(con, existing)] if s != seed)


def choose(con: duckdb.DuckDBPyConnection, seed: str, alerting: str | None, existing: str | None,
           channel: str | None = None) -> str:
    """The identity a build from `seed` is stored under (`channel`: the id a channel seed
    typed by name stands for, so a later build that follows the channel finds it)."""
    if existing is not None and (is_alerting(existing) or alerting is None):
        target = existing
    elif alerting is not None:
        target = owner(con, alerting) or alerting
    else:
        target = channel or seed
    return merged_into(con, target)


def store(con: duckdb.DuckDBPyConnection, seed: str, tables: dict[str, pa.Table], target: str,
          existing: str | None = None) -> str:
    """Store a build asked for as `seed` under the identity `target` (choose's answer), in one
    transaction; returns it. Incidents stored under one of its aliases are folded in."""
    catalog.ensure_tables(con)
    inc = tables["incidents"].to_pylist()[0]
    tables = {**tables, "incidents": _typed_seed(tables["incidents"], seed)}
    refs = sorted(set(inc.get("refs") or []))
    names = sorted(set(refs) | {seed} | ({existing} if existing else set()))
    absorbed = [i for (i,) in con.execute(
        "SELECT incident_id FROM incidents WHERE list_contains(?, incident_id) AND incident_id <> ? ORDER BY 1",
        [names, target]).fetchall()]
    now = datetime.now(timezone.utc)
    con.execute("BEGIN TRANSACTION")
    try:
        for other in absorbed:      # a non-alerting identity is the seed it was first built from
            _fold(con, other, target, now, kind="ref" if is_alerting(other) else "seed")
        catalog.replace_rows(con, target, {name: _keyed(t, target) for name, t in tables.items()})
        con.execute("DELETE FROM incident_aliases WHERE incident_id = ? AND kind IN ('identity', 'ref')", [target])
        con.execute("INSERT OR REPLACE INTO incident_aliases VALUES (?, ?, 'identity', ?)", [target, target, now])
        if seed != target:
            con.execute("INSERT OR REPLACE INTO incident_aliases VALUES (?, ?, 'seed', ?)", [seed, target, now])
        rows = [(r, target, now) for r in refs if r != target]
        if rows:
            con.executemany("INSERT OR IGNORE INTO incident_aliases VALUES (?, ?, 'ref', ?)", rows)
        # built again by hand: no longer forgotten
        con.execute("DELETE FROM incident_decisions WHERE decision = 'forget' AND incident_id = ?", [target])
        _refresh_aliases(con, target)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return target


def _typed_seed(table: pa.Table, seed: str) -> pa.Table:
    """`seed` and `seed_kind` say what was typed, whichever ref the rows were built from."""
    from .seed import parse_seed
    for name, value in (("seed", seed), ("seed_kind", parse_seed(seed).kind)):
        i = table.column_names.index(name)
        table = table.set_column(i, name, pa.array([value] * table.num_rows, pa.string()))
    return table


def _keyed(table: pa.Table, incident_id: str) -> pa.Table:
    if "incident_id" not in table.column_names:
        return table
    i = table.column_names.index("incident_id")
    return table.set_column(i, "incident_id", pa.array([incident_id] * table.num_rows, pa.string()))


def _fold(con: duckdb.DuckDBPyConnection, other: str, target: str, now: datetime, kind: str = "ref") -> None:
    """`other`'s rows go, its aliases and draft times become `target`'s (inside a transaction)."""
    for name in INCIDENT_TABLES:
        con.execute(f"DELETE FROM {name} WHERE incident_id = ?", [other])
    con.execute("INSERT OR IGNORE INTO incident_aliases SELECT alias, ?, kind, added_at FROM incident_aliases "
                "WHERE incident_id = ? AND alias <> ?", [target, other, other])
    con.execute("DELETE FROM incident_aliases WHERE incident_id = ?", [other])
    con.execute("INSERT OR REPLACE INTO incident_aliases VALUES (?, ?, ?, ?)", [other, target, kind, now])
    con.execute("""INSERT OR REPLACE INTO incident_drafts
                   SELECT ?, min(first_built_at), max(last_built_at) FROM incident_drafts
                   WHERE incident_id IN (?, ?) HAVING count(*) > 0""", [target, target, other])
    con.execute("DELETE FROM incident_drafts WHERE incident_id = ?", [other])
    # its published pages are now the target's (the target's own win where both have one)
    con.execute("""INSERT OR IGNORE INTO incident_publications SELECT ? AS incident_id, * EXCLUDE (incident_id)
                   FROM incident_publications WHERE incident_id = ?""", [target, other])
    con.execute("DELETE FROM incident_publications WHERE incident_id = ?", [other])


def _refresh_aliases(con: duckdb.DuckDBPyConnection, incident_id: str) -> None:
    con.execute("""UPDATE incidents SET aliases = coalesce((SELECT list(alias ORDER BY alias) FROM incident_aliases
                   WHERE incident_id = ? AND alias <> ?), []) WHERE incident_id = ?""",
                [incident_id, incident_id, incident_id])


def merge(con: duckdb.DuckDBPyConnection, keep: str, other: str) -> tuple[str, str]:
    """`other` is the same incident as `keep`: one row, `keep`'s identity; returns both identities."""
    catalog.ensure_tables(con)
    a, b = _built(con, keep), _built(con, other)
    if a == b:
        raise IdentityError(f"{keep} and {other} are already one incident ({a})")
    now = datetime.now(timezone.utc)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("INSERT INTO incident_decisions VALUES ('merge', ?, ?, ?)", [a, b, now])
        _fold(con, b, a, now, kind="merged")
        _refresh_aliases(con, a)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return a, b


def forget(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    """Remove the incident `ref` names from every incident table; returns its identity."""
    catalog.ensure_tables(con)
    target = _built(con, ref)
    con.execute("BEGIN TRANSACTION")
    try:
        for name in INCIDENT_TABLES:
            con.execute(f"DELETE FROM {name} WHERE incident_id = ?", [target])
        con.execute("DELETE FROM incident_aliases WHERE incident_id = ?", [target])
        con.execute("DELETE FROM incident_drafts WHERE incident_id = ?", [target])
        con.execute("INSERT INTO incident_decisions VALUES ('forget', ?, NULL, ?)", [target, datetime.now(timezone.utc)])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return target


def _built(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    found = owner(con, ref)
    if found is None or not con.execute("SELECT count(*) FROM incidents WHERE incident_id = ?",
                                        [found]).fetchall()[0][0]:
        raise IdentityError(f"no built incident is named {ref}: see `incident-timeline incidents`")
    return found


def record_draft(con: duckdb.DuckDBPyConnection, incident_id: str) -> None:
    catalog.ensure_tables(con)
    now = datetime.now(timezone.utc)
    con.execute("""INSERT INTO incident_drafts VALUES (?, ?, ?)
                   ON CONFLICT (incident_id) DO UPDATE SET last_built_at = excluded.last_built_at""",
                [incident_id, now, now])


def decisions(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every decision, oldest first: what the lake keeps beside the catalog."""
    catalog.ensure_tables(con)
    return con.sql("SELECT * FROM incident_decisions ORDER BY decided_at, decision, incident_id, other"
                   ).to_arrow_table().cast(INCIDENT_DECISIONS.arrow_schema())


def import_decisions(con: duckdb.DuckDBPyConnection, table: pa.Table) -> int:
    """Add the decisions `table` holds that the catalog lacks (a catalog rebuilt, or one that
    never saw them); returns how many. Lookups follow them at once (a merged incident's ref
    names the one it was merged into); its rows are gone from the lake's tables/ already."""
    catalog.ensure_tables(con)
    con.register("_decisions", table)
    try:
        added = con.execute("""INSERT INTO incident_decisions SELECT decision, incident_id, other, decided_at
                               FROM _decisions AS d WHERE NOT EXISTS (SELECT 1 FROM incident_decisions AS o
                                 WHERE o.decision = d.decision AND o.incident_id = d.incident_id
                                 AND o.other IS NOT DISTINCT FROM d.other AND o.decided_at = d.decided_at)"""
                            ).fetchall()[0][0]
    finally:
        con.unregister("_decisions")
    return int(added)


def resolved_without_draft(con: duckdb.DuckDBPyConnection, since: datetime) -> list[str]:
    """Alerting-source incidents whose resolution reached the lake at or after `since` and
    whose incident has no draft written after it, oldest resolution first; a forgotten one
    is left alone. One ref per incident as the catalog knows it (a new one by its own ref)."""
    prefixes = " OR ".join(f"starts_with(r, '{p}')" for p in ALERTING_PREFIXES)
    rows = con.execute(f"""SELECT r, max(ts) AS resolved FROM (
                               SELECT unnest(refs) AS r, ts FROM events
                               WHERE kind IN ('alert.resolved', 'ticket.resolved') AND ingested_at >= ?)
                           WHERE {prefixes} GROUP BY r ORDER BY resolved, r""", [since]).fetchall()
    has_drafts, has_decisions = _has(con, "incident_drafts"), _has(con, "incident_decisions")
    out: list[str] = []
    for ref, resolved in rows:
        incident = owner(con, ref) or merged_into(con, ref)
        if incident in out:
            continue
        if has_decisions and con.execute("SELECT count(*) FROM incident_decisions WHERE decision = 'forget' "
                                         "AND incident_id = ?", [incident]).fetchall()[0][0]:
            continue
        if has_drafts and con.execute("SELECT count(*) FROM incident_drafts WHERE incident_id = ? "
                                      "AND last_built_at >= ?", [incident, resolved]).fetchall()[0][0]:
            continue
        out.append(incident)
    return out
