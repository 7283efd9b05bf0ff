"""The incidents the review tests run on: two quarters of one small company's incidents.

2026-Q2: og-a (checkout, alert fp-a, its one action item closed), og-b (search).
2026-Q3: og-1 repeats og-a's alert after its item was closed, built from its channel as well as
its identity (one incident), leaves an item overdue, drafted late; og-2 repeats og-1; og-3 names
two services and was never acknowledged; og-4 repeats og-3's alert, whose item was closed only
after og-4 fired (not a repeat after the fix), and has no draft; og-5 opens
at 23:59 on the period's last day and is not resolved; og-6 has hostile text for a title and a
service; og-7 opens on the first instant of the next period (outside)."""
from __future__ import annotations

from datetime import date, datetime, timezone

from tests.export.review_lakes import Item, Spec

U = timezone.utc
AS_OF = date(2026, 10, 15)
Q3 = (datetime(2026, 7, 1, tzinfo=U), datetime(2026, 10, 1, tzinfo=U))
Q2 = (datetime(2026, 4, 1, tzinfo=U), datetime(2026, 7, 1, tzinfo=U))
HOSTILE_TITLE = "<script>document.title='PWNED'</script> & \"checkout\" | `x` [link](javascript:alert(1))"
HOSTILE_SERVICE = "=HYPERLINK(1)<svg onload=alert(1)>"
LEAKED = "ghp_R2d2C3p0Luke5kyw4lkerHan50loCh3wbacca"     # a GitHub token someone pasted into a ticket

SPECS = [
    Spec("og-a", "checkout", "SEV2", datetime(2026, 6, 20, 10, tzinfo=U), 120, 3600, alert="fp-a",
         items=(Item("OPS-1", "Done", closed_at=datetime(2026, 6, 25, tzinfo=U)),), draft_after_h=5, title="checkout 5xx after deploy"),
    Spec("og-b", "search", "SEV3", datetime(2026, 5, 3, 8, tzinfo=U), 600, 5400, draft_after_h=30,
         title="search latency"),
    Spec("og-1", "checkout", "SEV1", datetime(2026, 7, 5, 10, tzinfo=U), 300, 7200, alert="fp-a",
         items=(Item("OPS-2", "In Progress", due=date(2026, 8, 1), owner="Evan Ruiz", title="add a canary"),
                Item("OPS-3", "Done", closed_at=datetime(2026, 7, 10, tzinfo=U))),
         draft_after_h=60, title="checkout 5xx again", seeds=("slack:COG1", "opsgenie:og-1")),
    Spec("og-2", "checkout", "SEV2", datetime(2026, 7, 22, 14, tzinfo=U), 90, 2400, alert="fp-a",
         items=(Item("OPS-5", "Done", closed_at=datetime(2026, 9, 20, tzinfo=U)),), draft_after_h=2, title="checkout errors"),
    Spec("og-3", "search", "SEV3", datetime(2026, 8, 9, 10, tzinfo=U), None, 1800, alert="fp-b",
         items=(Item("OPS-4", "Done", closed_at=datetime(2026, 9, 10, tzinfo=U)),),
         extra_services=("checkout",), draft_after_h=1, title="search and checkout slow"),
    Spec("og-4", "payments", "SEV2", datetime(2026, 9, 2, 9, tzinfo=U), 45, 10800, alert="fp-b",
         items=(Item("OPS-6", "Open", due=date(2026, 12, 1), title=f"rotate the leaked key {LEAKED}"),),
         title="payments queue"),
    Spec("og-5", "payments", "SEV4", datetime(2026, 9, 30, 23, 59, tzinfo=U), 30, None, title="payments lag"),
    Spec("og-6", HOSTILE_SERVICE, "SEV4", datetime(2026, 8, 15, 12, tzinfo=U), 60, 600, draft_after_h=47,
         title=HOSTILE_TITLE),
    Spec("og-7", "checkout", "SEV1", datetime(2026, 10, 1, tzinfo=U), 60, 600, alert="fp-a", draft_after_h=1,
         title="next quarter"),
]
