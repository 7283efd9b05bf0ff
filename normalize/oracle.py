"""A mapping read one record at a time: the test oracle for the compiled query, and the
`Mapper` of its source type for the code that asks a mapper (identity order, entity
streams, the time field a reject names)."""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping as TMapping

from .mapping import Context, Mapper, RecordError
from .mappings import MAPPINGS, Attrs, Call, Const, Json, Mapping, OmitNone, Or, Parent, Present, Value
from .transforms import MISSING, TRANSFORMS, lookup, render


_SHAPES = (AttributeError, KeyError, TypeError, ValueError, IndexError, OverflowError, RecursionError)


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
        mapping = self.mapping(ctx)
        rules = [r for r in mapping.rules if stream in r.streams]
        rule = next((r for r in rules if r.draft.get("kind") == Const(kind)), rules[0] if rules else None)
        named = rule.time_field if rule else None
        if named is not None and not isinstance(named, str):
            try:
                named = evaluate(named, _read(payload, [f for f in rule.fields if not f.of_item], stream), None, ctx)
            except (RecordError, *_SHAPES):
                named = None
        return named or mapping.time.field

    def map(self, stream: str, payload: TMapping[str, Any], parent_id: str | None,
            ctx: Context) -> Iterable[dict]:
        mapping = self.mapping(ctx)
        rules = [r for r in mapping.rules if stream in r.streams]
        if not rules:
            return super().map(stream, payload, parent_id, ctx)
        if mapping.config_problem:
            raise RecordError(*mapping.config_problem)
        return [draft for rule in rules for draft in self._map_rule(rule, stream, payload, parent_id, ctx)]

    def _map_rule(self, rule, stream: str, payload: TMapping[str, Any], parent_id: str | None,
                  ctx: Context) -> list[dict]:
        values = _read(payload, [f for f in rule.fields if not f.of_item], stream)
        for check in rule.checks:
            if evaluate(check.expr, values, parent_id, ctx) in (None, ""):
                raise RecordError(check.field, check.reason)
        if rule.each is None:
            return _kept(rule, values, parent_id, ctx)
        items = lookup(payload, rule.each)
        if items is not MISSING and items and not (isinstance(items, list) and all(isinstance(i, dict) for i in items)):
            raise RecordError(rule.each, "not a list of objects")
        drafts = []
        for item in items if isinstance(items, list) else ():
            drafts += _kept(rule, {**values, **_read(item, [f for f in rule.fields if f.of_item], stream)},
                            parent_id, ctx)
        return drafts


def _read(row: TMapping[str, Any], fields, stream: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields:
        value = lookup(row, f.column, f.flat)
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
    return values


def _kept(rule, values, parent_id, ctx) -> list[dict]:
    """The draft, unless the rule's `keep` says the record (item) gives none."""
    draft = {column: evaluate(expr, values, parent_id, ctx) for column, expr in rule.draft.items()}
    if rule.keep is not None and evaluate(rule.keep, values, parent_id, ctx) in (None, ""):
        return []
    return [draft]


def evaluate(expr: Any, values: TMapping[str, Any], parent_id: str | None, ctx: Context) -> Any:
    """An expression's value; every part of it is evaluated (as the compiled query does),
    so a transform that fails, fails on both paths."""
    if isinstance(expr, Value):
        if expr.as_ == "object":
            return values.get(expr.name)
        return render(values.get(expr.name), expr.as_)
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Parent):
        return parent_id
    if isinstance(expr, Or):
        got = [evaluate(e, values, parent_id, ctx) for e in expr.exprs]
        return next((g for g in got if g not in (None, "")), got[-1])
    if isinstance(expr, Present):
        got, then, otherwise = (evaluate(e, values, parent_id, ctx) for e in (expr.expr, expr.then, expr.otherwise))
        return then if got not in (None, "") else otherwise
    if isinstance(expr, Attrs):
        got = {k: evaluate(e.expr if isinstance(e, OmitNone) else e, values, parent_id, ctx) for k, e in expr.items}
        return {k: v for k, v in got.items() if v is not None or not isinstance(dict(expr.items)[k], OmitNone)}
    if isinstance(expr, Json):
        got = evaluate(expr.expr, values, parent_id, ctx)
        return None if got is None else json.loads(got)
    if isinstance(expr, Call):
        transform = TRANSFORMS[expr.transform]
        args = [evaluate(a, values, parent_id, ctx) for a in expr.args]
        return transform.python(ctx, *args) if transform.with_ctx else transform.python(*args)
    raise TypeError(f"not a mapping expression: {expr!r}")


# source type -> its mapping read one record at a time
MAPPERS: dict[str, Mapper] = {source_type: MappingOracle(source_type) for source_type in MAPPINGS}
