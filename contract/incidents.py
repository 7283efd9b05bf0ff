"""Facts about incidents that correlation (the catalog's views) and export (the periodic
review) both state: written once here."""
from __future__ import annotations

REPEAT_WINDOW_DAYS = 30      # an incident repeats an earlier one detected at most this long before it
DRAFT_WITHIN_H = 48          # the seeds' target: a first post-mortem draft within 48 h of resolution
