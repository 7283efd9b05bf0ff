"""One mapper per source type; MAPPERS is the registry. A source type with a declarative
mapping (normalize.mappings) is read one record at a time by the mapping's oracle."""
from __future__ import annotations

from ..mapping import Mapper
from ..mappings import MAPPINGS
from ..oracle import MappingOracle
from .servicenow import ServiceNowMapper

MAPPERS: dict[str, Mapper] = {}

for _mapper in (ServiceNowMapper(),
                *(MappingOracle(t) for t in MAPPINGS if t != "servicenow")):
    if _mapper.source_type in MAPPERS:
        raise ValueError(f"mapper for {_mapper.source_type!r} registered twice")
    MAPPERS[_mapper.source_type] = _mapper
