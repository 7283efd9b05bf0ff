"""A Slack workspace export: a zip or an unpacked folder.

A zip from the internet is untrusted: a member with an absolute path or `..` is refused,
and members are read in memory, never extracted to disk. Day files are not trusted for
time either (they may be split on Pacific days): every time comes from `ts`.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from .base import Connector, PageProblem, RawRecord, Window
from .errors import ConfigError, SourceError
from .timefilter import epoch_time


class ExportReader:
    """Reads members of a folder or a zip by their relative POSIX path."""

    def __init__(self, source: str, path: Path):
        self.source = source
        self.path = path
        if not path.exists():
            raise ConfigError(source, f"export not found: {path}")
        self._zip = zipfile.ZipFile(path) if path.is_file() else None
        self._prefix = ""
        if self._zip is not None:
            self._check_members()
            self._prefix = self._find_root()

    def _check_members(self) -> None:
        for name in self._zip.namelist():
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                raise SourceError(self.source, f"unsafe member in export zip refused: {name!r}")

    def _find_root(self) -> str:
        names = self._zip.namelist()
        if "channels.json" in names:
            return ""
        for name in names:
            if name.endswith("/channels.json") and name.count("/") == 1:
                return name.rsplit("/", 1)[0] + "/"
        return ""

    def names(self) -> list[str]:
        if self._zip is not None:
            return [n[len(self._prefix):] for n in self._zip.namelist()
                    if n.startswith(self._prefix) and not n.endswith("/")]
        return [p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()]

    def load(self, name: str, default: Any = None) -> Any:
        try:
            if self._zip is not None:
                data = self._zip.read(self._prefix + name)
            else:
                data = (self.path / name).read_bytes()
        except (KeyError, FileNotFoundError):
            return default
        try:
            return json.loads(data)
        except json.JSONDecodeError as exc:
            raise SourceError(self.source, f"{name} is not valid JSON: {exc.msg}") from None


def listed_items(loaded: Any, name: str) -> list:
    """A member that holds a JSON list (users.json, a day's messages); anything else in its
    place is one unreadable record naming the file."""
    if loaded is None:
        return []
    if isinstance(loaded, PageProblem):
        return [loaded]
    if isinstance(loaded, list):
        return loaded
    return [PageProblem("<file>", f"{name} holds {type(loaded).__name__}, not a list", loaded)]


class SlackExportConnector(Connector):
    type = "slack_export"
    native_id = "ts"
    cursor_field = "ts"
    time_format = "slack_ts"
    time_zone = None
    partition_by = "channel"
    file_based = True
    api_keys = ("path",)
    optional_keys = ("channels",)

    def __init__(self, settings):
        super().__init__(settings)
        self._reader: ExportReader | None = None

    @property
    def reader(self) -> ExportReader:
        if self._reader is None:
            self._reader = ExportReader(self.name, self.settings.path())
        return self._reader

    def _channels(self) -> list[dict]:
        channels = []
        for listing in ("channels.json", "groups.json", "mpims.json", "dms.json"):
            channels += listed_items(self._member(listing), listing)
        wanted = set(self.settings.get("channels") or [])
        return [c for c in channels if not isinstance(c, dict) or not wanted
                or any(isinstance(c.get(k), str) and c[k] in wanted for k in ("id", "name"))]

    def partitions(self) -> list[str]:
        # "" carries the workspace's users and channels; then one partition per channel
        # (a listed channel without an id is an unreadable record of "")
        return [""] + [c["id"] for c in self._channels()
                       if isinstance(c, dict) and isinstance(c.get("id"), str)]

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        if partition == "":
            yield from self.take("users", listed_items(self._member("users.json"), "users.json"),
                                 lambda user: RawRecord("users", user["id"], user, ""))
            yield from self.take("channels", self._channels(),
                                 lambda listed: RawRecord("channels", listed["id"], listed, ""))
            return
        channel = next(c for c in self._channels() if isinstance(c, dict) and c.get("id") == partition)
        folder = str(channel.get("name") or channel["id"])
        days = sorted(n for n in self.reader.names()
                      if n.startswith(folder + "/") and n.endswith(".json") and n.count("/") == 1)
        for day in days:
            yield from self.take("messages", listed_items(self._member(day), day),
                                 lambda message: self._message(message, partition, window), partition, partition)

    def _member(self, name: str) -> Any:
        """A member's JSON; one nested deeper than Python reads, or not UTF-8, is one
        unreadable record of that member, not the source's failure."""
        try:
            return self.reader.load(name, [])
        except RecursionError:
            return PageProblem("<file>", f"{name} is JSON nested too deep to read", None)
        except UnicodeDecodeError as exc:
            return PageProblem("<file>", f"{name} is not UTF-8 (byte {exc.start})", None)

    @staticmethod
    def _message(message: dict, channel: str, window: Window) -> RawRecord | None:
        ts = message.get("ts")
        if epoch_time(ts) not in window:
            return None
        return RawRecord("messages", f"{channel}:{ts}", message, channel, channel)

    def close(self) -> None:
        if self._reader is not None and self._reader._zip is not None:
            self._reader._zip.close()
