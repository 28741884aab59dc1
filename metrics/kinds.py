"""The metric kinds that need more than one aggregate over filtered rows, and the plan that groups metrics.

- cumulative: aggregate per period, then a running sum over the periods (restarting at each `grain_to_date`
  period); without a grain, one total from the start of the range (or of the reset period holding its end).
- conversion: per entity, the first time it entered the `base` step in the range (the cohort) and the first
  time it reached the `converted` step; converted = reached, not before entering the base step, and within
  the window when one is set. A deal that reached a later stage is counted at every earlier one (the
  `deal_funnel` table records each stage reached or passed), so a funnel is monotonic by construction.
- per entity (`having`): aggregate per entity first (e.g. orders per person), then count the entities that
  pass the test — the repeat rate on the person id.
- semi-additive (`last`): a level recorded per day (stock on hand) is read at the last day of each period,
  never summed over days.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from metrics.catalog import Catalog
from metrics.compiler import (
    Ask,
    ModelQuery,
    QueryError,
    TableLookup,
    all_of,
    col,
    compile_plain,
    group_values,
    grouped,
    metric_aggregates,
    model_rows,
    period_expr,
    predicate,
)
from metrics.spec import Having, Measure, MetricSpec, ModelSpec


@dataclass(frozen=True)
class Group:
    """Metrics answered by one compiled expression."""

    kind: str
    model: ModelSpec
    time_column: str | None
    metrics: tuple[MetricSpec, ...]


def kind_of(metric: MetricSpec) -> str:
    if metric.type in ("cumulative", "conversion"):
        return metric.type
    if any(m.having for m in metric.measures()):
        return "per_entity"
    if metric.semi_additive:
        return "semi_additive"
    return "plain"


def plan(catalog: Catalog, metrics: list[MetricSpec]) -> list[Group]:
    """The compiled expressions a query needs: plain metrics share one per (model, time column)."""
    groups: dict[tuple, Group] = {}
    for metric in metrics:
        for base in catalog.base_metrics(metric.name):
            kind = kind_of(base)
            time = None if base.snapshot else catalog.time_column(base)
            key = (kind, base.model, time) if kind == "plain" else (kind, base.name)
            group = groups.get(key)
            if group is None:
                groups[key] = Group(kind, catalog.models[base.model], time, (base,))
            elif base not in group.metrics:
                groups[key] = Group(kind, group.model, time, (*group.metrics, base))
    return list(groups.values())


def compile_group(tables: TableLookup, group: Group, ask: Ask) -> ModelQuery:
    """The Ibis expression answering one group of metrics for one ask."""
    if group.kind == "plain":
        return compile_plain(tables, group.model, group.time_column, list(group.metrics), ask)
    (metric,) = group.metrics
    build = {
        "cumulative": compile_cumulative,
        "conversion": compile_conversion,
        "per_entity": compile_per_entity,
        "semi_additive": compile_semi_additive,
    }[group.kind]
    return build(tables, group.model, group.time_column, metric, ask)


def compile_cumulative(
    tables: TableLookup, model: ModelSpec, time_column: str | None, metric: MetricSpec, ask: Ask
) -> ModelQuery:
    cal, reset = ask.calendar, metric.grain_to_date
    if ask.grain is None:
        # One value: the total at the end of the range, from the start of the range or of its reset period.
        lo = cal.period_start(ask.end, reset) if reset and ask.end is not None else ask.start
        return _plain_one(tables, model, time_column, metric, ask, lo)
    lo = cal.period_start(ask.start, reset) if reset and ask.start is not None else ask.start
    rows = model_rows(tables, model, [metric], ask, time_column, start=lo, end=ask.end)
    groups = group_values(rows, model, ask, time_column)
    per_period = grouped(rows, groups, metric_aggregates(rows, metric, ask.params))
    partition = [per_period[k] for k in groups if k != "period"]
    if reset:
        partition.append(period_expr(per_period.period, reset, cal))
    window = ibis.cumulative_window(group_by=partition, order_by=per_period.period)
    running = per_period.mutate(**{metric.name: per_period[metric.name].sum().over(window)})
    if ask.start is not None:
        first = cal.period_start(ask.start, ask.grain)
        running = running.filter(running.period >= ibis.literal(first, type="date"))
    return ModelQuery(model, time_column, (metric,), running, tuple(groups))


def _plain_one(tables, model, time_column, metric, ask: Ask, lo) -> ModelQuery:  # noqa: ANN001
    rows = model_rows(tables, model, [metric], ask, time_column, start=lo, end=ask.end)
    groups = group_values(rows, model, ask, time_column)
    return ModelQuery(
        model, time_column, (metric,), grouped(rows, groups, metric_aggregates(rows, metric, ask.params)), tuple(groups)
    )


def compile_conversion(
    tables: TableLookup, model: ModelSpec, time_column: str | None, metric: MetricSpec, ask: Ask
) -> ModelQuery:
    conv, where = metric.conversion, metric.source_file or metric.name
    if conv is None or time_column is None:
        raise QueryError(f"{where}: a conversion metric needs `conversion` and a time column")
    rows = model_rows(tables, model, [metric], ask, time_column, start=ask.start, end=ask.end)
    base_cond = all_of(predicate(rows, f, where, ask.params) for f in [*metric.filters, *conv.base])
    base_rows = rows.filter(base_cond) if base_cond is not None else rows
    groups = group_values(base_rows, model, ask, time_column)
    entity = col(base_rows, conv.entity, where)
    cohort = base_rows.group_by([*(v.name(k) for k, v in groups.items()), entity.name("_entity")]).aggregate(
        _entered=col(base_rows, time_column).min()
    )
    # The converted side reads every row of the model in scope (conversion may come after the range ends).
    later = model_rows(tables, model, [metric], Ask(ask.scope, params=ask.params), time_column, start=None, end=None)
    conv_cond = all_of(predicate(later, f, where, ask.params) for f in [*metric.filters, *conv.converted])
    later = later.filter(conv_cond) if conv_cond is not None else later
    reached = later.group_by(col(later, conv.entity).name("_conv_entity")).aggregate(
        _reached=col(later, time_column).min()
    )
    joined = cohort.left_join(reached, cohort._entity == reached._conv_entity)
    joined = joined.select(*cohort.columns, "_reached")
    ok = joined._reached.notnull() & (joined._reached >= joined._entered)
    days = ask.params.get(conv.window_param) if conv.window_param else None
    if days is not None:
        ok = ok & (joined._reached <= joined._entered + ibis.interval(days=int(days)))
    aggs = {
        f"{metric.name}__num": joined._entity.nunique(where=ok),
        f"{metric.name}__den": joined._entity.nunique(),
    }
    keys = list(groups)
    expr = joined.group_by(keys).aggregate(**aggs) if keys else joined.aggregate(**aggs)
    return ModelQuery(model, time_column, (metric,), expr, tuple(keys))


def _having_test(value: ir.Value, having: Having) -> ir.BooleanValue:
    bound = ibis.literal(having.value)
    return {
        "eq": value == bound,
        "gt": value > bound,
        "ge": value >= bound,
        "lt": value < bound,
        "le": value <= bound,
    }[having.op]


def compile_per_entity(
    tables: TableLookup, model: ModelSpec, time_column: str | None, metric: MetricSpec, ask: Ask
) -> ModelQuery:
    where = metric.source_file or metric.name
    rows = model_rows(tables, model, [metric], ask, time_column, start=ask.start, end=ask.end)
    groups = group_values(rows, model, ask, time_column)
    parts: dict[str, Measure] = (
        {"num": metric.numerator, "den": metric.denominator} if metric.type == "ratio" else {"value": metric.measure}
    )
    entity = col(rows, next(iter(parts.values())).column or "", where)
    rows = rows.filter(entity.notnull())
    entity = col(rows, next(iter(parts.values())).column or "", where)
    inner_aggs: dict[str, ir.Value] = {}
    for part, measure in parts.items():
        cond = all_of(predicate(rows, f, where, ask.params) for f in [*metric.filters, *measure.filters])
        inner_aggs[f"_in_{part}"] = rows.count(where=cond)
        if measure.having:
            h = Measure(agg=measure.having.agg, column=measure.having.column, filters=measure.filters)
            inner_aggs[f"_h_{part}"] = _inner(rows, h, metric, where, ask)
    inner = rows.group_by([*(v.name(k) for k, v in groups.items()), entity.name("_entity")]).aggregate(**inner_aggs)
    outer: dict[str, ir.Value] = {}
    for part, measure in parts.items():
        ok = inner[f"_in_{part}"] > 0
        if measure.having:
            ok = ok & _having_test(inner[f"_h_{part}"], measure.having)
        name = metric.name if part == "value" else f"{metric.name}__{part}"
        outer[name] = inner.count(where=ok)
    keys = list(groups)
    expr = inner.group_by(keys).aggregate(**outer) if keys else inner.aggregate(**outer)
    return ModelQuery(model, time_column, (metric,), expr, tuple(keys))


def _inner(rows: ir.Table, measure: Measure, metric: MetricSpec, where: str, ask: Ask) -> ir.Value:
    cond = all_of(predicate(rows, f, where, ask.params) for f in [*metric.filters, *measure.filters])
    if measure.agg == "count":
        return rows.count(where=cond)
    method = {"sum": "sum", "count_distinct": "nunique", "mean": "mean", "min": "min", "max": "max"}[measure.agg]
    return getattr(col(rows, measure.column or "", where), method)(where=cond)


def compile_semi_additive(
    tables: TableLookup, model: ModelSpec, time_column: str | None, metric: MetricSpec, ask: Ask
) -> ModelQuery:
    if time_column is None:
        raise QueryError(f"{metric.source_file}: a semi-additive metric needs a time column")
    rows = model_rows(tables, model, [metric], ask, time_column, start=ask.start, end=ask.end)
    groups = group_values(rows, model, ask, time_column)
    time = col(rows, time_column)
    last = time.max().over(group_by=list(groups.values())) if groups else time.max().over()
    marked = rows.mutate(_last_day=last)
    at_last = marked.filter(col(marked, time_column) == marked._last_day)
    groups = group_values(at_last, model, ask, time_column)
    expr = grouped(at_last, groups, metric_aggregates(at_last, metric, ask.params))
    return ModelQuery(model, time_column, (metric,), expr, tuple(groups))
