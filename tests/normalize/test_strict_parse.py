"""The strict reader takes a payload only where json.loads reads the same values."""
import json

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from normalize.fast import strict
from normalize.fast.strict import parse_strict

S = pa.string()
SCHEMA = pa.schema([("id", S), ("n", pa.int64()), ("obj", pa.struct([("k", S)])), ("tags", pa.list_(S))])


def _expected(payload: str):
    """What json.loads gives for the schema's fields, or None where the reader must refuse."""
    try:
        doc = json.loads(payload, object_pairs_hook=_no_repeats)
    except (ValueError, _Repeated):
        return None
    if not isinstance(doc, dict):
        return None
    obj = doc.get("obj")
    if obj is not None and not isinstance(obj, dict):
        return None
    tags = doc.get("tags")
    checks = [(doc.get("id"), str), (doc.get("n"), int), ((obj or {}).get("k"), str)]
    if any(v is not None and (not isinstance(v, t) or isinstance(v, bool)) for v, t in checks):
        return None
    if tags is not None and not (isinstance(tags, list) and all(t is None or isinstance(t, str) for t in tags)):
        return None
    return {"id": doc.get("id"), "n": doc.get("n"), "obj": None if obj is None else {"k": obj.get("k")},
            "tags": tags}


class _Repeated(Exception):
    pass


def _no_repeats(pairs):
    keys = [k for k, _v in pairs]
    if len(keys) != len(set(keys)):
        raise _Repeated
    return dict(pairs)


def _check(payloads: list) -> tuple[int, int]:
    table, ok = parse_strict(pa.array(payloads, S), SCHEMA)
    assert table.num_rows == len(payloads)
    rows = table.to_pylist()
    taken = 0
    for payload, row, read in zip(payloads, rows, ok):
        expected = _expected(payload) if payload is not None else None
        if read:
            taken += 1
            assert expected is not None, payload      # never takes what json.loads reads otherwise
            assert row == expected, payload
        else:
            assert row == {"id": None, "n": None, "obj": None, "tags": None}
    return taken, len(payloads) - taken


def test_refuses_every_payload_json_loads_reads_differently():
    good = ['{"id": "a", "n": 1, "obj": {"k": "v"}, "tags": ["x"]}', '{"id": "b\\u00e9\\n", "other": [1, {"z": 2}]}',
            '{}', '{"obj": null, "tags": []}', ' {"id": "spaced"} ']
    bad = ['{"id": "a", "id": "b"}',           # repeated key: DuckDB keeps the first, json.loads the last
           '{"obj": {"k": "1", "k": "2"}}',    # ... also inside an object
           '{"id": 5}', '{"n": "5"}', '{"obj": "s"}', '{"id": true}', '{"n": 1.5}',
           '{"id": "x",}', '{broken', '[1]', '"text"', '', None,
           '{"id": "a"}{"id": "b"}',           # two values: json.loads refuses the payload
           '{"id": "\\ud800"}',                # a lone surrogate
           '{"id": "tab\there"}',              # a raw control character inside a string
           '{"id": "nul\\u0000"}',             # a NUL escape: DuckDB's strings cannot hold it
           '{"id": "a",\n"n": 1}']             # one payload on two lines
    payloads = [p for pair in zip(good * 4, bad) for p in pair] + good
    taken, refused = _check(payloads)
    assert taken == len(payloads) - len(bad) and refused == len(bad)


def test_payloads_after_a_refused_one_in_the_same_chunk_are_still_read(monkeypatch):
    monkeypatch.setattr(strict, "CHUNK_ROWS", 8)
    payloads = [json.dumps({"id": str(i)}) if i % 5 else json.dumps({"id": i}) for i in range(40)]
    taken, refused = _check(payloads)
    assert (taken, refused) == (32, 8)


def test_many_refusals_leave_the_rest_of_a_chunk_to_the_mapper(monkeypatch):
    monkeypatch.setattr(strict, "MAX_REFUSALS", 3)
    payloads = [json.dumps({"id": i}) for i in range(10)] + [json.dumps({"id": "ok"})] * 5
    taken, refused = _check(payloads)
    # past three refusals the chunk is given up, the good payloads after them included:
    # refusing more is always safe (the mapper reads them), re-reading without end is not
    assert (taken, refused) == (0, 15)
    monkeypatch.setattr(strict, "MAX_REFUSALS", 32)
    assert _check(payloads) == (5, 10)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["k", "z"]), inner, max_size=2),
    max_leaves=6)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["id", "n", "obj", "tags", "x"]), _json_values, max_size=5),
                min_size=1, max_size=12))
def test_agrees_with_json_loads_on_generated_documents(docs):
    _check([json.dumps(d) for d in docs])


def test_large_payloads_are_read_in_chunks_of_bounded_size(monkeypatch):
    payloads = [json.dumps({"id": "x" * (i * 37 % 500), "n": i}) for i in range(300)] + ['{"id": 1}']
    whole = parse_strict(pa.array(payloads, S), SCHEMA)
    monkeypatch.setattr(strict, "CHUNK_BYTES", 2_000)     # a few payloads a chunk
    chunked = parse_strict(pa.array(payloads, S), SCHEMA)
    assert len(strict._chunks(*_positions_and_sizes(payloads))) > 30
    assert chunked[0].equals(whole[0]) and (chunked[1] == whole[1]).all() and whole[1].sum() == 300


def _positions_and_sizes(payloads):
    import numpy as np

    return np.arange(len(payloads)), np.array([len(p) for p in payloads])
