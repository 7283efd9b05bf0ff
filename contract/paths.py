"""A field of a raw record named by a dotted path into nested JSON (`user.name`): the
`file` source's `fields:` and the normaliser read a record's fields the same way."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def dotted(row: Mapping[str, Any], path: str, missing: Any = None) -> Any:
    """`row[path]` when the row has that key as written, else the nested value the dotted
    path names; `missing` when some part of the path is absent or not an object."""
    if path in row:
        return row[path]
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return missing
        value = value[part]
    return value
