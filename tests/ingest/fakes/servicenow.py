"""A fake ServiceNow Table API: /api/now/table/{incident,sys_journal_field,sys_audit}.

As the real one: sysparm_query (`^` AND, `ORDERBY`), sysparm_fields, sysparm_limit,
sysparm_offset; every value a string; times naive "YYYY-MM-DD HH:MM:SS" (the stored
value, UTC, for sysparm_display_value=false; `zone` imitates an instance or dump written
in another zone); paging by a `Link` header with rel="next" and `X-Total-Count`.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from werkzeug import Request, Response

from incident_timeline.ingest.base import Window
from tests.ingest.fakes import Expected, FakeApi, paged

USER, PASSWORD = "svc.timeline", "s3cret-fake-snow-Pa55"
TABLES = ("incident", "sys_journal_field", "sys_audit")
# Reference fields hold a sys_id; the records they point at (the cmdb_ci table, here one CI)
CI_SYS_ID = "0c5f3cecdb2a9010b7f3a1b2c3d4e5f6"
REFERENCED = {CI_SYS_ID: {"name": "checkout-api", "sys_class_name": "cmdb_ci_service"}}
# audit rows: (field, old, new, minutes after opening); the insert audits the first state
AUDITS = (("state", "", "1", 0), ("state", "1", "2", 5), ("assigned_to", "", "ana.ops", 5),
          ("priority", "3", "2", 7), ("work_notes", "", "rolled back to v41", 10), ("state", "2", "6", 90))
JOURNAL = (("work_notes", "rolled back to v41", 10), ("comments", "Service restored, monitoring.", 20))
_CLAUSE = re.compile(r"^([a-z_]+)(>=|<=|!=|<|>|=)(.*)$")


class ServiceNowFake(FakeApi):
    type = "servicenow"
    name = "snow"
    context_streams = frozenset({"incident"})   # listed when they overlap the window
    zone = "UTC"

    def __init__(self, server):
        super().__init__(server)
        self.rows: dict[str, list[dict]] = {t: [] for t in TABLES}
        self.looping = False

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "type": "servicenow", "base_url": self.url("/"),
                "user": "${FAKE_SNOW_USER}", "password": "${FAKE_SNOW_PASSWORD}",
                "timezone": self.zone, "page_size": self.page_size}

    def environment(self) -> dict[str, str]:
        return {"FAKE_SNOW_USER": USER, "FAKE_SNOW_PASSWORD": PASSWORD}

    def populate(self, start: datetime, count: int, spacing: timedelta) -> None:
        for i in range(count):
            opened = start + i * spacing
            sys_id = uuid.UUID(int=0x5000 + i).hex
            self.rows["incident"].append({
                "sys_id": sys_id, "number": f"INC{10001 + i:07d}", "short_description": f"Checkout 5xx ({i})",
                "description": "Error rate above 5% after deploy", "priority": "2", "state": "6",
                "opened_by": "ana.ops", "assigned_to": "ana.ops", "cmdb_ci": CI_SYS_ID,
                "opened_at": opened, "sys_created_on": opened, "resolved_at": opened + timedelta(minutes=90),
                "sys_updated_on": opened + timedelta(minutes=90), "close_notes": "Rolled back"})
            for n, (field, old, new, minutes) in enumerate(AUDITS):
                self.rows["sys_audit"].append({
                    "sys_id": uuid.UUID(int=0xA0000 + i * 100 + n).hex, "documentkey": sys_id,
                    "tablename": "incident", "fieldname": field, "oldvalue": old, "newvalue": new,
                    "user": "ana.ops", "sys_created_on": opened + timedelta(minutes=minutes),
                    "record_checkpoint": str(n)})
            for n, (element, text, minutes) in enumerate(JOURNAL):
                self.rows["sys_journal_field"].append({
                    "sys_id": uuid.UUID(int=0xB0000 + i * 100 + n).hex, "element_id": sys_id,
                    "name": "incident", "element": element, "value": text, "sys_created_by": "ana.ops",
                    "sys_created_on": opened + timedelta(minutes=minutes)})

    def expected(self, window: Window) -> list[Expected]:
        out = [Expected("incident", x["sys_id"], x["opened_at"]) for x in self.rows["incident"]
               if (window.until is None or x["opened_at"] < window.until)
               and (window.since is None or x["sys_updated_on"] >= window.since)]
        for table in ("sys_journal_field", "sys_audit"):
            out += [Expected(table, x["sys_id"], x["sys_created_on"]) for x in self.rows[table]
                    if x["sys_created_on"] in window]
        return out

    def event_times(self, window: Window) -> dict[str, datetime]:
        times = {}
        by_id = {x["sys_id"]: x for x in self.rows["incident"]}
        for e in self.expected(window):
            if e.stream == "incident":
                inc = by_id[e.native_id]
                times[inc["number"]] = inc["opened_at"]
                times[f"{inc['number']}/resolved"] = inc["resolved_at"]
            elif e.stream == "sys_journal_field" or not _is_journal_audit(self.rows["sys_audit"], e.native_id):
                times[e.native_id] = e.at
        return times

    def authorized(self, request: Request) -> bool:
        auth = request.authorization
        return auth is not None and (auth.username, auth.password) == (USER, PASSWORD)

    def reject_auth(self, request: Request) -> Response:
        return self.json({"error": {"message": "User Not Authenticated",
                                    "detail": "Required to provide Auth information"},
                          "status": "failure"}, status=401)

    def loop_pages(self) -> None:
        self.looping = True

    def route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if len(parts) != 4 or parts[:3] != ["api", "now", "table"] or parts[3] not in TABLES:
            return self.json({"error": {"message": "Invalid table", "detail": request.path},
                              "status": "failure"}, status=400)
        rows = self._select(parts[3], request.args.get("sysparm_query", ""))
        limit = int(request.args.get("sysparm_limit", 10000))
        offset = int(request.args.get("sysparm_offset", 0))
        page, more = paged(rows, offset, limit)
        fields = [f for f in request.args.get("sysparm_fields", "").split(",") if f]
        result = [{k: self._text(v) for k, v in row.items() if not fields or k in fields} for row in page]
        # a dot-walked field (cmdb_ci.name) reads the referenced record, as the real API does
        for row, out in zip(page, result):
            for f in (f for f in fields if "." in f):
                ref, _, column = f.partition(".")
                target = REFERENCED.get(str(row.get(ref) or ""))
                if target is not None and column in target:
                    out[f] = target[column]
        links = [f'<{self._link(request, 0)}>;rel="first"']
        if more:
            links.append(f'<{self._link(request, offset if self.looping else offset + limit)}>;rel="next"')
        return self.json({"result": result}, headers={"Link": ",".join(links), "X-Total-Count": str(len(rows))})

    def _select(self, table: str, query: str) -> list[dict]:
        rows, order = list(self.rows[table]), None
        for clause in filter(None, query.split("^")):
            if clause.startswith("ORDERBY"):
                order = clause[len("ORDERBY"):]
                continue
            m = _CLAUSE.match(clause)
            if not m:
                continue
            field, op, value = m.groups()
            rows = [r for r in rows if _compare(self._text(r.get(field, "")), op, value)]
        if order:
            rows.sort(key=lambda r: self._text(r.get(order, "")))
        return rows

    def _text(self, value: Any) -> str:
        if isinstance(value, datetime):
            return value.astimezone(ZoneInfo(self.zone)).strftime("%Y-%m-%d %H:%M:%S")
        return "" if value is None else str(value)

    def _link(self, request: Request, offset: int) -> str:
        query = {**request.args.to_dict(), "sysparm_offset": str(offset)}
        return "https://acme.service-now.com" + request.path + "?" + urlencode(query)


def _compare(left: str, op: str, right: str) -> bool:
    return {"=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[op]


def _is_journal_audit(audits: list[dict], sys_id: str) -> bool:
    return any(a["sys_id"] == sys_id and a["fieldname"] in ("work_notes", "comments") for a in audits)
