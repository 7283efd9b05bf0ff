"""Vectorised mapping for high-volume streams: source type -> function(raw, ctx) returning
(draft table, the raw rows it declined). Declined rows go through the per-record Mapper."""
from __future__ import annotations

from typing import Callable

import pyarrow as pa

from ..mapping import Context

FastPath = Callable[[pa.Table, Context], "tuple[pa.Table, pa.Table]"]
FAST_PATHS: dict[str, FastPath] = {}


def _register() -> None:
    from .servicenow import servicenow_fast

    FAST_PATHS["servicenow"] = servicenow_fast


_register()
