"""ServiceNow Table API: incidents, their journal (work notes, comments) and audit trail.

Every time the Table API returns is a naive "YYYY-MM-DD HH:MM:SS". With
sysparm_display_value=false (what we ask for) it is the stored value, which is UTC; the
source's `timezone:` says which zone it is in when an instance or a dump says otherwise,
and the same zone is used to write the window into the query.

Window semantics: an incident is fetched when it overlaps [since, until) (opened before
`until`, updated at or after `since`): it is context for its journal and audit rows, which
are fetched by their own sys_created_on inside the window, so adjacent windows never
fetch the same entry twice.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from .api import ApiConnector
from .base import PageProblem, RawRecord, Window, items_of
from .errors import SourceError
from .http import HttpClient
from .paging import link_header_next, next_link_pages
from .timefilter import local_time

TABLE = "api/now/table/"
INCIDENT_FIELDS = ("sys_id,number,short_description,description,priority,severity,urgency,impact,state,"
                   "category,cmdb_ci,business_service,assignment_group,assigned_to,opened_by,caller_id,"
                   "opened_at,resolved_at,closed_at,sys_created_on,sys_updated_on,close_code,close_notes,"
                   # the names of the configuration item and service (dot-walked; the fields hold sys_ids)
                   "cmdb_ci.name,business_service.name")
JOURNAL_FIELDS = "sys_id,element,element_id,name,value,sys_created_on,sys_created_by"
AUDIT_FIELDS = "sys_id,documentkey,tablename,fieldname,oldvalue,newvalue,user,sys_created_on,record_checkpoint"
# journal and audit rows hang off incidents; work_notes/comments audit rows repeat the journal
DST_SLACK = timedelta(hours=3)   # more than any zone's DST shift
CHILD_TABLES = (
    ("sys_journal_field", "element_id", "name=incident", JOURNAL_FIELDS),
    ("sys_audit", "documentkey", "tablename=incident", AUDIT_FIELDS),
)


class ServiceNowConnector(ApiConnector):
    type = "servicenow"
    api_keys = ("base_url", "user", "password")
    optional_keys = ("query", "page_size")
    max_page_size = 1000

    def make_client(self) -> HttpClient:
        return HttpClient(self.name, self.settings.get("base_url"),
                          auth=(self.settings.get("user"), self.settings.get("password")))

    @property
    def zone(self) -> str:
        return str(self.settings.get("timezone") or "UTC")

    def _stamp(self, dt: datetime, widen: int) -> str:
        """A UTC bound written as the instance's naive wall time (what its queries compare).

        Wall times repeat or skip around DST changes, so outside UTC the bound is widened
        by DST_SLACK (`widen` is +/-1) and the rows are then placed exactly, one by one,
        by the same rule normalize uses."""
        if self.zone != "UTC":
            dt = dt + widen * DST_SLACK
        return dt.astimezone(ZoneInfo(self.zone)).strftime("%Y-%m-%d %H:%M:%S")

    def _rows(self, table: str, query: str, fields: str) -> Iterator[dict]:
        params = {"sysparm_query": query, "sysparm_fields": fields, "sysparm_limit": self.page_size,
                  "sysparm_offset": 0, "sysparm_display_value": "false",
                  "sysparm_exclude_reference_link": "true"}
        paginate = lambda c, p, q: next_link_pages(c, p, q, next_link=_next_if_more)  # noqa: E731
        for page in self.pages(TABLE + table, params, paginate):
            if isinstance(page, dict) and page.get("result") is None:
                yield PageProblem("result", "the Table API answered without a result list", page)
                continue
            yield from items_of(page, "result", "the Table API's answer")

    def _in(self, window: Window, value: str | None) -> bool:
        return local_time(value, self.zone) in window

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        numbers: dict[str, str | None] = {}

        def incident_record(incident: dict) -> RawRecord | None:
            sys_id = incident["sys_id"]
            record = (RawRecord("incident", sys_id, incident, partition)
                      if self._overlaps(window, incident) else None)
            numbers[sys_id] = incident.get("number") or sys_id
            return record

        yield from self.take("incident", self._rows("incident", self._incident_query(window), INCIDENT_FIELDS),
                             incident_record, partition)
        for table, key, scope, fields in CHILD_TABLES:
            query = "^".join([scope, *self._created_clauses(window), "ORDERBYsys_created_on"])

            def child_record(row: dict, table=table, key=key) -> RawRecord | None:
                if not self._in(window, row.get("sys_created_on")):
                    return None
                parent = row.get(key) or ""
                if parent not in numbers:
                    numbers[parent] = self._number_of(parent) if isinstance(parent, str) else None
                return RawRecord(table, row["sys_id"], row, partition, numbers[parent])

            yield from self.take(table, self._rows(table, query, fields), child_record, partition)

    def _incident_query(self, window: Window) -> str:
        clauses = [str(self.settings.get("query"))] if self.settings.get("query") else []
        if window.until:
            clauses.append(f"opened_at<{self._stamp(window.until, +1)}")
        if window.since:
            clauses.append(f"sys_updated_on>={self._stamp(window.since, -1)}")
        return "^".join(clauses + ["ORDERBYsys_updated_on"])

    def _created_clauses(self, window: Window) -> list[str]:
        out = []
        if window.since:
            out.append(f"sys_created_on>={self._stamp(window.since, -1)}")
        if window.until:
            out.append(f"sys_created_on<{self._stamp(window.until, +1)}")
        return out

    def _overlaps(self, window: Window, incident: dict) -> bool:
        opened = local_time(incident.get("opened_at") or incident.get("sys_created_on"), self.zone)
        updated = local_time(incident.get("sys_updated_on"), self.zone)
        return ((window.until is None or opened is None or opened < window.until)
                and (window.since is None or updated is None or updated >= window.since))

    def _number_of(self, sys_id: str) -> str | None:
        """The INC number of an incident outside this window's list (one lookup, then none)."""
        if not sys_id or self.recorded is not None:
            return None
        rows = [r for r in self._rows("incident", f"sys_id={sys_id}", "sys_id,number") if isinstance(r, dict)]
        return rows[0].get("number") if rows else None

    def _find(self, number: str) -> dict | None:
        if self.recorded is not None:
            for page in self.recorded.pages(TABLE + "incident"):
                for row in items_of(page, "result"):
                    if isinstance(row, dict) and row.get("number") == number:
                        return row
            return None
        rows = [r for r in self._rows("incident", f"number={number}", INCIDENT_FIELDS) if isinstance(r, dict)]
        return rows[0] if rows else None

    def incident_window(self, native_id: str) -> Window | None:
        incident = self._find(native_id)
        if incident is None:
            raise SourceError(self.name, f"incident {native_id} not found")
        start = local_time(incident.get("opened_at") or incident.get("sys_created_on"), self.zone,
                           strict=False)
        end = local_time(incident.get("resolved_at") or incident.get("closed_at"), self.zone, strict=False)
        return Window(start, end)


def _next_if_more(resp: Any, page: Any) -> str | None:
    """Link rel="next", unless the page was empty or the link's offset reaches
    X-Total-Count (instances keep linking past the end)."""
    if not (page.get("result") if isinstance(page, dict) else None):
        return None
    link = link_header_next(resp, page)
    total = resp.headers.get("X-Total-Count")
    if link and total and total.isdigit():
        offset = dict(parse_qsl(urlsplit(link).query)).get("sysparm_offset", "0")
        if offset.isdigit() and int(offset) >= int(total):
            return None
    return link
