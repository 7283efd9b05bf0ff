"""Every connector module is registered, and every registered type has a README row."""
from __future__ import annotations

import importlib
import pkgutil
import re

from incident_timeline import ingest
from incident_timeline.ingest.base import Connector
from incident_timeline.ingest.registry import CONNECTORS
from incident_timeline.normalize.oracle import MAPPERS
from tests.support import REPO


def test_every_connector_class_in_ingest_is_registered():
    found = set()
    for info in pkgutil.iter_modules(ingest.__path__):
        module = importlib.import_module(f"incident_timeline.ingest.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Connector) and getattr(obj, "type", None) \
                    and obj.__module__ == module.__name__:
                found.add(obj.type)
    assert found == set(CONNECTORS)


def test_every_type_has_a_mapper_and_a_readme_row():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Sources", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))
    assert set(CONNECTORS) <= rows, f"undocumented: {sorted(set(CONNECTORS) - rows)}"
    assert set(CONNECTORS) <= set(MAPPERS)

