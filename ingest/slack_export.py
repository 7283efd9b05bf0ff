"""A Slack workspace export: a zip or an unpacked folder.

A zip from the internet is untrusted, and one bad member does not cost the rest of the
workspace. Members are read in memory, never extracted to disk. A member with an absolute
path or `..`, a symbolic link, one larger than `max_member_mb` uncompressed (its header's
size, and again while reading, for a header that lies), one that is damaged or is not the
JSON it should be, is skipped and becomes an `unreadable` record naming it, which
normalize rejects with the reason; everything else is read. In a folder, a symbolic link
that leads outside the export is never followed. Day files are not trusted for time
either (they may be split on Pacific days): every time comes from `ts`.
"""
from __future__ import annotations

import json
import os
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, Mapping

from incident_timeline.contract.unreadable import UNREADABLE

from .base import Connector, RawRecord, Window
from .errors import ConfigError, SourceError
from .timefilter import epoch_time

DEFAULT_MAX_MEMBER_MB = 100   # users.json of a large workspace runs to tens of MB; day files are far smaller
_CHUNK = 1 << 20
LISTINGS = ("channels.json", "groups.json", "mpims.json", "dms.json")


class MemberError(Exception):
    """One member of the export cannot be read: skipped, and reported as a reject."""

    def __init__(self, member: str, reason: str):
        self.member = member
        self.reason = reason
        super().__init__(f"{member}: {reason}")


_NO_ITEM = object()


def unreadable(member: str, reason: str, partition: str = "", item: Any = _NO_ITEM) -> RawRecord:
    """The record normalize rejects for a member (or an item of one) that was skipped: its
    name, why, and the item verbatim when there is one."""
    payload = {"stream": "members", "field": "member", "where": member, "file": member, "error": reason}
    if item is not _NO_ITEM:
        payload["item"] = item
    return RawRecord(UNREADABLE, member, payload, partition, member)


def _unsafe(name: str) -> bool:
    """An absolute path, a drive letter or a `..` part: it would point outside the export."""
    text = name.replace("\\", "/")
    parts = PurePosixPath(text).parts
    return text.startswith("/") or ".." in parts or bool(parts and ":" in parts[0])


class ExportReader:
    """Reads members of a folder or a zip by their relative POSIX path."""

    def __init__(self, source: str, path: Path, max_member_mb: float = DEFAULT_MAX_MEMBER_MB):
        self.source = source
        self.path = path
        self.max_mb = max_member_mb
        self.max_bytes = int(max_member_mb * (1 << 20))
        self.problems: dict[str, str] = {}     # member -> why it was skipped, found when listing
        if not path.exists():
            raise ConfigError(source, f"export not found: {path}")
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise SourceError(source, f"{path.name} is not a readable zip: {exc}") from None
            self._members = self._zip_members()
            self._prefix = self._find_root()
        else:
            self._root = path.resolve()
            self._members = self._folder_members()

    # ---- listing ---------------------------------------------------------------------
    def _zip_members(self) -> dict[str, zipfile.ZipInfo]:
        members = {}
        for info in self._zip.infolist():
            name = info.filename
            if _unsafe(name):
                self.problems[name] = "unsafe path in the export zip (absolute or with ..): skipped, never read"
            elif stat.S_ISLNK(info.external_attr >> 16):
                self.problems[name] = "a symbolic link in the export zip: not followed"
            elif not info.is_dir() and info.file_size > self.max_bytes:
                self.problems[name] = (f"{info.file_size} bytes uncompressed, over the {self._cap()} cap "
                                       "(max_member_mb): not read")
            elif not info.is_dir():
                members[name] = info
        return members

    def _folder_members(self) -> dict[str, Path]:
        """Every file under the folder; a symbolic link is followed only inside it."""
        members: dict[str, Path] = {}
        seen: set[Path] = set()
        stack = [(self.path, "")]
        while stack:
            folder, rel = stack.pop()
            real = folder.resolve()
            if real in seen:
                continue
            seen.add(real)
            with os.scandir(folder) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    name = rel + entry.name
                    if entry.is_symlink():
                        target = Path(entry.path).resolve()
                        if target != self._root and self._root not in target.parents:
                            self.problems[name] = "a symbolic link to outside the export: not followed"
                            continue
                    if entry.is_dir():
                        stack.append((Path(entry.path), name + "/"))
                    elif entry.is_file():
                        members[name] = Path(entry.path)
        return members

    def _find_root(self) -> str:
        names = list(self._members)
        if "channels.json" in names:
            return ""
        for name in names:
            if name.endswith("/channels.json") and name.count("/") == 1:
                return name.rsplit("/", 1)[0] + "/"
        return ""

    def _cap(self) -> str:
        return f"{self.max_mb:g} MB"

    def member(self, name: str) -> str:
        """The name as the export holds it (with the zip's root folder)."""
        return self._prefix + name

    def names(self) -> list[str]:
        return sorted(n[len(self._prefix):] for n in self._members if n.startswith(self._prefix))

    # ---- reading ---------------------------------------------------------------------
    def load(self, name: str, default: Any = None) -> Any:
        """A member's JSON; `default` when the export has no such member. MemberError when
        it is there but cannot be read (too large, damaged, not JSON); SourceError when the
        disk fails."""
        key = self._prefix + name
        if key not in self._members:
            return default
        try:
            data = self._read(key)
        except MemberError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
            # the member's bytes are bad (CRC, truncated, encrypted, an unknown method)
            raise MemberError(key, f"damaged or unreadable: {type(exc).__name__}: {exc}") from None
        except OSError as exc:
            # the disk, not the member: the source fails (its cursor stays) and the next run reads it
            raise SourceError(self.source, f"could not read {key}: {exc}") from None
        try:
            return json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else f"not UTF-8 (byte {exc.start})"
            raise MemberError(key, f"not valid JSON: {why}") from None
        except RecursionError:
            raise MemberError(key, "JSON nested too deep to read") from None

    def _read(self, key: str) -> bytes:
        """At most the cap: whatever the header said, reading stops past it."""
        if self._zip is not None:
            opened = self._zip.open(self._members[key])
        else:
            path = self._members[key]
            if path.stat().st_size > self.max_bytes:
                raise MemberError(key, f"{path.stat().st_size} bytes, over the {self._cap()} cap "
                                  "(max_member_mb): not read")
            opened = open(path, "rb")
        chunks, total = [], 0
        with opened as fh:
            while chunk := fh.read(_CHUNK):
                total += len(chunk)
                if total > self.max_bytes:
                    raise MemberError(key, f"more than the {self._cap()} cap (max_member_mb) uncompressed, "
                                      "more than its header says: not read further")
                chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


class SlackExportConnector(Connector):
    type = "slack_export"
    file_based = True
    api_keys = ("path",)
    optional_keys = ("channels", "max_member_mb")

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        cap = options.get("max_member_mb")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, (int, float)) or cap <= 0):
            return [f"max_member_mb must be a positive number of megabytes, not {cap!r}"]
        return []

    def __init__(self, settings):
        super().__init__(settings)
        self._reader: ExportReader | None = None
        self._listed: list[dict] | None = None
        self._listing_problems: list[RawRecord] = []

    @property
    def reader(self) -> ExportReader:
        if self._reader is None:
            cap = self.settings.get("max_member_mb") or DEFAULT_MAX_MEMBER_MB
            self._reader = ExportReader(self.name, self.settings.path(), float(cap))
        return self._reader

    def _load(self, name: str, partition: str, problems: list[RawRecord]) -> Any:
        try:
            return self.reader.load(name, None)
        except MemberError as exc:
            problems.append(unreadable(exc.member, exc.reason, partition))
            return None

    def _channels(self) -> list[dict]:
        if self._listed is None:
            channels: list[dict] = []
            for listing in LISTINGS:
                found = self._load(listing, "", self._listing_problems)
                if found is not None and not isinstance(found, list):
                    self._listing_problems.append(unreadable(self.reader.member(listing), "not a JSON array"))
                    continue
                for i, channel in enumerate(found or []):
                    if isinstance(channel, dict) and isinstance(channel.get("id"), str) and channel["id"]:
                        channels.append(channel)
                    else:
                        self._listing_problems.append(unreadable(
                            f"{self.reader.member(listing)}#{i}", "a channel without an id", item=channel))
            self._listed = channels
        wanted = set(self.settings.get("channels") or [])
        return [c for c in self._listed if not wanted
                or any(isinstance(c.get(k), str) and c[k] in wanted for k in ("id", "name"))]

    def partitions(self) -> list[str]:
        # "" carries the workspace's users and channels (and the members that were skipped);
        # then one partition per channel.
        return [""] + [c["id"] for c in self._channels()]

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        if partition == "":
            yield from self._workspace()
            return
        channel = next(c for c in self._channels() if c["id"] == partition)
        folder = str(channel.get("name") or channel["id"])
        days = sorted(n for n in self.reader.names()
                      if n.startswith(folder + "/") and n.endswith(".json") and n.count("/") == 1)
        for day in days:
            problems: list[RawRecord] = []
            messages = self._load(day, partition, problems)
            if messages is not None and not isinstance(messages, list):
                problems.append(unreadable(self.reader.member(day), "not a JSON array of messages", partition))
                messages = None
            yield from problems
            yield from self.take("messages", messages or [],
                                 lambda message: self._message(message, partition, window), partition, partition)

    @staticmethod
    def _message(message: dict, channel: str, window: Window) -> RawRecord | None:
        ts = message.get("ts")
        if epoch_time(ts) not in window:
            return None
        return RawRecord("messages", f"{channel}:{ts}", message, channel, channel)

    def _workspace(self) -> Iterator[RawRecord]:
        """Users, channels, and every member skipped (reported by each run that reads the export)."""
        problems: list[RawRecord] = []
        users = self._load("users.json", "", problems)
        for i, user in enumerate(users if isinstance(users, list) else []):
            if isinstance(user, dict) and isinstance(user.get("id"), str) and user["id"]:
                yield from self.take("users", [user], lambda user: RawRecord("users", user["id"], user, ""))
            else:
                problems.append(unreadable(f"{self.reader.member('users.json')}#{i}", "a user without an id",
                                           item=user))
        if users is not None and not isinstance(users, list):
            problems.append(unreadable(self.reader.member("users.json"), "not a JSON array"))
        yield from self.take("channels", self._channels(), lambda listed: RawRecord("channels", listed["id"], listed, ""))
        for member, why in self.reader.problems.items():
            yield unreadable(member, why)
        yield from self._listing_problems
        yield from problems

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
