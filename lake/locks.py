"""Advisory file locks (flock): the kernel drops them when the holder dies, so a lock
left by a killed run is recovered by simply trying again; no stale-pid guessing."""
from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator


class LockBusy(Exception):
    """Another process holds the lock."""

    def __init__(self, what: str, holder: str):
        self.what = what
        self.holder = holder
        super().__init__(f"{what} is busy: another run holds it ({holder}); try again when it has finished")


@contextmanager
def file_lock(path: Path, *, wait_s: float = 0.0, what: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path`; raise LockBusy if it is not free within wait_s."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(what or path.name, _holder(path)) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(),
                                 "since": datetime.now(timezone.utc).isoformat()}).encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
        return f"pid {info.get('pid')}, since {info.get('since')}"
    except (OSError, ValueError):
        return "unknown holder"
