"""Write a computed review (export/review.py) as Markdown, a self-contained HTML page with SVG
charts (no script, no external asset), JSON and CSV."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import review_chart as chart
from .filters import csv_safe, duration, environment
from .report import jsonable, rfc3339
from .review import NO_TIMES

FORMATS = ("md", "html", "json", "csv")
FILENAMES = {"md": "review.md", "html": "review.html", "json": "review.json", "csv": "review.csv"}
TEMPLATES = {"md": "review.md.j2", "html": "review.html.j2"}
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
LIST_LIMIT = 200             # repeat pairs listed in md/html (all of them are in review.json)
CHART_SERVICES = 7           # a chart shows this many services; the rest are one "other" series
OTHER = "other services"
CSV_COLUMNS = ["period", "section", "month", "dimension", "key", "metric", "value"]


def write(review: dict[str, Any], out_dir: Path, formats: tuple[str, ...] = FORMATS,
          template_dir: Path | None = None) -> list[Path]:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format {unknown[0]!r} (known: {', '.join(FORMATS)})")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        text = render(review, fmt, template_dir)
        path = out_dir / FILENAMES[fmt]
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


def render(review: dict[str, Any], fmt: str, template_dir: Path | None = None) -> str:
    if fmt == "json":
        return json.dumps(jsonable(review), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return render_csv(review)
    env = environment(template_dir, autoescape=(fmt == "html"))
    env.filters.update(pct=pct, figure=figure, dur=dur)
    return env.get_template(TEMPLATES[fmt]).render(**context(review))


def pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.0f}%"


def dur(seconds: float | None) -> str:
    """A duration, or a dash where there is none to measure (no incident acknowledged)."""
    return "–" if seconds is None else duration(seconds)


# The headline figures in the order a reader meets them: (metric, label, how it is written).
HEADLINE = (
    ("incidents", "Incidents", "count"),
    ("median_tta_s", "Time to acknowledge, median", "duration"),
    ("p90_tta_s", "Time to acknowledge, p90", "duration"),
    ("median_ttr_s", "Time to resolve, median", "duration"),
    ("p90_ttr_s", "Time to resolve, p90", "duration"),
    ("repeats", "Repeat incidents", "count"),
    ("repeat_rate", "Repeat-incident rate", "rate"),
    ("repeats_after_addressed", "Repeats of an addressed issue (same alert, its action items closed)", "count"),
    ("drafts_within_rate", "Post-mortem draft within 48 h of resolution", "rate"),
    ("action_items", "Action items opened", "count"),
    ("closed", "Action items closed (today)", "count"),
    ("closure_rate", "Action-item closure rate", "rate"),
    ("overdue", "Action items overdue", "count"),
)


def figure(value: Any, kind: str, signed: bool = False) -> str:
    """A headline figure as a person reads it; `signed`: a change (+/-)."""
    if value is None:
        return "n/a"
    sign = "+" if signed and value > 0 else ""
    if kind == "duration":
        return sign + dur(value) if value >= 0 else "-" + dur(-value)
    if kind == "rate":
        return f"{sign}{value * 100:.0f}{' pts' if signed else '%'}"
    return f"{sign}{value:g}"


def context(review: dict[str, Any]) -> dict[str, Any]:
    """What the review templates see: the review itself, tables pivoted by month, and chart
    geometry (numbers only; every text is escaped by the template)."""
    months = review["period"]["months"]
    severity = _pivot(review["by_month"]["severity"], months, _severity_order)
    service = _pivot(review["by_month"]["service"], months)
    shown = service["keys"][:CHART_SERVICES]
    service_values = {(m, k if k in shown else OTHER): 0 for m in months for k in service["keys"]}
    for r in review["by_month"]["service"]:
        key = (r["month"], r["key"] if r["key"] in shown else OTHER)
        service_values[key] = service_values.get(key, 0) + r["incidents"]
    service_series = shown + ([OTHER] if len(service["keys"]) > CHART_SERVICES else [])
    trend = {m: {"month": m, "key": None, **NO_TIMES} for m in months}
    trend.update({r["month"]: r for r in review["trends"]["overall"]})
    by_service = {(r["month"], r["key"]): r for r in review["trends"]["service"]}
    by_severity = {(r["month"], r["key"]): r for r in review["trends"]["severity"]}
    repeats, drafts, items = review["repeats"], review["drafts"], review["action_items"]
    repeated = {x["incident_id"] for x in repeats["pairs"]}
    after_fix = {x["incident_id"] for x in repeats["after_fix"]}
    charts = {
        "severity": chart.bars(months, severity["keys"], severity["values"], stacked=True, integer=True),
        "service": chart.bars(months, service_series, service_values, stacked=True, integer=True),
        "mtta": chart.bars(months, ["median", "p90"], _minutes(trend, months, "tta"), stacked=False, unit=" min"),
        "mttr": chart.bars(months, ["median", "p90"], _minutes(trend, months, "ttr"), stacked=False, unit=" min"),
        "mttr_service": chart.bars(months, shown, {
            (m, k): _min(by_service.get((m, k), {}).get("median_ttr_s")) for m in months for k in shown},
            stacked=False, unit=" min"),
        "mttr_severity": chart.bars(months, severity["keys"], {
            (m, k): _min(by_severity.get((m, k), {}).get("median_ttr_s")) for m in months for k in severity["keys"]},
            stacked=False, unit=" min"),
        "repeats": chart.proportion([
            ("repeat after the fix", len(after_fix), chart.PALETTE[0]),
            ("other repeat", len(repeated - after_fix), chart.PALETTE[1]),
            ("neither", review["headline"]["incidents"] - len(repeated | after_fix), chart.PALETTE[3])]),
        "drafts": chart.proportion([("within 48 h", drafts["within"], chart.PALETTE[3]),
                                    ("late", drafts["late"], chart.PALETTE[1]),
                                    ("no draft", drafts["missing"], chart.PALETTE[0])]),
        "actions": chart.proportion([("closed", items["closed"], chart.PALETTE[3]),
                                     ("open, not overdue", items["open"] - items["overdue"], chart.PALETTE[2]),
                                     ("overdue", items["overdue"], chart.PALETTE[0])]),
        "alerts": chart.hbars([(a["alert"], a["incidents"]) for a in review["top_alerts"]]),
    }
    return {"r": review, "h": review["headline"], "headline": HEADLINE, "list_limit": LIST_LIMIT, "months": months, "severity": severity, "service": service,
            "trend": trend, "charts": charts, "changes": {c["metric"]: c for c in review["changes"]},
            "generated_at": rfc3339(datetime.now(timezone.utc).replace(microsecond=0))}


def _severity_order(key: str) -> tuple:
    return (SEVERITIES.index(key) if key in SEVERITIES else len(SEVERITIES), key)


def _pivot(rows: list[dict[str, Any]], months: list[str], order=None) -> dict[str, Any]:
    """{keys, values[(month, key)], totals[key], month_totals[month]}; keys by total, most first
    (or by `order`)."""
    totals: dict[str, int] = {}
    values: dict[tuple[str, str], int] = {}
    for r in rows:
        totals[r["key"]] = totals.get(r["key"], 0) + r["incidents"]
        values[(r["month"], r["key"])] = r["incidents"]
    keys = sorted(totals, key=order or (lambda k: (-totals[k], k)))
    month_totals = {m: sum(values.get((m, k), 0) for k in keys) for m in months}
    return {"keys": keys, "values": values, "totals": totals, "month_totals": month_totals}


def _min(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _minutes(trend: dict[str, dict], months: list[str], what: str) -> dict[tuple[str, str], float | None]:
    out = {}
    for m in months:
        row = trend.get(m, {})
        out[(m, "median")] = _min(row.get(f"median_{what}_s"))
        out[(m, "p90")] = _min(row.get(f"p90_{what}_s"))
    return out


def render_csv(review: dict[str, Any]) -> str:
    """One tidy row per figure (period, section, month, dimension, key, metric, value), for a
    spreadsheet or a BI tool; text cells a spreadsheet would run as formulas are defused."""
    label, before = review["period"]["label"], review["previous_period"]["label"]
    rows: list[list[Any]] = []
    for metric, value in review["headline"].items():
        rows.append([label, "headline", "", "", "", metric, value])
    for metric, value in review["previous"].items():
        rows.append([before, "headline", "", "", "", metric, value])
    for dim, by_month in review["by_month"].items():
        for r in by_month:
            rows.append([label, "incidents_by_month", r["month"], dim, r["key"], "incidents", r["incidents"]])
    for dim in ("severity", "service"):
        for r in review["times"][dim]:
            rows += [[label, "times", "", dim, r["key"], m, r[m]] for m in _TIME_FIGURES]
    for dim, rows_ in review["trends"].items():
        for r in rows_:
            rows += [[label, "trend", r["month"], "" if dim == "overall" else dim, r["key"] or "", m, r[m]]
                     for m in _TIME_FIGURES]
    for name in ("repeats", "by_alert", "by_service", "after_addressed"):
        rows.append([label, "repeats", "", "", "", name, review["repeats"][name]])
    for name in ("resolved", "within", "late", "missing", "within_rate"):
        rows.append([label, "drafts", "", "", "", name, review["drafts"][name]])
    for name in ("opened", "closed", "open", "overdue", "closure_rate"):
        rows.append([label, "action_items", "", "", "", name, review["action_items"][name]])
    for a in review["top_alerts"]:
        rows.append([label, "top_alerts", "", "alert", a["alert"], "incidents", a["incidents"]])
    for c in review["changes"]:
        rows.append([label, "change", "", "", "", c["metric"], c["delta"]])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([csv_safe(_cell(v)) for v in row])
    return out.getvalue()


_TIME_FIGURES = ("incidents", "acknowledged", "median_tta_s", "p90_tta_s", "resolved", "median_ttr_s", "p90_ttr_s")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
