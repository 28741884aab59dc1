"""The one query API every page, export, alert and CLI call uses: `query(metrics, scope, ...)`.

Base metrics are planned into compiled Ibis expressions (`metrics.kinds.plan`), run on the snapshot, then
joined on the requested dimensions and period. Ratios, conversions and derived metrics are computed after the
join; a zero or missing denominator gives no value (None), never inf, NaN or 0. An empty bucket is 0 for
counts and sums and None for ratios. Comparisons (`metrics.compare`) re-run the query on another range and
join it back. `run_metrics` is the same computation on any Ibis backend (DuckDB, PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from typing import Any

import ibis
import pandas as pd

from core.calendar import GRAINS, BusinessCalendar
from core.config import Settings
from core.config import settings as current_settings
from core.warehouse import Snapshot, current_snapshot
from metrics.catalog import Catalog, load_catalog
from metrics.compiler import Ask, QueryError
from metrics.finish import finish
from metrics.kinds import compile_group, plan
from metrics.params import resolve_params
from metrics.scope import Scope
from metrics.spec import MetricSpec

COMPARES = ("previous", "last_year", "mtd_last_year", "qtd_last_year", "ytd_last_year", "target_pace")


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
        return [{k: json_value(v) for k, v in r.items()} for r in self.frame.to_dict(orient="records")]

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "snapshot_id": self.snapshot_id,
            "scope": self.scope.label,
            "params": {k: json_value(v) for k, v in self.params.items()},
            "columns": self.columns(),
            "rows": self.records(),
        }

    def total(self, metric: str) -> float | None:
        """The single value of a metric in a result without dimensions or grain."""
        if len(self.frame) != 1:
            raise ValueError("total() needs a result with one row (no --by, no --grain)")
        return json_value(self.frame.iloc[0][metric])


def json_value(value: Any) -> Any:
    """A value as JSON writes it: None for no value, ISO dates, plain Python numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if hasattr(value, "item"):
        return json_value(value.item())
    return value


def validate(
    catalog: Catalog,
    names: list[str],
    by: list[str],
    where: dict[str, list[str]],
    grain: str | None,
    compare: tuple[str, ...],
) -> list[MetricSpec]:
    """The metric specs asked for; a QueryError naming what is allowed when the ask cannot be answered."""
    metrics = [catalog.metric(n) for n in names]
    if grain is not None and grain not in GRAINS:
        raise QueryError(f"unknown grain {grain!r}; grains: {', '.join(GRAINS)}")
    for kind in compare:
        if kind not in COMPARES:
            raise QueryError(f"unknown comparison {kind!r}; comparisons: {', '.join(COMPARES)}")
    for metric in metrics:
        _check_grain(catalog, metric, grain)
        allowed = catalog.allowed_dimensions(metric.name)
        for dim in [*by, *where]:
            if dim not in allowed:
                raise QueryError(
                    f"dimension {dim!r} is not allowed for metric {metric.name}; allowed: {', '.join(allowed)}"
                )
    return metrics


# How fine each grain is; a grain is finer than another when its rank is lower (week is finer than month).
_GRAIN_RANK = {"day": 0, "week": 1, "month": 2, "quarter": 3, "fiscal_quarter": 3, "year": 4, "fiscal_year": 4}


def _too_coarse_input(catalog: Catalog, name: str, grain: str) -> MetricSpec | None:
    """The metric (or derived input) whose data is set at a coarser grain than `grain`, if any."""
    for base in catalog.base_metrics(name):
        if base.finest_grain and _GRAIN_RANK[grain] < _GRAIN_RANK[base.finest_grain]:
            return base
    return None


def grain_allowed(catalog: Catalog, name: str, grain: str) -> bool:
    """Whether metric `name` can be answered per `grain` (a monthly target cannot be split into weeks)."""
    return _too_coarse_input(catalog, name, grain) is None


def _check_grain(catalog: Catalog, metric: MetricSpec, grain: str | None) -> None:
    if grain is None:
        return
    base = _too_coarse_input(catalog, metric.name, grain)
    if base is None:
        return
    finest = base.finest_grain
    via = "" if base.name == metric.name else f" (through {base.name})"
    raise QueryError(
        f"{metric.name}{via} is set per {finest}: ask for --grain {finest} or coarser, not {grain}"
        + ("; for a target paced within the month use --compare target_pace" if finest == "month" else "")
    )


@dataclass(frozen=True)
class Runner:
    """Runs asks for one set of metrics on one Ibis backend (a snapshot's DuckDB, or PostgreSQL)."""

    backend: Any
    catalog: Catalog
    specs: tuple[MetricSpec, ...]
    params: dict[str, dict[str, Any]]
    table_cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def table(self, name: str) -> Any:
        """The backend's table `name`, looked up once per runner (each lookup reads the schema)."""
        if name not in self.table_cache:
            self.table_cache[name] = self.backend.table(name)
        return self.table_cache[name]

    def keys(self, ask: Ask) -> list[str]:
        return (["period"] if ask.grain else []) + [k for d in ask.by for k in dim_keys(self.catalog, self.specs, d)]

    def frame(self, ask: Ask) -> pd.DataFrame:
        """Finished metric values for one ask: keys, then one column per requested metric."""
        keys = self.keys(ask)
        frames = []
        for group in plan(self.catalog, list(self.specs)):
            group_params = {k: v for m in group.metrics for k, v in self.params[m.name].items()}
            compiled = compile_group(self.table, group, replace(ask, params=group_params))
            frames.append(_normalise_keys(self.backend.execute(compiled.expr), keys))
        raw = pd.DataFrame(columns=keys)
        if frames:
            raw = frames[0]
            for other in frames[1:]:
                raw = raw.merge(other, on=keys, how="outer") if keys else pd.concat([raw, other], axis=1)
        return finish(raw, self.catalog, list(self.specs), keys, ask)


def dim_keys(catalog: Catalog, metrics: tuple[MetricSpec, ...] | list[MetricSpec], dim: str) -> list[str]:
    """`dim`, plus `dim_id` when every model the metrics read has an id for it."""
    ids = [
        catalog.models[base.model].dimensions[dim].id is not None
        for metric in metrics
        for base in catalog.base_metrics(metric.name)
    ]
    return [dim, f"{dim}_id"] if ids and all(ids) else [dim]


def _normalise_keys(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    if "period" in frame.columns:
        frame["period"] = pd.to_datetime(frame["period"]).dt.date
    frame = frame.drop(columns=[c for c in frame.columns if c.endswith("_id") and c not in keys])
    for key in keys:
        if key != "period" and key in frame.columns:
            frame[key] = frame[key].astype(object).where(frame[key].notna(), None)
    return frame


def run_metrics(
    backend: Any,
    catalog: Catalog,
    names: list[str],
    ask: Ask,
    *,
    params: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Metric values on any Ibis backend holding the published tables (no comparisons)."""
    specs = validate(catalog, names, list(ask.by), dict(ask.where), ask.grain, ())
    resolved = resolve_params(catalog, specs, params or {}, settings or current_settings())
    return Runner(backend, catalog, tuple(specs), resolved).frame(ask)


def data_range(runner: Runner, metric: MetricSpec) -> tuple[dt.date | None, dt.date | None]:
    """First and last date of a metric's time column (for comparisons and to-date values without a range)."""
    bases = [b for b in runner.catalog.base_metrics(metric.name) if not b.snapshot]
    if not bases:
        return None, None
    base = bases[0]
    table = runner.table(runner.catalog.models[base.model].table)
    column = table[runner.catalog.time_column(base)].cast("date")
    row = runner.backend.execute(table.aggregate(lo=column.min(), hi=column.max()))
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
    `period` column; `where` maps a dimension to accepted labels or ids; `params` sets metric parameters
    (defaults in each metric's YAML); `compare` adds columns per kind (README "Comparison columns"):
    `previous`, `last_year`, `mtd_last_year`, `qtd_last_year`, `ytd_last_year`, `target_pace`.
    """
    if not isinstance(scope, Scope):
        raise TypeError("query() needs a metrics.scope.Scope; use Scope.all() to ask for every row deliberately")
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    by, where, compare = list(by or []), dict(where or {}), tuple(compare)
    cfg = settings or current_settings()
    catalog = catalog or load_catalog()
    specs = validate(catalog, names, by, where, grain, compare)
    resolved = resolve_params(catalog, specs, dict(params or {}), cfg)
    snapshot = snapshot or current_snapshot(cfg.data_dir)
    calendar = BusinessCalendar.from_settings(cfg.business)
    ask = Ask(scope, tuple(by), grain, start, end, where, calendar)
    cursor = snapshot.cursor()
    try:
        runner = Runner(ibis.duckdb.from_connection(cursor), catalog, tuple(specs), resolved)
        ask = _anchor_to_date(runner, ask, specs)
        frame = runner.frame(ask)
        if grain:
            frame.insert(1, "period_label", [calendar.period_label(p, grain) for p in frame["period"]])
        from metrics.compare import add_comparison

        for kind in compare:
            frame = add_comparison(frame, kind, runner, ask, today=cfg.today)
    finally:
        cursor.close()
    effective = {k: v for m in specs for b in catalog.base_metrics(m.name) for k, v in resolved[b.name].items()}
    return QueryResult(
        frame, specs, by, grain, start, end, snapshot.published_at, snapshot.id, scope, effective, compare
    )


def _anchor_to_date(runner: Runner, ask: Ask, specs: list[MetricSpec]) -> Ask:
    """A year-to-date metric without --to is read up to the last day of its data, not over every year."""
    needs_end = any(
        b.grain_to_date for m in specs for b in runner.catalog.base_metrics(m.name) if b.type == "cumulative"
    )
    if not needs_end or ask.end is not None or ask.grain is not None:
        return ask
    ends = [data_range(runner, m)[1] for m in specs]
    ends = [e for e in ends if e is not None]
    return replace(ask, end=max(ends)) if ends else ask
