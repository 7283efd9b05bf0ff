"""Recorded mode: the same JSON pages the API returns, read from a folder.

The folder mirrors the API's paths: GET /incidents/Q1/log_entries is
`<path>/incidents/Q1/log_entries.json`, and further pages of it are
`log_entries.page-2.json`, `log_entries.page-3.json`, ... in that order.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from .base import too_deep
from .errors import ConfigError, SourceError

_PAGE_N = re.compile(r"\.page-(\d+)\.json$")


class RecordedPages:
    def __init__(self, source: str, root: Path):
        if not root.is_dir():
            raise ConfigError(source, f"recorded folder not found: {root}")
        self.source = source
        self.root = root

    def files(self, endpoint: str) -> list[Path]:
        base = self.root / endpoint.strip("/")
        first = base.with_name(base.name + ".json")
        more = sorted(base.parent.glob(base.name + ".page-*.json"),
                      key=lambda p: int(_PAGE_N.search(p.name).group(1)))
        return ([first] if first.is_file() else []) + more

    def exists(self, endpoint: str) -> bool:
        return bool(self.files(endpoint))

    def pages(self, endpoint: str, params: dict | None = None, paging: Any = None) -> Iterator[Any]:
        for path in self.files(endpoint):
            text = path.read_text(encoding="utf-8", errors="replace")
            try:
                page = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SourceError(self.source, f"{path.name} is not valid JSON: {exc.msg} "
                                  f"at line {exc.lineno}", page=str(path)) from None
            except RecursionError:
                page = too_deep(path.name, text)
            yield page
