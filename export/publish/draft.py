"""What every target publishes, rendered once from the redacted report (export.report.load):
the title, the Confluence storage-format page, the HTML draft, the chart as SVG, the labels
and the short summary a chat message carries."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incident_timeline.export.filters import duration, environment, utc
from incident_timeline.export.render import context, render_html

TEMPLATES = Path(__file__).parent / "templates"
CHART_FILE = "timeline.svg"
# XML 1.0 allows tab, LF, CR and everything from U+0020 but surrogates, U+FFFE and U+FFFF:
# Confluence refuses a page holding any other character
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LABEL = re.compile(r"[^a-z0-9_.-]+")


@dataclass
class Draft:
    incident_id: str
    seed: str
    title: str
    contract: dict[str, Any]
    storage: str            # Confluence storage format
    html: str               # the HTML draft (Google Docs imports it)
    svg: str | None         # the swimlane chart, attached to the Confluence page
    labels: list[str]
    summary: list[str]      # plain text sentences, unescaped: each target escapes for its markup


def xml_text(value: Any) -> Any:
    """Before autoescape: drop the characters no XML document may hold."""
    return _NOT_XML.sub("", value) if isinstance(value, str) else value


def build(report: dict[str, Any]) -> Draft:
    ctx = context(report, None)
    contract = ctx["contract"]
    inc = contract["incident"]
    summary = summary_sentences(contract, report["incident"])
    env = environment(TEMPLATES, autoescape=True)
    env.finalize = xml_text
    storage = env.get_template("confluence.xhtml.j2").render(**ctx, summary=summary, chart_file=CHART_FILE)
    svg = env.get_template("chart.svg.j2").render(**ctx) if ctx["chart"] else None
    return Draft(incident_id=report["incident"]["incident_id"], seed=inc["id"],
                 title=xml_text(f"Post-mortem: {inc['title'] or inc['id']} ({inc['id']})")[:250],
                 contract=contract, storage=storage, html=render_html(report), svg=svg,
                 labels=labels(inc), summary=summary)


def labels(inc: dict[str, Any]) -> list[str]:
    """Confluence labels: lower case, no spaces; the service(s), the severity, the incident id."""
    raw = [*(f"service-{s}" for s in inc["services"]), inc["severity"] and f"severity-{inc['severity']}",
           f"incident-{inc['id']}", "post-mortem"]
    out = []
    for text in filter(None, raw):
        label = _LABEL.sub("-", text.lower()).strip("-")[:255]
        if label and label not in out:
            out.append(label)
    return out


def summary_sentences(contract: dict[str, Any], inc: dict[str, Any]) -> list[str]:
    """The cited summary's sentences when the draft has one (`summary.sentences`), else the
    facts a reader needs first: title, severity, service, detected/resolved, MTTA/MTTR."""
    cited = (contract.get("summary") or {}).get("sentences") if isinstance(contract.get("summary"), dict) else None
    texts = [s.get("text") if isinstance(s, dict) else s for s in cited or []]
    texts = [t.strip() for t in texts if isinstance(t, str) and t.strip()]
    if texts:
        return texts
    meta = contract["incident"]
    services = ", ".join(meta["services"]) or "no service named"
    out = [f"{meta['title'] or meta['id']}: {meta['severity'] or 'severity unknown'} on {services}."]
    out.append(f"Detected {utc(inc.get('detected'), '%Y-%m-%d %H:%M')}, resolved {utc(inc.get('resolved'), '%Y-%m-%d %H:%M')}.")
    out.append(f"Time to acknowledge {duration(inc.get('time_to_acknowledge_s'))}, "
               f"time to resolve {duration(inc.get('time_to_resolve_s'))}.")
    return out
