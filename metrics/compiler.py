"""Compile metric definitions into Ibis expressions: portable by construction.

A compiled query reads one model's table (plus its declared many-to-one joins, each de-duplicated by its
stated rule), filters it by the caller's scope, the time range and the `--where` filters, adds the period
column of the requested grain (from the business calendar) and aggregates. Plain simple and ratio metrics
of one model and time column share one expression; cumulative, conversion, per-entity (`having`),
semi-additive and snapshot metrics each get their own (see `metrics.kinds`). Scope, filter and parameter
values enter as typed Ibis literals built from objects — never as SQL text. The same expression compiles for
DuckDB, PostgreSQL and Spark (`metrics.dialects.to_sql`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from core.calendar import BusinessCalendar
from metrics.scope import Scope
from metrics.spec import Filter, Measure, MetricSpec, ModelSpec

TableLookup = Callable[[str], ir.Table]


class QueryError(ValueError):
    """The query cannot be answered as asked (unknown dimension, bad grain...); the message says what is allowed."""


@dataclass(frozen=True)
class Ask:
    """What the caller asks, shared by every compiled expression of one query."""

    scope: Scope
    by: tuple[str, ...] = ()
    grain: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    where: dict[str, list[str]] = field(default_factory=dict)
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelQuery:
    """One compiled query: which metrics it answers and the measure columns each contributes."""

    model: ModelSpec
    time_column: str | None
    metrics: tuple[MetricSpec, ...]
    expr: ir.Table
    keys: tuple[str, ...]


def measure_names(metric: MetricSpec) -> list[str]:
    """Columns a metric contributes: `name`, or `name__num` and `name__den` for ratios and conversions."""
    return [f"{metric.name}__num", f"{metric.name}__den"] if metric.type in ("ratio", "conversion") else [metric.name]


def column_name(ref: str) -> str:
    """The column holding a model reference: `customers.industry` (through a join) is `customers__industry`."""
    return ref.replace(".", "__", 1)


def col(table: ir.Table, ref: str, where: str = "") -> ir.Value:
    name = column_name(ref)
    if name not in table.columns:
        raise QueryError(f"{where or 'query'}: {ref!r} is not a column of the model")
    return table[name]


def _literal(value: Any) -> ir.Value:
    if isinstance(value, dt.datetime):
        return ibis.literal(value, type="timestamp")
    if isinstance(value, dt.date):
        return ibis.literal(value, type="date")
    return ibis.literal(value)


def predicate(table: ir.Table, flt: Filter, where: str, params: dict[str, Any]) -> ir.BooleanValue:
    """One structured filter as a typed predicate (a `param` filter takes the parameter's value)."""
    column = col(table, flt.field, where)
    value, values = flt.value, flt.values
    if flt.param is not None:
        given = params.get(flt.param)
        if given is None:
            raise QueryError(f"{where}: parameter {flt.param!r} has no value (use --param {flt.param}=VALUE)")
        value, values = given, given if isinstance(given, list) else [given]
    match flt.op:
        case "eq":
            return column == _literal(value)
        case "ne":
            return column != _literal(value)
        case "in":
            return column.isin([_literal(v) for v in values or []])
        case "not_in":
            return ~column.isin([_literal(v) for v in values or []])
        case "is_null":
            return column.isnull()
        case "not_null":
            return column.notnull()
        case "gt":
            return column > _literal(value)
        case "ge":
            return column >= _literal(value)
        case "lt":
            return column < _literal(value)
        case "le":
            return column <= _literal(value)
    raise QueryError(f"{where}: unknown filter op {flt.op!r}")


def all_of(preds: Iterable[ir.BooleanValue | None]) -> ir.BooleanValue | None:
    out = None
    for pred in preds:
        if pred is not None:
            out = pred if out is None else out & pred
    return out


def scope_predicate(table: ir.Table, model: ModelSpec, scope: Scope) -> ir.BooleanValue | None:
    """The row-scope predicate of a model, or None for `Scope.all()`. Empty scopes see nothing."""
    if not isinstance(scope, Scope):
        raise TypeError("every metric query needs a metrics.scope.Scope (use Scope.all() deliberately)")
    if scope.everything:
        return None
    cols = model.scope
    parts: list[ir.BooleanValue] = []
    if scope.regions and cols.region and cols.region in table.columns:
        parts.append(table[cols.region].isin([ibis.literal(v) for v in sorted(scope.regions)]))
    if scope.teams and cols.team and cols.team in table.columns:
        parts.append(table[cols.team].isin([ibis.literal(v) for v in sorted(scope.teams)]))
    if scope.reps:
        values = [ibis.literal(v) for v in sorted(scope.reps)]
        if cols.rep and cols.rep in table.columns:
            parts.append(table[cols.rep].isin(values))
        if cols.rep_label and cols.rep_label in table.columns:
            parts.append(table[cols.rep_label].isin(values))
    if not parts:
        return ibis.literal(False)
    out = parts[0]
    for part in parts[1:]:
        out = out | part
    # Rows without any owner (unassigned) never match a restricted scope: NULL isin(...) is not true.
    return out.fill_null(False)


def period_expr(column: ir.Value, grain: str, calendar: BusinessCalendar) -> ir.Value:
    """The first day of the `grain` period holding `column`, under the business calendar."""
    day = column.cast("date")
    if grain == "day":
        return day
    if grain == "week":
        shift = {"monday": 0, "sunday": 1, "saturday": 2}[calendar.week_start]
        if shift == 0:
            return day.truncate("W").cast("date")
        return ((day + ibis.interval(days=shift)).truncate("W") - ibis.interval(days=shift)).cast("date")
    if grain in ("month", "quarter", "year"):
        return day.truncate({"month": "M", "quarter": "Q", "year": "Y"}[grain]).cast("date")
    if grain in ("fiscal_quarter", "fiscal_year"):
        unit = "Q" if grain == "fiscal_quarter" else "Y"
        offset = calendar.fiscal_year_start - 1
        if offset == 0:
            return day.truncate(unit).cast("date")
        shifted = (day - ibis.interval(months=offset)).truncate(unit)
        return (shifted + ibis.interval(months=offset)).cast("date")
    raise QueryError(f"unknown grain {grain!r}; grains: day, week, month, quarter, year, fiscal_quarter, fiscal_year")


def _refs(model: ModelSpec, metrics: Iterable[MetricSpec], ask: Ask) -> set[str]:
    refs = {model.dimensions[d].column for d in [*ask.by, *ask.where] if d in model.dimensions}
    refs |= {model.dimensions[d].id for d in [*ask.by, *ask.where] if d in model.dimensions} - {None}
    for metric in metrics:
        refs |= {f.field for f in metric.all_filters()}
        refs |= {m.column for m in metric.measures() if m.column}
        refs |= {m.having.column for m in metric.measures() if m.having and m.having.column}
        if metric.conversion:
            refs.add(metric.conversion.entity)
    return refs


def with_joins(table: ir.Table, model: ModelSpec, tables: TableLookup, refs: set[str]) -> ir.Table:
    """Left-join the declared dimension tables a query needs, each reduced to one row per key first."""
    for name, join in model.joins.items():
        wanted = sorted({r.split(".", 1)[1] for r in refs if r.startswith(f"{name}.")})
        if not wanted:
            continue
        dim = tables(join.table)
        order = [
            ibis.desc(dim[c]) if join.dedupe.keep == "greatest" else ibis.asc(dim[c]) for c in join.dedupe.order_by
        ]
        keys = list(join.keys.values())
        ranked = dim.mutate(_dedupe_rank=ibis.row_number().over(group_by=[dim[k] for k in keys], order_by=order))
        one = ranked.filter(ranked._dedupe_rank == 0).select(
            **{f"_{name}_k{i}": ranked[k] for i, k in enumerate(keys)},
            **{f"{name}__{c}": ranked[c] for c in wanted},
        )
        conds = [table[f] == one[f"_{name}_k{i}"] for i, f in enumerate(join.keys)]
        joined = table.left_join(one, conds)
        table = joined.select(*table.columns, *[f"{name}__{c}" for c in wanted])
    return table


def with_computed(table: ir.Table, model: ModelSpec, refs: set[str] | None = None) -> ir.Table:
    """The model's computed columns the query refers to (all of them when `refs` is None)."""
    extra = {}
    for name, comp in model.computed.items():
        if refs is not None and name not in refs:
            continue
        if comp.op == "days_between":
            extra[name] = col(table, comp.end).cast("date").delta(col(table, comp.start).cast("date"), unit="day")
        elif comp.op == "difference":
            extra[name] = col(table, comp.left) - col(table, comp.right)
        elif comp.op == "negate":
            extra[name] = -col(table, comp.column)
    return table.mutate(**extra) if extra else table


def model_rows(
    tables: TableLookup,
    model: ModelSpec,
    metrics: Iterable[MetricSpec],
    ask: Ask,
    time_column: str | None,
    *,
    start: dt.date | None,
    end: dt.date | None,
) -> ir.Table:
    """The model's rows this query may read: joined, computed, scoped, in the time range and the --where filters."""
    refs = _refs(model, list(metrics), ask)
    base = with_computed(with_joins(tables(model.table), model, tables, refs), model, refs)
    preds: list[ir.BooleanValue | None] = [scope_predicate(base, model, ask.scope)]
    if time_column is not None:
        time = col(base, time_column)
        preds.append(time.notnull())  # a row without its date belongs to no period
        if start is not None:
            preds.append(time.cast("date") >= ibis.literal(start, type="date"))
        if end is not None:
            preds.append(time.cast("date") <= ibis.literal(end, type="date"))
    for dim, values in ask.where.items():
        spec = model.dimensions.get(dim)
        if spec is None:
            raise QueryError(f"dimension {dim!r} is not allowed for model {model.name}")
        lits = [ibis.literal(str(v)) for v in values]
        pred = col(base, spec.column).cast("string").isin(lits)
        if spec.id:
            pred = pred | col(base, spec.id).cast("string").isin(lits)
        preds.append(pred.fill_null(False))
    cond = all_of(preds)
    return base.filter(cond) if cond is not None else base


def group_values(table: ir.Table, model: ModelSpec, ask: Ask, time_column: str | None) -> dict[str, ir.Value]:
    """The grouping columns of a query: `period` (with a grain), then each dimension and its id."""
    groups: dict[str, ir.Value] = {}
    if ask.grain:
        if time_column is None:
            raise QueryError("this metric is a level as of the data (a snapshot); it has no periods — drop --grain")
        groups["period"] = period_expr(col(table, time_column), ask.grain, ask.calendar)
    for dim in ask.by:
        spec = model.dimensions.get(dim)
        if spec is None:
            raise QueryError(f"dimension {dim!r} is not allowed for model {model.name}")
        groups[dim] = col(table, spec.column)
        if spec.id:
            groups[f"{dim}_id"] = col(table, spec.id)
    return groups


def aggregate(table: ir.Table, measure: Measure, shared: list[Filter], where: str, params: dict) -> ir.Value:
    """One measure as an aggregate over `table`, with its filters as the aggregate's condition."""
    cond = all_of(predicate(table, f, where, params) for f in [*shared, *measure.filters])
    if measure.agg == "count":
        return table.count(where=cond)
    column = col(table, measure.column or "", where)
    method = {"sum": "sum", "count_distinct": "nunique", "mean": "mean", "min": "min", "max": "max"}[measure.agg]
    return getattr(column, method)(where=cond)


def grouped(table: ir.Table, groups: dict[str, ir.Value], aggs: dict[str, ir.Value]) -> ir.Table:
    if groups:
        return table.group_by([v.name(k) for k, v in groups.items()]).aggregate(**aggs)
    return table.aggregate(**aggs)


def metric_aggregates(
    table: ir.Table, metric: MetricSpec, params: dict, applied: tuple[Filter, ...] = ()
) -> dict[str, ir.Value]:
    """A metric's aggregates; `applied` filters are already in the rows' WHERE and are not repeated."""
    where = metric.source_file or metric.name
    shared = [f for f in metric.filters if f not in applied]
    if metric.type == "ratio":
        return {
            f"{metric.name}__num": aggregate(table, metric.numerator, shared, where, params),
            f"{metric.name}__den": aggregate(table, metric.denominator, shared, where, params),
        }
    return {metric.name: aggregate(table, metric.measure, shared, where, params)}


def compile_plain(
    tables: TableLookup, model: ModelSpec, time_column: str | None, metrics: list[MetricSpec], ask: Ask
) -> ModelQuery:
    """One aggregate expression answering plain simple and ratio metrics of one model and time column.

    Filters every metric of the group shares go into the WHERE (fewer rows read; a group holding no such
    row is absent rather than 0); the others become each aggregate's own condition.
    """
    rows = model_rows(tables, model, metrics, ask, time_column, start=ask.start, end=ask.end)
    common = tuple(f for f in metrics[0].filters if all(f in m.filters for m in metrics))
    cond = all_of(predicate(rows, f, model.name, ask.params) for f in common)
    rows = rows.filter(cond) if cond is not None else rows
    groups = group_values(rows, model, ask, time_column)
    aggs: dict[str, ir.Value] = {}
    for metric in metrics:
        aggs.update(metric_aggregates(rows, metric, ask.params, common))
    return ModelQuery(model, time_column, tuple(metrics), grouped(rows, groups, aggs), tuple(groups))
