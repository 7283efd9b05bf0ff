"""Any CSV or JSON lines file of notes, with a declared field map and zone.

    - name: notes
      type: file
      path: notes/*.jsonl            # a file or a glob
      timezone: Europe/Berlin        # for naive times
      fields: {ts: time, text: note, actor: author, id: note_id}

Rows are kept verbatim; the mapping is applied by normalize, so a row that lacks a mapped
field is a reject there, never a crash here. A line that cannot be read at all (bad JSON,
more CSV values than columns) becomes an `unreadable` record, which normalize rejects
with its file, line and reason.
"""
from __future__ import annotations

import csv
import glob
import json
import re
from pathlib import Path
from datetime import datetime
from typing import Any, ClassVar, Iterable, Iterator, Mapping

from incident_timeline.contract.paths import dotted
from incident_timeline.contract.times import FORMATS as TIME_FORMATS
from incident_timeline.contract.unreadable import MAX_SHOWN, UNREADABLE

from .base import RECORD_ERRORS, Connector, RawRecord, Window
from .errors import ConfigError
from .timefilter import record_time

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".log": "jsonl"}
# a byte that is not UTF-8, as surrogateescape decodes it (searched in C, not per character)
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
FIELD_NAMES = ("ts", "text", "actor", "id", "title", "kind", "severity", "service", "url", "refs")


def matching_files(source: str, resolved: Path | None, written: str) -> list[Path]:
    """The file, or every file the glob matches, sorted; none is a configuration error."""
    if resolved is None:
        raise ConfigError(source, "path is required")
    if any(ch in written for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(str(resolved), recursive=True) if Path(p).is_file())
    else:
        files = [resolved] if resolved.is_file() else []
    if not files:
        raise ConfigError(source, f"no file matches path {written}")
    return files


def line_records(path: Path, fmt: str = "jsonl") -> Iterator[tuple[int, dict | None, dict | None]]:
    """(line number, row, problem): exactly one of row and problem is set. A line that is
    not UTF-8 is a problem of its own (its bad bytes shown as U+FFFD), never the file's."""
    # surrogateescape: an invalid byte decodes to a lone surrogate, found per line below
    # (an escaped "\ud800" in JSON text is six ASCII characters, never one of these)
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        if fmt == "csv":
            yield from _csv_rows(path, fh)
            return
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            bad = _undecodable(line)
            if bad is not None:
                yield line_no, None, _problem(path, line_no, bad, _replaced(line))
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_no, None, _problem(path, line_no, f"invalid JSON: {exc.msg}", line)
                continue
            except RecursionError:
                yield line_no, None, _problem(path, line_no, "JSON nested too deep to read", line)
                continue
            except ValueError as exc:    # a number of more digits than Python reads
                yield line_no, None, _problem(path, line_no, f"invalid JSON: {exc}", line)
                continue
            if not isinstance(row, dict):
                yield line_no, None, _problem(path, line_no, "not a JSON object", line)
            else:
                yield line_no, row, None


def _csv_rows(path: Path, fh) -> Iterator[tuple[int, dict | None, dict | None]]:
    reader = csv.DictReader(fh, restkey="\x00extra")
    for row in reader:
        line_no = reader.line_num
        extra = row.pop("\x00extra", None)
        bad = next((b for v in [*row.values(), *(extra or ())] if isinstance(v, str)
                    and (b := _undecodable(v)) is not None), None)
        if bad is not None:
            shown = ",".join(_replaced(str(v)) for v in [*row.values(), *(extra or ())])
            yield line_no, None, _problem(path, line_no, bad, shown)
        elif extra is not None:
            shown = ",".join(str(v) for v in row.values()) + "," + ",".join(extra)
            yield line_no, None, _problem(path, line_no, f"{len(extra)} more value(s) than the "
                                          f"{len(reader.fieldnames or [])} columns", shown)
        else:
            yield line_no, row, None


def _undecodable(text: str) -> str | None:
    """Why `text` (read with surrogateescape) is not UTF-8, or None when it is."""
    bad = _ESCAPED_BYTE.search(text)
    if bad is None:
        return None
    return f"invalid UTF-8 (byte 0x{ord(bad.group()) - 0xdc00:02x} at character {bad.start() + 1})"


def _replaced(text: str) -> str:
    """`text` with each byte that was not UTF-8 shown as U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _problem(path: Path, line_no: int, error: str, text: str) -> dict:
    return {"file": path.name, "line": line_no, "error": error, "text": text.strip()[:MAX_SHOWN]}


def placed(items: Iterable[tuple[datetime | None, RawRecord]], window: Window) -> Iterator[RawRecord]:
    """The records inside `window`, in file order. A record whose time cannot be read (an
    unreadable line, a bad time) takes the time of the next line that has one (the
    previous one at the end of the file): it lands in exactly one of adjacent windows, so
    its reject is reported once, not on every run."""
    pending: list[RawRecord] = []
    last: datetime | None = None
    for at, record in items:
        if at is None:
            pending.append(record)
            continue
        if at in window:
            yield from pending
            yield record
        pending, last = [], at
    if pending and last in window:
        yield from pending


class FileConnector(Connector):
    type = "file"
    file_based = True
    optional_keys = ("fields", "format", "time_format", "kind")
    secret_keys = ()
    field_names: ClassVar[tuple[str, ...]] = FIELD_NAMES

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = []
        fields = options.get("fields")
        if not isinstance(fields, Mapping) or not fields.get("ts"):
            problems.append("fields: needs at least `ts: <column>` "
                            "(e.g. {ts: time, text: note, actor: author, id: note_id})")
        else:
            unknown = sorted(set(fields) - set(cls.field_names))
            if unknown:
                problems.append(f"fields: unknown name(s) {', '.join(map(str, unknown))} "
                                f"(known: {', '.join(cls.field_names)})")
        if options.get("format") not in (None, "csv", "jsonl"):
            problems.append(f"format must be csv or jsonl, not {options['format']!r}")
        if options.get("time_format") not in (None, *TIME_FORMATS):
            problems.append(f"time_format must be one of {', '.join(TIME_FORMATS)}, "
                            f"not {options['time_format']!r}")
        return problems

    def _fields(self) -> dict[str, str]:
        problems = self.check_options(self.settings.options)
        if problems:
            raise ConfigError(self.name, "; ".join(problems))
        return {k: str(v) for k, v in self.settings.get("fields").items()}

    def _format(self, path: Path) -> str:
        return self.settings.get("format") or FORMATS.get(path.suffix.lower(), "jsonl")

    def _clock(self) -> tuple[str, str]:
        """The time format and zone a row's time is read in, as normalize will read it."""
        return self.settings.get("time_format") or self.time_format, str(self.settings.get("timezone") or "UTC")

    def _time(self, value: Any) -> datetime | None:
        return record_time(value, *self._clock())

    def fetch(self, partition: str, window: Window) -> Iterator[RawRecord]:
        fields = self._fields()
        for path in matching_files(self.name, self.settings.path(), str(self.settings.get("path"))):
            yield from placed(self._records(path, fields, partition), window)

    def _records(self, path: Path, fields: dict[str, str], partition: str):
        fmt, zone = self._clock()
        id_column, ts_column = fields.get("id"), fields["ts"]
        at: list = []
        where = ""

        def build(row: dict) -> RawRecord:     # one function for every row: `where` is the row's
            native = dotted(row, id_column) if id_column is not None else None
            native = str(native) if native not in (None, "") else where
            at.append(record_time(dotted(row, ts_column), fmt, zone))
            return RawRecord("rows", native, row, partition, where)

        for line_no, row, problem in line_records(path, self._format(path)):
            where = f"{path.name}:{line_no}"
            if problem is not None:
                yield None, RawRecord(UNREADABLE, where, problem, partition, where)
                continue
            # what take() does for a row that raises nothing, without its per-row generator;
            # a row that raises is taken again by take(), which makes it an unreadable record
            try:
                record = build(row)
                record.payload_json()
            except RECORD_ERRORS:
                pass
            else:
                yield at.pop(), record
                continue
            at.clear()
            for record in self.take("rows", [row], build, partition, where):
                yield (at[0] if record.stream == "rows" else None), record
