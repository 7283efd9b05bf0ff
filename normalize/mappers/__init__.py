"""One mapper per source type; MAPPERS is the registry."""
from __future__ import annotations

from ..mapping import Mapper
from .jira import JiraMapper
from .pagerduty import PagerDutyMapper
from .slack import SlackExportMapper, SlackMapper

MAPPERS: dict[str, Mapper] = {}

for _mapper in (PagerDutyMapper(), SlackMapper(), SlackExportMapper(), JiraMapper()):
    if _mapper.source_type in MAPPERS:
        raise ValueError(f"mapper for {_mapper.source_type!r} registered twice")
    MAPPERS[_mapper.source_type] = _mapper
