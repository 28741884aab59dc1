"""The one query API every page, export, alert and CLI call uses: `query(metrics, scope, ...)`.

Base metrics are grouped by (model, time column) and compiled to one Ibis expression each, run on the
snapshot, then joined on the requested dimensions and period. Ratios and derived metrics are computed after
the join; a zero or missing denominator gives no value (None), never inf, NaN or 0. An empty bucket is 0 for
counts and sums and None for ratios. Comparisons re-run the query on the comparison range and join it back.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import operator
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from core.calendar import GRAINS, BusinessCalendar
from core.config import Settings
from core.config import settings as current_settings
from core.warehouse import Snapshot, current_snapshot
from metrics.compiler import QueryError, compile_model
from metrics.scope import Scope
from metrics.spec import Catalog, MetricSpec, derived_inputs, load_catalog

COMPARES = ("previous", "last_year")


@dataclass
class QueryResult:
    """Rows plus everything a reader needs to trust them: as-of time, snapshot, scope, formats."""

    frame: pd.DataFrame
    metrics: list[MetricSpec]
    dimensions: list[str]
    grain: str | None
    start: dt.date | None
    end: dt.date | None
    as_of: dt.datetime
    snapshot_id: str
    scope: Scope
    params: dict[str, Any] = field(default_factory=dict)
    compare: tuple[str, ...] = ()

    def columns(self) -> list[dict[str, str | None]]:
        """Column descriptions for JSON: name, type and format."""
        out: list[dict[str, str | None]] = []
        for col in self.frame.columns:
            base = col.split("__")[0]
            metric = next((m for m in self.metrics if m.name == base), None)
            if metric is not None:
                fmt = "percent" if "__delta_pct" in col else metric.format
                out.append({"name": col, "type": "number", "format": fmt})
            elif col == "period":
                out.append({"name": col, "type": "date", "format": None})
            else:
                out.append({"name": col, "type": "string", "format": None})
        return out

    def records(self) -> list[dict[str, Any]]:
        """Rows as JSON-safe dicts: None for no value (never NaN or Infinity)."""
        rows = []
        for record in self.frame.to_dict(orient="records"):
            clean = {}
            for key, value in record.items():
                clean[key] = _json_value(value)
            rows.append(clean)
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "snapshot_id": self.snapshot_id,
            "scope": self.scope.label,
            "params": self.params,
            "columns": self.columns(),
            "rows": self.records(),
        }

    def total(self, metric: str) -> float | None:
        """The single value of a metric in a result without dimensions or grain."""
        if len(self.frame) != 1:
            raise ValueError("total() needs a result with one row (no --by, no --grain)")
        return _json_value(self.frame.iloc[0][metric])


def _json_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):
        return _json_value(value.item())
    return value


def _time_column(metric: MetricSpec, catalog: Catalog) -> str:
    return metric.time or catalog.models[metric.model].time


def _validate(
    catalog: Catalog,
    names: list[str],
    by: list[str],
    where: dict[str, list[str]],
    grain: str | None,
    compare: tuple[str, ...],
    params: dict[str, Any],
) -> list[MetricSpec]:
    metrics = [catalog.metric(n) for n in names]
    if grain is not None and grain not in GRAINS:
        raise QueryError(f"unknown grain {grain!r}; grains: {', '.join(GRAINS)}")
    for kind in compare:
        if kind not in COMPARES:
            raise QueryError(f"unknown comparison {kind!r}; comparisons: {', '.join(COMPARES)}")
    for metric in metrics:
        allowed = catalog.allowed_dimensions(metric.name)
        for dim in [*by, *where]:
            if dim not in allowed:
                raise QueryError(
                    f"dimension {dim!r} is not allowed for metric {metric.name}; allowed: {', '.join(allowed)}"
                )
    declared = {k for m in metrics for b in catalog.base_metrics(m.name) for k in (*m.params, *b.params)}
    unknown = sorted(set(params) - declared)
    if unknown:
        raise QueryError(
            f"unknown parameter(s) {', '.join(unknown)}; parameters: {', '.join(sorted(declared)) or 'none'}"
        )
    return metrics


def _run_models(
    snapshot: Snapshot,
    catalog: Catalog,
    metrics: list[MetricSpec],
    scope: Scope,
    by: list[str],
    grain: str | None,
    start: dt.date | None,
    end: dt.date | None,
    where: dict[str, list[str]],
    calendar: BusinessCalendar,
) -> pd.DataFrame:
    groups: dict[tuple[str, str], list[MetricSpec]] = {}
    for metric in metrics:
        for base in catalog.base_metrics(metric.name):
            key = (base.model, _time_column(base, catalog))
            if base not in groups.setdefault(key, []):
                groups[key].append(base)
    cursor = snapshot.cursor()
    backend = ibis.duckdb.from_connection(cursor)
    frames: list[pd.DataFrame] = []
    keys: list[str] = (["period"] if grain else []) + [k for d in by for k in _dim_keys(catalog, metrics, d)]
    try:
        for (model_name, time_col), bases in groups.items():
            model = catalog.models[model_name]
            compiled = compile_model(
                backend.table(model.table),
                model,
                time_col,
                bases,
                scope=scope,
                by=by,
                grain=grain,
                start=start,
                end=end,
                where=where,
                calendar=calendar,
            )
            frame = backend.execute(compiled.expr)
            frames.append(_normalise_keys(frame, keys))
    finally:
        cursor.close()
    if not frames:
        return pd.DataFrame(columns=keys)
    out = frames[0]
    for frame in frames[1:]:
        out = out.merge(frame, on=keys, how="outer") if keys else pd.concat([out, frame], axis=1)
    return out


def _dim_keys(catalog: Catalog, metrics: list[MetricSpec], dim: str) -> list[str]:
    """`dim`, plus `dim_id` when every model the metrics read has an id for it."""
    ids = []
    for metric in metrics:
        for base in catalog.base_metrics(metric.name):
            ids.append(catalog.models[base.model].dimensions[dim].id is not None)
    return [dim, f"{dim}_id"] if ids and all(ids) else [dim]


def _normalise_keys(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    if "period" in frame.columns:
        frame["period"] = pd.to_datetime(frame["period"]).dt.date
    extra = [c for c in frame.columns if c.endswith("_id") and c not in keys]
    frame = frame.drop(columns=extra)
    for key in keys:
        if key != "period" and key in frame.columns:
            frame[key] = frame[key].astype(object).where(frame[key].notna(), None)
    return frame


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: None}


def _evaluate(expr: str, values: dict[str, pd.Series]) -> pd.Series:
    """Evaluate a derived metric's arithmetic on columns; division by zero or by nothing gives None."""
    tree = ast.parse(expr, mode="eval").body

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return values[node.id].astype("float64")
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.UnaryOp):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Div):
                if isinstance(right, pd.Series):
                    right = right.where(right != 0)
                elif right == 0:
                    right = float("nan")
                return left / right
            return _OPS[type(node.op)](left, right)
        raise QueryError(f"unsupported expression {expr!r}")

    return walk(tree)


def _finish(frame: pd.DataFrame, catalog: Catalog, metrics: list[MetricSpec], keys: list[str]) -> pd.DataFrame:
    """Turn measure columns into metric values, in the requested order."""
    out = frame.copy()
    bases = {b.name: b for m in metrics for b in catalog.base_metrics(m.name)}
    for base in bases.values():
        if base.type == "ratio":
            num, den = out[f"{base.name}__num"].astype("float64"), out[f"{base.name}__den"].astype("float64")
            out[base.name] = (num.fillna(0) / den.where(den != 0)).where(den.notna())
        elif (
            base.format in ("money", "count")
            and base.measure
            and base.measure.agg in ("sum", "count", "count_distinct")
        ):
            out[base.name] = out[base.name].astype("float64").fillna(0)
        else:
            out[base.name] = out[base.name].astype("float64")
    for metric in metrics:
        if metric.type == "derived":
            inputs = {n: out[n] for n in derived_inputs(metric.expr or "")}
            out[metric.name] = _evaluate(metric.expr or "", inputs)
    columns = keys + [m.name for m in metrics]
    out = out[columns]
    for metric in metrics:
        if metric.format == "count":
            out[metric.name] = out[metric.name].round().astype("Int64")
    if keys:
        out = out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
    return out


def data_range(snapshot: Snapshot, catalog: Catalog, metric: MetricSpec) -> tuple[dt.date | None, dt.date | None]:
    """First and last date of a metric's time column in the snapshot (for comparisons without a range)."""
    base = catalog.base_metrics(metric.name)[0]
    model = catalog.models[base.model]
    cursor = snapshot.cursor()
    try:
        backend = ibis.duckdb.from_connection(cursor)
        table = backend.table(model.table)
        col = table[_time_column(base, catalog)].cast("date")
        row = backend.execute(table.aggregate(lo=col.min(), hi=col.max()))
    finally:
        cursor.close()
    lo, hi = row.iloc[0]["lo"], row.iloc[0]["hi"]
    return (None if pd.isna(lo) else pd.Timestamp(lo).date(), None if pd.isna(hi) else pd.Timestamp(hi).date())


def query(
    metrics: list[str] | str,
    scope: Scope,
    *,
    by: list[str] | None = None,
    grain: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    where: dict[str, list[str]] | None = None,
    compare: tuple[str, ...] | list[str] = (),
    params: dict[str, Any] | None = None,
    settings: Settings | None = None,
    snapshot: Snapshot | None = None,
    catalog: Catalog | None = None,
) -> QueryResult:
    """Answer metrics for one scope. `scope` is required: pass `Scope.all()` deliberately for every row.

    Dates are inclusive business-calendar days. `by` lists dimensions (CONTRACTS.md names); `grain` adds a
    `period` column; `where` maps a dimension to accepted labels or ids; `compare` adds `__previous`,
    `__delta`, `__delta_pct` (or `__last_year`...) columns.
    """
    if not isinstance(scope, Scope):
        raise TypeError("query() needs a metrics.scope.Scope; use Scope.all() to ask for every row deliberately")
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    by, where, params = list(by or []), dict(where or {}), dict(params or {})
    compare = tuple(compare)
    cfg = settings or current_settings()
    catalog = catalog or load_catalog()
    specs = _validate(catalog, names, by, where, grain, compare, params)
    snapshot = snapshot or current_snapshot(cfg.data_dir)
    calendar = BusinessCalendar.from_settings(cfg.business)
    keys = (["period"] if grain else []) + [k for d in by for k in _dim_keys(catalog, specs, d)]
    raw = _run_models(snapshot, catalog, specs, scope, by, grain, start, end, where, calendar)
    frame = _finish(raw, catalog, specs, keys)
    if grain:
        frame.insert(1, "period_label", [calendar.period_label(p, grain) for p in frame["period"]])
    for kind in compare:
        frame = _add_comparison(
            frame, kind, snapshot, catalog, specs, scope, by, grain, start, end, where, calendar, keys
        )
    return QueryResult(frame, specs, by, grain, start, end, snapshot.published_at, snapshot.id, scope, params, compare)


def _add_comparison(
    frame: pd.DataFrame,
    kind: str,
    snapshot: Snapshot,
    catalog: Catalog,
    specs: list[MetricSpec],
    scope: Scope,
    by: list[str],
    grain: str | None,
    start: dt.date | None,
    end: dt.date | None,
    where: dict[str, list[str]],
    calendar: BusinessCalendar,
    keys: list[str],
) -> pd.DataFrame:
    if start is None or end is None:
        lo, hi = data_range(snapshot, catalog, specs[0])
        start, end = start or lo, end or hi
        if start is None or end is None:
            return frame
    if kind == "previous":
        if grain:
            c_start = calendar.period_start(start, grain)
            c_start = calendar.period_start(c_start - dt.timedelta(days=1), grain)
            c_end = calendar.period_start(end, grain) - dt.timedelta(days=1)
        else:
            c_start, c_end = calendar.previous_range(start, end)
    else:
        c_start, c_end = calendar.last_year_range(start, end, grain)
    raw = _run_models(snapshot, catalog, specs, scope, by, grain, c_start, c_end, where, calendar)
    other = _finish(raw, catalog, specs, keys)
    if grain:
        if kind == "previous":
            other["period"] = [calendar.next_period(p, grain) for p in other["period"]]
        elif grain in ("day", "week"):
            other["period"] = [p + dt.timedelta(days=364) for p in other["period"]]
        else:
            other["period"] = [calendar.period_start(_plus_year(p), grain) for p in other["period"]]
    suffix = "previous" if kind == "previous" else "last_year"
    rename = {m.name: f"{m.name}__{suffix}" for m in specs}
    other = other.rename(columns=rename)[keys + list(rename.values())]
    merged = frame.merge(other, on=keys, how="left") if keys else pd.concat([frame, other], axis=1)
    for metric in specs:
        cur = merged[metric.name].astype("float64")
        prev = merged[f"{metric.name}__{suffix}"].astype("float64")
        if metric.format in ("money", "count") and metric.type == "simple":
            prev = prev.fillna(0)
            merged[f"{metric.name}__{suffix}"] = prev
        tail = "" if kind == "previous" else "_last_year"
        merged[f"{metric.name}__delta{tail}"] = cur - prev
        merged[f"{metric.name}__delta_pct{tail}"] = (cur - prev) / prev.abs().where(prev != 0)
    return merged


def _plus_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)
