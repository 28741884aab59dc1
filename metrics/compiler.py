"""Compile metric definitions into one Ibis expression per (model, time column): portable by construction.

The expression filters the model's table by the time range, the caller's scope and the `--where` filters,
adds the period column of the requested grain (from the business calendar) and aggregates every measure of
every requested metric. Scope and filter values enter as typed Ibis literals built from objects — never as
SQL text. The same expression compiles for DuckDB, PostgreSQL and Spark (`ibis.to_sql(expr, dialect=...)`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from core.calendar import BusinessCalendar
from metrics.scope import Scope
from metrics.spec import Filter, Measure, MetricSpec, ModelSpec


class QueryError(ValueError):
    """The query cannot be answered as asked (unknown dimension, bad grain...); the message says what is allowed."""


@dataclass(frozen=True)
class ModelQuery:
    """One compiled query: which metrics it answers and the measure columns each contributes."""

    model: ModelSpec
    time_column: str
    metrics: tuple[MetricSpec, ...]
    expr: ir.Table
    keys: tuple[str, ...]


def measure_names(metric: MetricSpec) -> list[str]:
    """Columns a metric contributes: `name` for simple metrics, `name__num` and `name__den` for ratios."""
    return [f"{metric.name}__num", f"{metric.name}__den"] if metric.type == "ratio" else [metric.name]


def _predicate(table: ir.Table, flt: Filter, where: str) -> ir.BooleanValue:
    if flt.field not in table.columns:
        raise QueryError(f"{where}: filter field {flt.field!r} is not a column of the model")
    col = table[flt.field]
    match flt.op:
        case "eq":
            return col == ibis.literal(flt.value)
        case "ne":
            return col != ibis.literal(flt.value)
        case "in":
            return col.isin([ibis.literal(v) for v in flt.values or []])
        case "not_in":
            return ~col.isin([ibis.literal(v) for v in flt.values or []])
        case "is_null":
            return col.isnull()
        case "not_null":
            return col.notnull()
        case "gt":
            return col > ibis.literal(flt.value)
        case "ge":
            return col >= ibis.literal(flt.value)
        case "lt":
            return col < ibis.literal(flt.value)
        case "le":
            return col <= ibis.literal(flt.value)
    raise QueryError(f"{where}: unknown filter op {flt.op!r}")


def _all(preds: Iterable[ir.BooleanValue]) -> ir.BooleanValue | None:
    out = None
    for pred in preds:
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


def period_expr(col: ir.Value, grain: str, calendar: BusinessCalendar) -> ir.Value:
    """The first day of the `grain` period holding `col`, under the business calendar."""
    day = col.cast("date")
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


def _with_computed(table: ir.Table, model: ModelSpec) -> ir.Table:
    extra = {}
    for name, comp in model.computed.items():
        if comp.op == "days_between":
            extra[name] = table[comp.end].cast("date").delta(table[comp.start].cast("date"), unit="day")
        elif comp.op == "difference":
            extra[name] = table[comp.left] - table[comp.right]
    return table.mutate(**extra) if extra else table


def _aggregate(table: ir.Table, measure: Measure, shared: list[Filter], where: str) -> ir.Value:
    cond = _all(_predicate(table, f, where) for f in [*shared, *measure.filters])
    if measure.agg == "count":
        return table.count(where=cond)
    if measure.column not in table.columns:
        raise QueryError(f"{where}: measure column {measure.column!r} is not a column of the model")
    col = table[measure.column]
    method = {"sum": "sum", "count_distinct": "nunique", "mean": "mean", "min": "min", "max": "max"}[measure.agg]
    return getattr(col, method)(where=cond)


def compile_model(
    table: ir.Table,
    model: ModelSpec,
    time_column: str,
    metrics: list[MetricSpec],
    *,
    scope: Scope,
    by: list[str],
    grain: str | None,
    start: dt.date | None,
    end: dt.date | None,
    where: dict[str, list[str]],
    calendar: BusinessCalendar,
) -> ModelQuery:
    """One aggregate expression answering `metrics` (all of one model and time column) for a scope."""
    base = _with_computed(table, model)
    preds: list[ir.BooleanValue] = []
    scope_pred = scope_predicate(base, model, scope)
    if scope_pred is not None:
        preds.append(scope_pred)
    time = base[time_column]
    preds.append(time.notnull())  # a row without its date belongs to no period
    if start is not None:
        preds.append(time.cast("date") >= ibis.literal(start, type="date"))
    if end is not None:
        preds.append(time.cast("date") <= ibis.literal(end, type="date"))
    for dim, values in where.items():
        spec = model.dimensions.get(dim)
        if spec is None:
            raise QueryError(f"dimension {dim!r} is not allowed for model {model.name}")
        lits = [ibis.literal(str(v)) for v in values]
        pred = base[spec.column].cast("string").isin(lits)
        if spec.id:
            pred = pred | base[spec.id].cast("string").isin(lits)
        preds.append(pred.fill_null(False))
    filtered = base.filter(*preds) if preds else base
    groups: dict[str, ir.Value] = {}
    if grain:
        groups["period"] = period_expr(filtered[time_column], grain, calendar)
    for dim in by:
        spec = model.dimensions.get(dim)
        if spec is None:
            raise QueryError(f"dimension {dim!r} is not allowed for model {model.name}")
        groups[dim] = filtered[spec.column]
        if spec.id:
            groups[f"{dim}_id"] = filtered[spec.id]
    aggs: dict[str, ir.Value] = {}
    for metric in metrics:
        where_label = metric.source_file or metric.name
        if metric.type == "ratio":
            aggs[f"{metric.name}__num"] = _aggregate(filtered, metric.numerator, metric.filters, where_label)
            aggs[f"{metric.name}__den"] = _aggregate(filtered, metric.denominator, metric.filters, where_label)
        else:
            aggs[metric.name] = _aggregate(filtered, metric.measure, metric.filters, where_label)
    expr = (
        filtered.group_by(list(groups.items()) and [v.name(k) for k, v in groups.items()]).aggregate(**aggs)
        if groups
        else filtered.aggregate(**aggs)
    )
    return ModelQuery(model, time_column, tuple(metrics), expr, tuple(groups))
