"""The milestones of an incident, in the order they happen: correlate finds them, the
catalog stores one column each, the drafts show them."""
from __future__ import annotations

MILESTONES = ("started", "detected", "acknowledged", "first_response", "mitigated", "resolved")
