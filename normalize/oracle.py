"""A mapping read one record at a time: the test oracle for the compiled query, and the
`Mapper` of its source type for the code that asks a mapper (identity order, entity
streams, the time field a reject names)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping as TMapping

from .mapping import Context, Mapper, RecordError
from .mappings import MAPPINGS, Attrs, Call, Const, Mapping, Or, Parent, Present, Value
from .transforms import MISSING, TRANSFORMS, lookup, render


class MappingOracle(Mapper):
    def __init__(self, source_type: str):
        self.source_type = source_type
        self._build = MAPPINGS[source_type]

    def mapping(self, ctx: Context) -> Mapping:
        return self._build(ctx.spec)

    @property
    def _default(self) -> Mapping:   # the source type's facts; a source may declare another time format
        from .mapping import SourceSpec

        return self._build(SourceSpec(name="", type=self.source_type))

    @property
    def time_format(self) -> str:
        return self._default.time.format

    @property
    def entity_streams(self) -> tuple[str, ...]:
        return self._default.entity_streams

    @property
    def knows_emails(self) -> bool:
        return self._default.knows_emails

    def time_field(self, stream: str, kind: str, payload: Any, ctx: Context) -> str:
        return self.mapping(ctx).time.field

    def map(self, stream: str, payload: TMapping[str, Any], parent_id: str | None,
            ctx: Context) -> Iterable[dict]:
        mapping = self.mapping(ctx)
        if stream not in mapping.streams:
            return super().map(stream, payload, parent_id, ctx)
        if mapping.config_problem:
            raise RecordError(*mapping.config_problem)
        values: dict[str, Any] = {}
        for f in mapping.fields:
            value = lookup(payload, f.column)
            if value is MISSING and f.required:
                raise RecordError(f.column, f"mapped field {f.name} ({f.column}) is missing")
            if f.not_empty and value in (None, ""):
                raise RecordError(f.column, f"mapped field {f.name} ({f.column}) is empty")
            values[f.name] = None if value is MISSING else value
        for value in values.values():
            try:
                str(value)
            except RecursionError:
                raise RecordError("payload", f"{stream} record is nested too deep to read") from None
        for check in mapping.checks:
            if evaluate(check.expr, values, parent_id, ctx) in (None, ""):
                raise RecordError(check.field, check.reason)
        return [{column: evaluate(expr, values, parent_id, ctx) for column, expr in mapping.draft.items()}]


def evaluate(expr: Any, values: TMapping[str, Any], parent_id: str | None, ctx: Context) -> Any:
    if isinstance(expr, Value):
        if expr.as_ == "object":
            return values.get(expr.name)
        return render(values.get(expr.name), expr.as_)
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Parent):
        return parent_id
    if isinstance(expr, Or):
        got = None
        for e in expr.exprs:
            got = evaluate(e, values, parent_id, ctx)
            if got not in (None, ""):
                return got
        return got
    if isinstance(expr, Present):
        got = evaluate(expr.expr, values, parent_id, ctx)
        return evaluate(expr.then if got not in (None, "") else expr.otherwise, values, parent_id, ctx)
    if isinstance(expr, Attrs):
        return {k: evaluate(e, values, parent_id, ctx) for k, e in expr.items}
    if isinstance(expr, Call):
        transform = TRANSFORMS[expr.transform]
        args = [evaluate(a, values, parent_id, ctx) for a in expr.args]
        return transform.python(ctx, *args) if transform.with_ctx else transform.python(*args)
    raise TypeError(f"not a mapping expression: {expr!r}")
