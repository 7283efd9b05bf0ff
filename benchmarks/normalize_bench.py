"""Normaliser throughput: 1M raw records mixed across sources and time shapes.

Not a test (pytest does not collect benchmarks/). Prints events/s for the normaliser and,
measured in the same run on the same records, for the per-row python-dateutil script a
user would write, and the ratio between them. Run:

    python3 benchmarks/normalize_bench.py            # 1,000,000 records
    python3 benchmarks/normalize_bench.py --rows 200000
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incident_timeline.contract.schemas import RAW_SCHEMA  # noqa: E402
from incident_timeline.normalize.engine import normalize_raw  # noqa: E402
from incident_timeline.normalize.mapping import SourceSpec  # noqa: E402
from incident_timeline.normalize.timeparse import parse_times  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
NEW_YORK, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
USERS = [("U%09d" % i, f"Person {i}", f"person{i}@acme.example") for i in range(200)]


def _instants(rng: random.Random, n: int) -> list[datetime]:
    return [START + timedelta(microseconds=rng.randrange(300 * 86_400 * 1_000_000)) for _ in range(n)]


def _slack(rng: random.Random, n: int) -> pa.Table:
    rows = []
    for i, t in enumerate(_instants(rng, n)):
        uid, _, _ = USERS[i % len(USERS)]
        ts = f"{int(t.timestamp())}.{t.microsecond:06d}"
        text = rng.choice(["deploy v2.31.0 looks bad &amp; 5xx is up", f"paging <@{uid}> on this",
                           "rolled back, watching <#C0INC4213|inc-4213>", "ack"])
        rows.append(("messages", f"C0INC4213:{ts}", "C0INC4213",
                     json.dumps({"type": "message", "user": uid, "text": text, "ts": ts})))
    users = [("users", uid, None, json.dumps({"id": uid, "real_name": name, "profile": {"email": mail}}))
             for uid, name, mail in USERS]
    return _raw("slack", "slack_export", rows + users)


def _pagerduty(rng: random.Random, n: int) -> pa.Table:
    rows = []
    for i, t in enumerate(_instants(rng, n)):
        local = t.astimezone(NEW_YORK).replace(microsecond=0).isoformat()
        kind = rng.choice(["trigger", "acknowledge", "notify", "annotate", "resolve"])
        rows.append(("log_entries", f"R{i:012d}", "Q2W3E4R", json.dumps({
            "id": f"R{i:012d}", "type": f"{kind}_log_entry", "summary": f"{kind} by Person {i % 200}",
            "created_at": local, "agent": {"id": f"P{i % 200:06d}", "type": "user_reference",
                                           "summary": f"Person {i % 200}"},
            "channel": {"type": "website"}, "incident": {"id": "Q2W3E4R"}})))
    return _raw("pagerduty", "pagerduty", rows)


def _jira_time(t: datetime) -> str:
    """Jira's shape: milliseconds and a +hhmm offset, here in Europe/Berlin."""
    local = t.astimezone(BERLIN)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}" + local.strftime("%z")


def _jira(rng: random.Random, n: int) -> pa.Table:
    """Half comments (Cloud ADF bodies), half changelog histories; times in .000+0200."""
    rows = []
    for i, t in enumerate(_instants(rng, n - n // 2)):
        local = _jira_time(t)
        _, name, mail = USERS[i % len(USERS)]
        rows.append(("comments", str(i), "OPS-1234", json.dumps({
            "id": str(i), "created": local, "author": {"displayName": name, "emailAddress": mail},
            "body": {"type": "doc", "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": "Rolled back; see OPS-1240"}]}]}})))
    return _raw("jira", "jira", rows + _jira_changelog(rng, n // 2))


def _jira_changelog(rng: random.Random, n: int) -> list:
    rows = []
    fields = [("status", "In Progress", "Resolved"), ("assignee", None, "Person 7"), ("priority", "P3", "P1"),
              ("labels", "", "rollback OPS-1240")]
    for i, t in enumerate(_instants(rng, n)):
        local = _jira_time(t)
        _, name, mail = USERS[i % len(USERS)]
        field, before, after = fields[i % len(fields)]
        rows.append(("changelog", f"h{i}", "OPS-1234", json.dumps({
            "id": str(i), "created": local, "author": {"displayName": name, "emailAddress": mail},
            "items": [{"field": field, "fromString": before, "toString": after}]})))
    return rows


def _alertmanager(rng: random.Random, n: int) -> pa.Table:
    rows = []
    for i, t in enumerate(_instants(rng, n)):
        fingerprint = f"{i // 4:016x}"
        starts = t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"   # Go's RFC 3339 with nanoseconds
        resolved = i % 4 == 3
        alert = {"status": "resolved" if resolved else "firing", "fingerprint": fingerprint,
                 "startsAt": starts, "endsAt": (t + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
                 if resolved else "0001-01-01T00:00:00Z",
                 "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"},
                 "annotations": {"summary": "5xx above 5% on checkout", "runbook_url": "https://runbooks.acme.example/5xx"},
                 "generatorURL": "http://prometheus:9090/graph?g0.expr=rate"}
        rows.append(("notifications", f"{fingerprint}@{starts}:{alert['status']}", "grp", json.dumps({
            "receiver": "pagerduty-sre", "groupKey": "{}:{alertname=\"HighErrorRate\"}",
            "externalURL": "http://alertmanager:9093", "alert": alert})))
    return _raw("alertmanager", "alertmanager", rows)


def _opsgenie(rng: random.Random, n: int) -> pa.Table:
    rows = []
    logs = ["Alert acknowledged via web", "Sent email notification to person3@acme.example",
            "Alert closed via API", "Escalated to next responder"]
    for i, t in enumerate(_instants(rng, n)):
        created = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
        alert_id = f"{i // 3:08x}-og"
        if i % 3 == 0:
            rows.append(("alerts", alert_id, None, json.dumps({
                "id": alert_id, "tinyId": str(i // 3), "alias": f"checkout-5xx-{i}", "message": "Checkout 5xx high",
                "status": "open", "priority": "P1", "count": 3, "tags": ["checkout"], "createdAt": created,
                "source": "Prometheus", "entity": "checkout", "description": "See OPS-1240"})))
        else:
            rows.append(("logs", f"{alert_id}/logs/{i}", alert_id, json.dumps({
                "log": logs[i % len(logs)], "type": "alertRecipient" if i % 2 else "system",
                "owner": f"person{i % 200}@acme.example", "createdAt": created, "offset": f"{i:016d}"})))
    return _raw("opsgenie", "opsgenie", rows)


def _grafana(rng: random.Random, n: int) -> pa.Table:
    rows = []
    states = [("Normal", "Pending"), ("Pending", "Alerting"), ("Alerting", "Normal"), ("Normal", "NoData")]
    for i, t in enumerate(_instants(rng, n)):
        previous, current = states[i % len(states)]
        ms = int(t.timestamp() * 1000)
        rows.append(("history", f"r{i % 50}/{i:x}/{ms}/{current}", f"r{i % 50}", json.dumps({
            "time": ms, "labels": None, "line": {
                "previous": previous, "current": current, "ruleUID": f"r{i % 50}", "ruleTitle": "Checkout latency",
                "fingerprint": f"{i:016x}", "labels": {"alertname": "CheckoutLatency", "severity": "warning",
                                                        "service": "checkout"},
                "values": {"B": 1.2}}})))
    return _raw("grafana", "grafana", rows)


def _servicenow(rng: random.Random, n: int) -> pa.Table:
    rows = []
    for i, t in enumerate(_instants(rng, n)):
        local = t.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M:%S")   # naive, in the instance's zone
        rows.append(("sys_journal_field", f"{i:032x}", "INC0010042", json.dumps({
            "sys_id": f"{i:032x}", "element": "work_notes" if i % 2 else "comments",
            "element_id": "9d385017c611228701d22104cc95c371", "sys_created_by": f"person{i % 200}",
            "sys_created_on": local, "value": "Failover started, see OPS-1240"})))
    return _raw("servicenow", "servicenow", rows)


def _raw(source: str, source_type: str, rows) -> pa.Table:
    return pa.Table.from_pylist([{
        "run_id": "bench", "source": source, "source_type": source_type, "stream": s, "partition": "",
        "native_id": nid, "parent_id": parent, "payload": payload, "fetched_at": NOW}
        for s, nid, parent, payload in rows], schema=RAW_SCHEMA)


# Share of each source in the mix, and the time shape it writes.
MIX = (("slack_export", _slack, 0.35, "slack_ts, \"1700000000.123456\""),
       ("alertmanager", _alertmanager, 0.15, "RFC 3339 with nanoseconds, Z"),
       ("pagerduty", _pagerduty, 0.15, "ISO 8601, -04:00/-05:00"),
       ("jira", _jira, 0.10, "ISO 8601, .000+0200"),
       ("opsgenie", _opsgenie, 0.10, "ISO 8601, milliseconds, Z"),
       ("grafana", _grafana, 0.10, "epoch milliseconds"),
       ("servicenow", _servicenow, 0.05, "naive, Europe/Berlin (both DST changes)"))
# Where each source keeps its time: what the per-row baseline reads.
TIME_KEYS = {"slack_export": ("ts",), "alertmanager": ("alert", "startsAt"), "pagerduty": ("created_at",),
             "jira": ("created",), "opsgenie": ("createdAt",), "grafana": ("time",),
             "servicenow": ("sys_created_on",)}


def json_floor(tables: dict[str, pa.Table]) -> tuple[float, float]:
    """Records/s of parsing every payload once, and no more (`json_transform` of a field
    every record has): no normaliser can map records faster than it reads them."""
    import duckdb

    raw = pa.concat_tables(tables.values())
    con = duckdb.connect()
    try:
        con.register("raw", raw)
        t0 = time.perf_counter()
        con.execute("SELECT count(json_transform(payload, '{\"id\": \"VARCHAR\"}')) FROM raw").fetchall()
        elapsed = time.perf_counter() - t0
    finally:
        con.close()
    return raw.num_rows / elapsed, pa.compute.sum(pa.compute.binary_length(raw["payload"])).as_py() / 1e6


def baseline_times(values: list[str]) -> int:
    """The script a user would write for times alone: dateutil per row, epoch numbers by hand."""
    from dateutil import parser

    ok = 0
    for v in values:
        try:
            _one_time(parser, v)
            ok += 1
        except (ValueError, OverflowError):
            pass
    return ok


def _one_time(parser, v: str) -> datetime:
    if "." in v and v.replace(".", "").isdigit():
        return datetime.fromtimestamp(float(v), timezone.utc)
    if v.isdigit():
        return datetime.fromtimestamp(int(v) / 1000, timezone.utc)
    dt = parser.parse(v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=BERLIN)
    return dt.astimezone(timezone.utc)


def baseline_normalise(records: list[tuple[str, str, str]]) -> int:
    """The per-row normaliser a user would write: json.loads, the time by dateutil, an id,
    a dict per event, one pandas frame. A floor: no text, refs, people or rejects."""
    import hashlib

    import pandas as pd
    from dateutil import parser

    rows = []
    for source, native_id, payload in records:
        record = json.loads(payload)
        value = record
        for key in TIME_KEYS[source]:
            value = value[key]
        rows.append({"event_id": hashlib.sha256(f"{source}\x1f{native_id}".encode()).hexdigest()[:32],
                     "source": source, "ts": _one_time(parser, str(value)), "native_id": native_id,
                     "title": str(record.get("text") or record.get("summary") or record.get("message") or "")[:140]})
    return len(pd.DataFrame(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--baseline-rows", type=int, default=50_000,
                    help="the per-row baselines are slow: they run on a sample of this many records")
    ap.add_argument("--reference", action="store_true",
                    help="also time the mappings' per-record oracles alone (compiled queries off)")
    args = ap.parse_args()
    rng = random.Random(7)
    n = args.rows
    tables = {stype: make(rng, int(n * share)) for stype, make, share, _shape in MIX}
    print(f"{n:,} raw records: " + ", ".join(f"{s} {share:.0%} ({shape})" for s, _m, share, shape in MIX))

    print("\nevent times to UTC, one conversion per declared format (parse_times):")
    columns = {f"{stype} ({shape})": (_times(tables[stype], stype), _format(stype))
               for stype, _m, _share, shape in MIX}
    columns["rfc2822 (e-mail, file sources)"] = (_rfc2822_values(rng, n // 20), "rfc2822")
    converted, t_convert = 0, 0.0
    for label, (values, fmt) in columns.items():
        arr = pa.array(values, pa.string())
        t0 = time.perf_counter()
        parsed = parse_times(arr, fmt, "Europe/Berlin")
        dt = time.perf_counter() - t0
        ok = len(values) - sum(e is not None for e in parsed.errors)
        converted, t_convert = converted + ok, t_convert + dt
        print(f"  {label:<58} {ok / dt:>12,.0f} values/s")
    convert_rate = converted / t_convert
    print(f"  {'all of them':<58} {convert_rate:>12,.0f} values/s")

    print("\nnormaliser, raw records to events (mapping, text, refs, ids, times, identities):")
    events, t_all, t_ref = 0, 0.0, 0.0
    for stype, raw in tables.items():
        spec = SourceSpec(name=stype, type=stype, timezone="Europe/Berlin" if stype == "servicenow" else "UTC")
        kw = dict(entities=_entities(raw), jira_projects=["OPS"], ingested_at=NOW)
        t0 = time.perf_counter()
        out = normalize_raw(raw, spec, **kw)
        dt = time.perf_counter() - t0
        assert out.rejects.num_rows == 0, out.rejects.slice(0, 3).to_pylist()
        events, t_all = events + out.events.num_rows, t_all + dt
        line = f"  {stype:<14} {out.events.num_rows / dt:>12,.0f} events/s"
        if args.reference:
            t0 = time.perf_counter()
            normalize_raw(raw, spec, vectorized=False, **kw)
            ref = time.perf_counter() - t0
            t_ref += ref
            line += f"   (oracle alone: {out.events.num_rows / ref:,.0f} events/s, {ref / dt:.1f}x the time)"
        print(line)
    normalise_rate = events / t_all
    print(f"  {'all sources':<14} {normalise_rate:>12,.0f} events/s ({events:,} events in {t_all:.2f} s)")
    parse_rate, megabytes = json_floor(tables)
    print(f"  floor: the JSON alone, every payload parsed once by DuckDB (2 threads), nothing mapped:\n"
          f"  {'':<33} {parse_rate:>12,.0f} records/s ({megabytes:,.0f} MB; the normaliser runs at "
          f"{normalise_rate / parse_rate:.0%} of it)")

    records = _sample_records(tables, args.baseline_rows, rng)
    t0 = time.perf_counter()
    done = baseline_normalise(records)
    base_norm = done / (time.perf_counter() - t0)
    times = _sample_times(tables, args.baseline_rows, rng)
    t0 = time.perf_counter()
    done = baseline_times(times)
    base_times = done / (time.perf_counter() - t0)
    print(f"\nbaselines, per-row python-dateutil scripts on {len(records):,} sampled records:")
    print(f"  times alone:                 {base_times:>12,.0f} values/s")
    print(f"  whole records (json + time): {base_norm:>12,.0f} events/s")
    print(f"\nratio, event times on declared formats / the per-row dateutil script: {convert_rate / base_times:,.1f}x")
    print(f"ratio, whole normaliser / the per-row whole-record script:            {normalise_rate / base_norm:,.1f}x")
    print(f"ratio, whole normaliser / the per-row dateutil script:                {normalise_rate / base_times:,.1f}x")
    for label, rate, ratio in (("event times on declared formats", convert_rate, convert_rate / base_times),
                               ("whole normaliser", normalise_rate, normalise_rate / base_norm)):
        verdict = "met" if rate >= 1_000_000 and ratio >= 50 else "not met"
        print(f"target (>= 1M/s and >= 50x the per-row script), {label}: {verdict}")


def _format(stype: str) -> str:
    from incident_timeline.contract.sources import SOURCE_TYPES

    return SOURCE_TYPES[stype].time_format


def _time_of(stype: str, payload: str) -> str | None:
    value = json.loads(payload)
    for key in TIME_KEYS[stype]:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return str(value)


def _times(raw: pa.Table, stype: str) -> list[str]:
    values = (_time_of(stype, p) for p in raw["payload"].to_pylist())
    return [v for v in values if v is not None]


def _rfc2822_values(rng: random.Random, n: int) -> list[str]:
    return [format_datetime(t.astimezone(NEW_YORK).replace(microsecond=0)) for t in _instants(rng, n)]


def _entities(raw: pa.Table) -> dict:
    from incident_timeline.normalize.engine import build_entities

    return build_entities(raw, ["users"])


def _sample_records(tables: dict[str, pa.Table], k: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """k records drawn from the mix in its proportions (entity rows left out)."""
    out = []
    for stype, _make, share, _shape in MIX:
        raw = tables[stype]
        rows = [(stype, nid, p) for s, nid, p in zip(raw["stream"].to_pylist(), raw["native_id"].to_pylist(),
                                                     raw["payload"].to_pylist()) if s != "users"]
        out += rng.sample(rows, min(len(rows), int(k * share)))
    rng.shuffle(out)
    return out


def _sample_times(tables: dict[str, pa.Table], k: int, rng: random.Random) -> list[str]:
    return [v for s, _nid, p in _sample_records(tables, k, rng) if (v := _time_of(s, p)) is not None]


if __name__ == "__main__":
    main()
