"""Loading the metric catalog: every model and definition parsed, then checked against each other and against
the published schema, with errors that name the file and the field."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from metrics.schema import PUBLISHED
from metrics.spec import Filter, MetricSpec, ModelSpec, SpecError, derived_inputs

HERE = Path(__file__).resolve().parent
MODELS_DIR = HERE / "models"
DEFINITIONS_DIR = HERE / "definitions"


def _load_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields")
    return data


def parse_spec(cls: type[BaseModel], path: Path) -> Any:
    data = _load_yaml(path)
    try:
        spec = cls(**data, source_file=str(path))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise SpecError(f"{path}: {problems}") from None
    if spec.name != path.stem:
        raise SpecError(f"{path}: name {spec.name!r} must equal the file name ({path.stem!r})")
    return spec


def model_columns(model: ModelSpec) -> set[str] | None:
    """Columns a model's rows carry (published, computed and joined), or None when its table is not declared."""
    if model.table not in PUBLISHED:
        return None
    cols = set(PUBLISHED[model.table]) | set(model.computed)
    for name, join in model.joins.items():
        cols |= {f"{name}.{c}" for c in PUBLISHED.get(join.table, {})}
    return cols


class Catalog:
    """All models and metrics, validated against each other."""

    def __init__(self, models: dict[str, ModelSpec], metrics: dict[str, MetricSpec]) -> None:
        self.models = models
        self.metrics = metrics
        for model in models.values():
            self._check_model(model)
        for metric in metrics.values():
            self._check(metric)

    def _check_model(self, model: ModelSpec) -> None:
        where = model.source_file
        for name, levels in model.hierarchies.items():
            unknown = [level for level in levels if level not in model.dimensions]
            if unknown or len(levels) < 2:
                raise SpecError(
                    f"{where}: hierarchies.{name}: levels must be two or more dimensions of the model"
                    + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                )
        cols = model_columns(model)
        for name, join in model.joins.items():
            if "." in name:
                raise SpecError(f"{where}: joins.{name}: a join name cannot contain '.'")
            dim_cols = PUBLISHED.get(join.table)
            for fact_col, dim_col in join.keys.items():
                if cols is not None and fact_col not in cols:
                    raise SpecError(f"{where}: joins.{name}.keys: {fact_col!r} is not a column of {model.table}")
                if dim_cols is not None and dim_col not in dim_cols:
                    raise SpecError(f"{where}: joins.{name}.keys: {dim_col!r} is not a column of {join.table}")
            for col in join.dedupe.order_by:
                if dim_cols is not None and col not in dim_cols:
                    raise SpecError(f"{where}: joins.{name}.dedupe.order_by: {col!r} is not a column of {join.table}")
        if cols is None:
            return
        for field in (model.time, *model.time_columns):
            if field not in cols:
                raise SpecError(f"{where}: time: {field!r} is not a column of {model.table}")
        for dim, spec in model.dimensions.items():
            for col in (spec.column, spec.id):
                if col is not None and col not in cols:
                    raise SpecError(f"{where}: dimensions.{dim}: {col!r} is not a column of {model.table} or a join")
        for name, comp in model.computed.items():
            for col in (comp.start, comp.end, comp.left, comp.right, comp.column):
                if col is not None and col not in cols:
                    raise SpecError(f"{where}: computed.{name}: {col!r} is not a column of {model.table}")

    def _check(self, metric: MetricSpec) -> None:
        where = metric.source_file
        if metric.type == "derived":
            for name in derived_inputs(metric.expr or ""):
                if name not in self.metrics:
                    raise SpecError(f"{where}: expr: unknown metric {name!r}")
                if self.metrics[name].type == "derived":
                    raise SpecError(f"{where}: expr: {name!r} is itself derived; derive from base metrics only")
            return
        if metric.model not in self.models:
            raise SpecError(f"{where}: model: unknown model {metric.model!r}; models: {', '.join(self.models)}")
        model = self.models[metric.model]
        if metric.time and metric.time not in {model.time, *model.time_columns}:
            raise SpecError(f"{where}: time: {metric.time!r} is not a time column of model {model.name}")
        for dim in metric.dimensions or []:
            if dim not in model.dimensions:
                raise SpecError(f"{where}: dimensions: {dim!r} is not a dimension of model {model.name}")
        for flt in metric.all_filters():
            self._check_filter(metric, flt)
        if metric.conversion and metric.conversion.window_param:
            if metric.conversion.window_param not in metric.params:
                raise SpecError(f"{where}: conversion.window_param: {metric.conversion.window_param!r} is not a param")
        if metric.target is not None:
            target = self.metrics.get(metric.target)
            if target is None:
                raise SpecError(f"{where}: target: unknown metric {metric.target!r}")
            if target.format != metric.format:
                raise SpecError(f"{where}: target: {metric.target!r} is {target.format}, not {metric.format}")
        cols = model_columns(model)
        if cols is None:
            return
        used = [m.column for m in metric.measures()] + [m.having.column for m in metric.measures() if m.having]
        used += [f.field for f in metric.all_filters()]
        if metric.conversion:
            used.append(metric.conversion.entity)
        for col in used:
            if col is not None and col not in cols:
                raise SpecError(f"{where}: {col!r} is not a column of model {model.name} (table {model.table})")

    def _check_filter(self, metric: MetricSpec, flt: Filter) -> None:
        if flt.param is not None and flt.param not in metric.params:
            raise SpecError(
                f"{metric.source_file}: filter on {flt.field}: param {flt.param!r} is not declared in `params`"
            )

    def metric(self, name: str) -> MetricSpec:
        if name not in self.metrics:
            raise KeyError(f"unknown metric {name!r}; metrics: {', '.join(sorted(self.metrics))}")
        return self.metrics[name]

    def base_metrics(self, name: str) -> list[MetricSpec]:
        """The non-derived metrics a metric is computed from (itself when it is not derived)."""
        metric = self.metric(name)
        if metric.type != "derived":
            return [metric]
        return [self.metrics[n] for n in dict.fromkeys(derived_inputs(metric.expr or ""))]

    def allowed_dimensions(self, name: str) -> list[str]:
        """Dimensions a metric may be grouped or filtered by."""
        metric = self.metric(name)
        if metric.type == "derived":
            sets = [set(self.allowed_dimensions(m.name)) for m in self.base_metrics(name)]
            allowed = set.intersection(*sets) if sets else set()
            if metric.dimensions:
                allowed &= set(metric.dimensions)
            order = list(self.models[self.base_metrics(name)[0].model].dimensions)
            return [d for d in order if d in allowed]
        model = self.models[metric.model]
        return list(metric.dimensions or model.dimensions)

    def hierarchies(self, name: str) -> dict[str, list[str]]:
        """Drill paths of a metric: its models' hierarchies whose every level the metric allows."""
        allowed = set(self.allowed_dimensions(name))
        out: dict[str, list[str]] = {}
        for base in self.base_metrics(name):
            for key, levels in self.models[base.model].hierarchies.items():
                if set(levels) <= allowed:
                    out.setdefault(key, levels)
        return out

    def time_column(self, metric: MetricSpec) -> str:
        """The column a (base) metric's periods and date range read."""
        return metric.time or self.models[metric.model].time


@lru_cache(maxsize=8)
def _catalog(models_dir: str, definitions_dir: str, stamp: tuple) -> Catalog:
    models = {p.stem: parse_spec(ModelSpec, p) for p in sorted(Path(models_dir).glob("*.yml"))}
    metrics = {p.stem: parse_spec(MetricSpec, p) for p in sorted(Path(definitions_dir).glob("*.yml"))}
    return Catalog(models, metrics)


def load_catalog(models_dir: Path = MODELS_DIR, definitions_dir: Path = DEFINITIONS_DIR) -> Catalog:
    """The validated catalog, re-read when any definition file changes."""
    models_dir, definitions_dir = Path(models_dir), Path(definitions_dir)
    files = sorted([*models_dir.glob("*.yml"), *definitions_dir.glob("*.yml")])
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    return _catalog(str(models_dir), str(definitions_dir), stamp)
