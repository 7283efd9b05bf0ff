"""Progress bars on a terminal (tqdm), nothing at all under cron or in a pipe."""
from __future__ import annotations

import sys

from tqdm import tqdm


class RecordBars:
    """One counter per source, updated with the running total of records fetched."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bars: dict[str, tqdm] = {}

    def update(self, source: str, total: int) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(source)
        if bar is None:
            bar = self.bars[source] = tqdm(desc=source, unit=" records", position=len(self.bars),
                                           leave=False, file=sys.stderr, dynamic_ncols=True)
        bar.update(total - bar.n)

    def __enter__(self) -> "RecordBars":
        return self

    def __exit__(self, *_exc) -> None:
        for bar in self.bars.values():
            bar.close()
