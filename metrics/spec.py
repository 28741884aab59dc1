"""Metric and model definitions: the YAML schema, loaded and validated with errors naming file and field.

A *model* names a published table, its time columns, its dimensions (label column and, where the entity has
ids, id column), the columns the row scope applies to, and structured computed columns. A *metric* is one KPI
with one governed definition (口径): labels, description, owner, type, measures with structured filters,
time column, format, direction and anomaly settings. The shipped definitions live in `metrics/models/` and
`metrics/definitions/`, one file per KPI.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

HERE = Path(__file__).resolve().parent
MODELS_DIR = HERE / "models"
DEFINITIONS_DIR = HERE / "definitions"

Agg = Literal["sum", "count", "count_distinct", "mean", "min", "max"]
Op = Literal["eq", "ne", "in", "not_in", "is_null", "not_null", "gt", "ge", "lt", "le"]
Format = Literal["money", "count", "percent", "days", "number"]


class SpecError(Exception):
    """A definition is invalid; the message names the file and the field."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Spec):
    zh: str
    en: str


class Filter(_Spec):
    """A structured filter: `{field: status, op: eq, value: won}`. Values are typed literals, never SQL."""

    field: str
    op: Op = "eq"
    value: Any = None
    values: list[Any] | None = None

    @model_validator(mode="after")
    def _has_value(self) -> Filter:
        if self.op in ("in", "not_in") and not self.values:
            raise ValueError(f"filter on {self.field}: op {self.op} needs `values`")
        if self.op not in ("in", "not_in", "is_null", "not_null") and self.value is None:
            raise ValueError(f"filter on {self.field}: op {self.op} needs `value`")
        return self


class Measure(_Spec):
    agg: Agg
    column: str | None = None
    filters: list[Filter] = Field(default_factory=list)

    @model_validator(mode="after")
    def _column(self) -> Measure:
        if self.agg != "count" and not self.column:
            raise ValueError(f"agg {self.agg} needs a `column`")
        return self


class Dimension(_Spec):
    column: str
    id: str | None = None


class Computed(_Spec):
    """A computed column built from structured operations only (portable across engines)."""

    op: Literal["days_between", "difference"]
    start: str | None = None
    end: str | None = None
    left: str | None = None
    right: str | None = None


class ScopeColumns(_Spec):
    region: str | None = "region"
    team: str | None = "team"
    rep: str | None = "rep_id"
    rep_label: str | None = "rep"


class ModelSpec(_Spec):
    name: str
    table: str
    description: str = ""
    time: str
    time_columns: list[str] = Field(default_factory=list)
    dimensions: dict[str, Dimension]
    scope: ScopeColumns = Field(default_factory=ScopeColumns)
    computed: dict[str, Computed] = Field(default_factory=dict)
    source_file: str = ""


class Anomaly(_Spec):
    enabled: bool = True
    grain: Literal["day", "week", "month"] = "day"
    z: float = 4.0
    min_rel_change: float = 0.1
    explain_by: list[str] = Field(default_factory=list)


class Param(_Spec):
    default: Any
    description: str = ""


class MetricSpec(_Spec):
    name: str
    label: Label
    description: Label
    owner: str
    type: Literal["simple", "ratio", "derived", "cumulative", "conversion"]
    model: str | None = None
    measure: Measure | None = None
    numerator: Measure | None = None
    denominator: Measure | None = None
    expr: str | None = None
    filters: list[Filter] = Field(default_factory=list)
    time: str | None = None
    dimensions: list[str] | None = None
    format: Format
    direction: Literal["up", "down"] = "up"
    anomaly: Anomaly = Field(default_factory=Anomaly)
    params: dict[str, Param] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    portable: bool = True
    sql: str | None = None
    source_file: str = ""

    @model_validator(mode="after")
    def _shape(self) -> MetricSpec:
        if self.sql is not None and self.portable:
            raise ValueError("a metric with a raw `sql` escape hatch must say `portable: false`")
        if self.type in ("simple", "cumulative"):
            if not self.measure or not self.model:
                raise ValueError(f"a {self.type} metric needs `model` and `measure`")
        elif self.type == "ratio":
            if not (self.numerator and self.denominator and self.model):
                raise ValueError("a ratio metric needs `model`, `numerator` and `denominator`")
        elif self.type == "derived":
            if not self.expr:
                raise ValueError("a derived metric needs `expr` (e.g. revenue / revenue_target)")
            derived_inputs(self.expr)
        elif self.type == "conversion":
            raise ValueError("conversion metrics are declared in the funnel work (see ROADMAP.md); not yet supported")
        return self

    def text(self, lang: str) -> tuple[str, str]:
        """(label, 口径 description) in `lang` ('zh' or 'en')."""
        return (self.label.zh, self.description.zh) if lang == "zh" else (self.label.en, self.description.en)


def derived_inputs(expr: str) -> list[str]:
    """Names an `expr` refers to; only names, numbers and + - * / ( ) are allowed."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"expr {expr!r} is not an arithmetic expression") from exc
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif not isinstance(
            node,
            (
                ast.Expression,
                ast.BinOp,
                ast.UnaryOp,
                ast.Constant,
                ast.Load,
                ast.Add,
                ast.Sub,
                ast.Mult,
                ast.Div,
                ast.USub,
            ),
        ):
            raise ValueError(f"expr {expr!r}: only metric names, numbers and + - * / are allowed")
    return names


def _load_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields")
    return data


def _parse(cls: type[BaseModel], path: Path) -> Any:
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


class Catalog:
    """All models and metrics, validated against each other."""

    def __init__(self, models: dict[str, ModelSpec], metrics: dict[str, MetricSpec]) -> None:
        self.models = models
        self.metrics = metrics
        for metric in metrics.values():
            self._check(metric)

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


@lru_cache(maxsize=4)
def _catalog(models_dir: str, definitions_dir: str, stamp: tuple) -> Catalog:
    models = {p.stem: _parse(ModelSpec, p) for p in sorted(Path(models_dir).glob("*.yml"))}
    metrics = {p.stem: _parse(MetricSpec, p) for p in sorted(Path(definitions_dir).glob("*.yml"))}
    return Catalog(models, metrics)


def load_catalog(models_dir: Path = MODELS_DIR, definitions_dir: Path = DEFINITIONS_DIR) -> Catalog:
    """The validated catalog, re-read when any definition file changes."""
    files = sorted([*models_dir.glob("*.yml"), *definitions_dir.glob("*.yml")])
    stamp = tuple((str(p), p.stat().st_mtime_ns) for p in files)
    return _catalog(str(models_dir), str(definitions_dir), stamp)
