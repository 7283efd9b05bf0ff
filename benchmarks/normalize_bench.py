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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from normalize.engine import normalize_raw  # noqa: E402
from normalize.fast import FAST_PATHS  # noqa: E402
from normalize.mapping import SourceSpec  # noqa: E402
from normalize.schema import RAW_SCHEMA  # noqa: E402
from normalize.timeparse import parse_times  # noqa: E402

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


def _jira(rng: random.Random, n: int) -> pa.Table:
    rows = []
    for i, t in enumerate(_instants(rng, n)):
        local = t.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}" + \
            t.astimezone(BERLIN).strftime("%z")
        _, name, mail = USERS[i % len(USERS)]
        rows.append(("comments", str(i), "OPS-1234", json.dumps({
            "id": str(i), "created": local, "author": {"displayName": name, "emailAddress": mail},
            "body": {"type": "doc", "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": "Rolled back; see OPS-1240"}]}]}})))
    return _raw("jira", "jira", rows)


def _raw(source: str, source_type: str, rows) -> pa.Table:
    return pa.Table.from_pylist([{
        "run_id": "bench", "source": source, "source_type": source_type, "stream": s, "partition": "",
        "native_id": nid, "parent_id": parent, "payload": payload, "fetched_at": NOW}
        for s, nid, parent, payload in rows], schema=RAW_SCHEMA)


# Time shapes the other sources write, one column per declared format.
def _shapes(rng: random.Random, n: int) -> dict[str, tuple[list[str], str | None]]:
    ts = _instants(rng, n)
    return {
        "iso8601 (Z, nanoseconds)": ([t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z" for t in ts], "iso8601"),
        "epoch_ms": ([str(int(t.timestamp() * 1000)) for t in ts], "epoch_ms"),
        "naive in Europe/Berlin": ([t.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M:%S") for t in ts], "naive"),
        "rfc2822": ([format_datetime(t.astimezone(NEW_YORK).replace(microsecond=0)) for t in ts], "rfc2822"),
    }


def baseline(values: list[str]) -> int:
    """The script a user would write: dateutil per row, epoch numbers by hand."""
    from dateutil import parser

    ok = 0
    for v in values:
        try:
            if "." in v and v.replace(".", "").isdigit():
                datetime.fromtimestamp(float(v), timezone.utc)
            elif v.isdigit():
                datetime.fromtimestamp(int(v) / 1000, timezone.utc)
            else:
                dt = parser.parse(v)
                if dt.tzinfo is None:
                    dt = dt.replace(tzinfo=BERLIN)
                dt.astimezone(timezone.utc)
            ok += 1
        except (ValueError, OverflowError):
            pass
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--baseline-rows", type=int, default=50_000,
                    help="the per-row baseline is slow: it runs on a sample of this many values")
    args = ap.parse_args()
    rng = random.Random(7)
    n = args.rows
    tables = {"slack_export": _slack(rng, n * 4 // 10), "pagerduty": _pagerduty(rng, n * 2 // 10),
              "jira": _jira(rng, n * 1 // 10)}
    shapes = _shapes(rng, n * 3 // 40)
    print(f"{n:,} records: Slack messages 40%, PagerDuty log entries 20%, Jira comments 10%, "
          f"four other time shapes 30%")

    print("\ntime conversion per declared format (parse_times):")
    columns = {"slack_ts": ([_field(p, "ts") for p in tables["slack_export"]["payload"].to_pylist()
                             if '"ts"' in p], "slack_ts"),
               "iso8601 -04:00 (PagerDuty)": ([_field(p, "created_at") for p in tables["pagerduty"]["payload"]
                                               .to_pylist()], "iso8601"),
               "iso8601 .000+0200 (Jira)": ([_field(p, "created") for p in tables["jira"]["payload"].to_pylist()],
                                            "iso8601"),
               **shapes}
    converted, t_convert = 0, 0.0
    for label, (values, fmt) in columns.items():
        arr = pa.array(values, pa.string())
        t0 = time.perf_counter()
        parsed = parse_times(arr, fmt, "Europe/Berlin")
        dt = time.perf_counter() - t0
        ok = len(values) - sum(e is not None for e in parsed.errors)
        converted, t_convert = converted + ok, t_convert + dt
        print(f"  {label:<28} {ok / dt:>14,.0f} values/s")
    convert_rate = converted / t_convert
    print(f"  {'all of them':<28} {convert_rate:>14,.0f} values/s")

    print("\nnormaliser, raw records to events (mapping, text, refs, ids, times, identities):")
    events, t_all = 0, 0.0
    for stype, raw in tables.items():
        spec = SourceSpec(name=stype, type=stype, timezone="UTC")
        entities = _entities(raw)
        t0 = time.perf_counter()
        out = normalize_raw(raw, spec, entities=entities, jira_projects=["OPS"], ingested_at=NOW)
        dt = time.perf_counter() - t0
        assert out.rejects.num_rows == 0, out.rejects.slice(0, 3).to_pylist()
        events, t_all = events + out.events.num_rows, t_all + dt
        path = "vectorised" if stype in FAST_PATHS else "per-record mapper"
        print(f"  {stype:<14} {path:<18} {out.events.num_rows / dt:>12,.0f} events/s")
    normalise_rate = events / t_all
    print(f"  {'all sources':<33} {normalise_rate:>12,.0f} events/s")

    sample = _baseline_sample(tables, shapes, args.baseline_rows, rng)
    t0 = time.perf_counter()
    done = baseline(sample)
    base_rate = done / (time.perf_counter() - t0)
    print(f"\nbaseline, per-row python-dateutil script ({len(sample):,} sampled values): {base_rate:,.0f} values/s")
    print(f"ratio, time conversion / baseline: {convert_rate / base_rate:,.1f}x")
    print(f"ratio, whole normaliser / baseline: {normalise_rate / base_rate:,.1f}x")


def _field(payload: str, key: str) -> str:
    return json.loads(payload)[key]


def _entities(raw: pa.Table) -> dict:
    from normalize.engine import build_entities

    return build_entities(raw, ["users"])


def _baseline_sample(tables, shapes, k: int, rng: random.Random) -> list[str]:
    values: list[str] = []
    for raw in tables.values():
        for payload in raw["payload"].to_pylist()[: k // 6]:
            d = json.loads(payload)
            values.append(d.get("ts") or d.get("created_at") or d.get("created") or "")
    for vals, _fmt in shapes.values():
        values += vals[: k // 8]
    rng.shuffle(values)
    return [v for v in values if v]


if __name__ == "__main__":
    main()
