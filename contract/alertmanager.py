"""Alertmanager's alert fingerprint, for alerts that arrive without one.

Older Alertmanagers, hand-written payloads and many public examples send alerts with no
`fingerprint`. Ingest needs one for the record's native id and normalize for the alert's
`alert:<fingerprint>` ref, so both compute it here, exactly as Alertmanager does
(prometheus/common model.LabelSet.Fingerprint): FNV-1a 64 over the label set sorted by
name (byte order), each label written as name, 0xff, value, 0xff; printed as 16 lower-case
hex digits (`%016x`). An empty label set gives the FNV offset basis.
"""
from __future__ import annotations

from typing import Any, Mapping

_OFFSET = 0xCBF29CE484222325
_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF
_SEPARATOR = b"\xff"


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """The fingerprint Alertmanager gives an alert with these labels (16 hex digits)."""
    encoded = sorted((name.encode("utf-8", "surrogatepass"), value.encode("utf-8", "surrogatepass"))
                     for name, value in labels.items())
    h = _OFFSET
    for name, value in encoded:
        for byte in name + _SEPARATOR + value + _SEPARATOR:
            h = ((h ^ byte) * _PRIME) & _MASK
    return f"{h:016x}"


def alert_fingerprint(alert: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(fingerprint, computed): the alert's own fingerprint when it has one, else the one
    computed from its labels (computed=True); (None, False) when it has neither a
    fingerprint nor a non-empty object of string labels to compute one from."""
    own = alert.get("fingerprint")
    if own not in (None, ""):
        return str(own), False
    labels = alert.get("labels")
    if not labels_computable(labels):
        return None, False
    return label_fingerprint(labels), True


def labels_computable(labels: Any) -> bool:
    """Whether a fingerprint can be computed from `labels`: a non-empty object of strings
    (an empty set would give every such alert the same fingerprint)."""
    return (isinstance(labels, Mapping) and bool(labels)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()))
