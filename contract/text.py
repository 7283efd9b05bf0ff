"""Text every stage stores: UTF-8 (and so Arrow and Parquet) cannot hold a lone surrogate,
which json.loads keeps from an escaped "\\ud800"; it is stored as U+FFFD instead."""
from __future__ import annotations

import re
from typing import Any

SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(value: Any) -> Any:
    """Strings with every lone surrogate replaced by U+FFFD (in lists and dicts too)."""
    if isinstance(value, str):
        return SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {k: without_surrogates(v) for k, v in value.items()}
    return value
