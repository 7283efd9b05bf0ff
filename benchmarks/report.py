"""The benchmark's table: figures and the ratios between them, with each target met or missed."""
from __future__ import annotations


def table(results: dict) -> str:
    lines = []
    targets = results["targets"]
    if "build" in results:
        lines += _build(results["build"], targets)
    if "ingest" in results:
        lines += _ingest(results["ingest"], targets)
    if results.get("layouts"):
        lines += _layouts(results["layouts"])
    if "normalize" in results:
        lines += _normalize(results["normalize"], targets)
    return "\n".join(lines)


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _build(build: dict, targets: dict) -> list[str]:
    lines = ["build of one incident (correlate + store), median of repeats",
             _row(["lake events", "files", "build s", "x smallest lake", "build CPU s", "peak RSS MB", "naive s",
                   "naive / build", "naive RSS MB"]),
             _row(["---"] * 9)]
    sizes = sorted(build, key=int)
    smallest = build[sizes[0]]["build"]["seconds"]
    for n in sizes:
        b, naive, lake = build[n]["build"], build[n]["naive"], build[n]["lake"]
        lines.append(_row([f"{lake['events']:,}", f"{lake['files']:,}", f"{b['seconds']:.3f}",
                           f"{b['seconds'] / smallest:.2f}", f"{b.get('cpu_seconds', 0):.3f}",
                           f"{b['peak_rss_mb']:.0f}",
                           f"{naive['seconds']:.2f}" if naive else "-",
                           f"{naive['seconds'] / b['seconds']:.1f}x" if naive else "-",
                           f"{naive['peak_rss_mb']:.0f}" if naive else "-"]))
    largest = build[sizes[-1]]["build"]["seconds"]
    lines.append(f"target: build on the largest lake <= {targets['build_10M_s']} s: {largest:.3f} s "
                 f"({_met(largest <= targets['build_10M_s'])}); <= {targets['build_ratio_to_10k']}x the smallest: "
                 f"{largest / smallest:.2f}x ({_met(largest / smallest <= targets['build_ratio_to_10k'])})")
    events = {build[n]["build"]["events"] for n in sizes}
    lines.append(f"the incident has {', '.join(str(e) for e in sorted(events))} events in every lake"
                 + ("" if len(events) == 1 else " (DIFFERENT: the lakes do not hold the same incident)"))
    return lines + [""]


def _ingest(ingest: dict, targets: dict) -> list[str]:
    lines = ["ingest from recorded pages (Slack export) and normalise",
             _row(["case", "records", "ingest s", "CPU s", "records/s", "peak RSS MB", "naive s", "naive RSS MB"]),
             _row(["---"] * 8)]
    peak = 0.0
    for case, r in ingest.items():
        ours, naive = r["ingest"], r["naive"]
        peak = max(peak, ours["peak_rss_mb"])
        lines.append(_row([case, f"{ours['fetched']:,}", f"{ours['seconds']:.2f}", f"{ours.get('cpu_s', 0):.1f}",
                           f"{ours['fetched'] / ours['seconds']:,.0f}", f"{ours['peak_rss_mb']:.0f}",
                           f"{naive['seconds']:.2f}", f"{naive['peak_rss_mb']:.0f}"]))
    lines.append(f"target: peak RSS of ingest <= {targets['ingest_peak_rss_mb']:.0f} MB: {peak:.0f} MB "
                 f"({_met(peak <= targets['ingest_peak_rss_mb'])})")
    return lines + [""]


def _layouts(variants: dict) -> list[str]:
    lines = ["build of one incident on the largest lake cut differently, median of repeats",
             _row(["layout", "files", "build s", "x first", "build CPU s", "x first", "peak RSS MB"]),
             _row(["---"] * 7)]
    first = next(iter(variants.values()))
    for name, b in variants.items():
        lines.append(_row([name, f"{b['files']:,}", f"{b['seconds']:.3f}", f"{b['seconds'] / first['seconds']:.2f}",
                           f"{b['cpu_seconds']:.3f}", f"{b['cpu_seconds'] / first['cpu_seconds']:.2f}",
                           f"{b['peak_rss_mb']:.0f}"]))
    return lines + [""]


def _normalize(norm: dict, targets: dict) -> list[str]:
    if "error" in norm:
        return ["normalise: benchmarks/normalize_bench.py failed:", norm["error"], ""]
    values, x_time = norm.get("values_per_s") or 0, norm.get("x_baseline_time") or 0
    return ["normalise (benchmarks/normalize_bench.py)",
            _row(["what", "rate", "x its per-row baseline"]), _row(["---"] * 3),
            _row(["event times, declared formats", f"{values:,.0f} values/s", f"{x_time:.0f}x"]),
            _row(["whole normaliser (raw records to events)", f"{norm.get('events_per_s') or 0:,.0f} events/s",
                  f"{norm.get('x_baseline_whole') or 0:.1f}x"]),
            _row(["per-row dateutil script (times)", f"{norm.get('baseline_values_per_s') or 0:,.0f} values/s", "1x"]),
            _row(["per-row whole-record script", f"{norm.get('baseline_events_per_s') or 0:,.0f} events/s", "1x"]),
            f"target: >= {targets['normalize_values_per_s']:,} values/s on declared formats "
            f"({_met(values >= targets['normalize_values_per_s'])}), >= {targets['normalize_x_baseline']:.0f}x "
            f"the baseline ({_met(x_time >= targets['normalize_x_baseline'])})", ""]


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"
