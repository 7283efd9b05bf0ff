"""Property: whatever a record holds, the run exits 0 and every record is events or rejects.

Per source type, realistic records (tests/robustness/sources.py) whose fields, at any
depth, are replaced by arbitrary JSON values (null, booleans, huge integers, floats,
strings with lone surrogates, NUL and line separators, nested lists and objects), or
whose whole item is a string or a list, go through `incident-timeline ingest` over
recorded pages (the connector, the pipeline's raw writer and the normaliser; the CLI's
catalog bookkeeping is left to tests/robustness/test_items.py, ~1 s a run); a file
source gets arbitrary bytes on each line. Each record carries a
marker, found again in raw; every raw row must give events or rejects the lake holds.
"""
from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.robustness.accounting import assert_accounted, run_stages
from tests.robustness.sources import ANCHOR, PROBE, SHAPES, Shape, write_file

ODD = ["\ud800", "\udfff", "\x00", "\u2028", "\ufeff", "\U0001f525", "\\", '"', "<script>", "%s", "'; --"]
texts = st.lists(st.characters() | st.sampled_from(ODD), max_size=6).map("".join)
leaves = (st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30)
          | st.floats(allow_nan=False, allow_infinity=False) | texts
          | st.sampled_from(["", "0", "1760450000.000100", "2025-10-14T14:00:00Z", "2025-10-14 14:00:00"]))
json_values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)
PROPERTY = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def field_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key of every object inside `value` (through lists too), as a path."""
    out: list[tuple] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            out.append(prefix + (key,))
            out += field_paths(inner, prefix + (key,))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            out += field_paths(inner, prefix + (i,))
    return out


def replace(record: Any, path: tuple, value: Any) -> None:
    target = record
    for step in path[:-1]:
        if not isinstance(target, (dict, list)):
            return   # an outer field was replaced already
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(target, dict) or (isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target)):
        target[path[-1]] = value


@st.composite
def changed_record(draw, shape: Shape, stream: str, i: int, marker: str) -> Any:
    record = copy.deepcopy(shape.records[stream](i, marker))   # shared parts (a person) stay intact
    if shape.type != "grafana" and draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([marker, [marker], [marker, {"ts": None}]]))   # not an object at all
    paths = [p for p in field_paths(record) if p[-1] != PROBE and p[0] not in shape.fixed]
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique=True)):
        replace(record, path, draw(json_values))
    return record


@st.composite
def source_items(draw, shape: Shape) -> tuple[dict[str, list], list[str]]:
    """Per stream, 0-2 changed records (plus the intact anchor), and every marker."""
    items: dict[str, list] = {ANCHOR: [shape.records[ANCHOR](0, "MARK-anchor")]}
    markers = ["MARK-anchor"]
    n = 1
    for stream in shape.records:
        if stream == ANCHOR:
            continue
        count = draw(st.integers(0, shape.most.get(stream, 2)))
        items[stream] = []
        for _ in range(count):
            marker = f"MARK-{n:03d}"
            items[stream].append(draw(changed_record(shape, stream, n, marker)))
            markers.append(marker)
            n += 1
    return items, markers


def check_source(shape: Shape, items: dict[str, list], markers: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        entry = shape.write(tmp / "pages", copy.deepcopy(items))
        res, config = run_stages(tmp, entry)
        assert res.error is None
        assert_accounted(tmp, config, markers, shape.entity_streams, shape.no_events)


@pytest.mark.parametrize("source_type", sorted(SHAPES))
def test_any_json_in_any_field_leaves_every_record_events_or_rejects(source_type):
    shape = SHAPES[source_type]

    @PROPERTY
    @given(source_items(shape))
    def run(drawn):
        check_source(shape, *drawn)

    run()


lines = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b""))
                 | st.sampled_from([b'{"time": "2025-10-14 16:00:00", "note": "x", "author": "a", "note_id": "1"}',
                                    b'{"time": 1, "note": "\\ud800", "note_id": "2"}', b"\xff\xfe{}", b"   ",
                                    b"[" * 3000, b'{"note_id": ' + b"9" * 5000 + b"}"]),
                 min_size=1, max_size=6)


@PROPERTY
@given(lines)
def test_any_bytes_on_a_file_line_leave_every_line_events_or_rejects(lines):
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        entry = write_file(tmp / "pages", {ANCHOR: []})
        path = Path(entry["path"])
        content = b"\n".join(lines) + b"\n"
        path.write_bytes(content)
        res, config = run_stages(tmp, entry)
        assert res.error is None
        raw = assert_accounted(tmp, config, [])
        # each line that is not blank is one raw record, named by its file and line
        text = content.decode("utf-8-sig", "surrogateescape")
        wanted = {f"notes.jsonl:{n}" for n, line in enumerate(text.split("\n"), start=1) if line.strip()}
        assert set(raw["parent_id"].to_pylist()) == wanted
        assert raw.num_rows == len(wanted)
