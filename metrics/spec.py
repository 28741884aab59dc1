"""Metric and model definitions: the YAML schema, validated at load with errors naming the file and the field.

A *model* names a published table, its time columns, its dimensions (label column and, where the entity has
ids, id column), its hierarchies (drill paths from the top level down, e.g. region → team → rep), the columns
the row scope applies to, structured computed columns and declared many-to-one joins. A *metric* is one KPI with one governed definition (口径): labels, description, owner, type, measures
with structured filters, time column, format, direction and anomaly settings. The shipped definitions live in
`metrics/models/` and `metrics/definitions/`, one file per KPI; `metrics.catalog` loads and cross-checks them.

Metric types:
- `simple` — one measure; `ratio` — numerator ÷ denominator (no value when the denominator is 0);
- `derived` — arithmetic on other metrics (`revenue / revenue_target`);
- `cumulative` — a running total of one measure within the query range, or from the start of each
  `grain_to_date` period (year-to-date);
- `conversion` — per-entity conversion: of the entities that reached the `base` step in the period, the share
  that reached the `converted` step (within `window_param` days when set).
"""

from __future__ import annotations

import ast
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Agg = Literal["sum", "count", "count_distinct", "mean", "min", "max"]
Op = Literal["eq", "ne", "in", "not_in", "is_null", "not_null", "gt", "ge", "lt", "le"]
Format = Literal["money", "count", "percent", "days", "number"]
ResetGrain = Literal["month", "quarter", "year", "fiscal_quarter", "fiscal_year"]


class SpecError(Exception):
    """A definition is invalid; the message names the file and the field."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Spec):
    zh: str
    en: str


class Filter(_Spec):
    """A structured filter: `{field: status, op: eq, value: won}`. Values are typed literals, never SQL.

    `param: NAME` takes the value from the metric's parameter NAME at query time (`--param NAME=VALUE`).
    """

    field: str
    op: Op = "eq"
    value: Any = None
    values: list[Any] | None = None
    param: str | None = None

    @model_validator(mode="after")
    def _has_value(self) -> Filter:
        if self.param is not None:
            if self.op in ("is_null", "not_null"):
                raise ValueError(f"filter on {self.field}: op {self.op} takes no `param`")
            return self
        if self.op in ("in", "not_in") and not self.values:
            raise ValueError(f"filter on {self.field}: op {self.op} needs `values`")
        if self.op not in ("in", "not_in", "is_null", "not_null") and self.value is None:
            raise ValueError(f"filter on {self.field}: op {self.op} needs `value`")
        return self


class Having(_Spec):
    """Count an entity only when its own aggregate passes a test, e.g. persons with ≥ 2 orders."""

    agg: Agg
    column: str | None = None
    op: Literal["eq", "gt", "ge", "lt", "le"] = "ge"
    value: float

    @model_validator(mode="after")
    def _column(self) -> Having:
        if self.agg != "count" and not self.column:
            raise ValueError(f"having: agg {self.agg} needs a `column`")
        return self


class Measure(_Spec):
    agg: Agg
    column: str | None = None
    filters: list[Filter] = Field(default_factory=list)
    having: Having | None = None

    @model_validator(mode="after")
    def _column(self) -> Measure:
        if self.agg != "count" and not self.column:
            raise ValueError(f"agg {self.agg} needs a `column`")
        if self.having is not None and self.agg != "count_distinct":
            raise ValueError("a measure with `having` counts entities: use agg count_distinct on the entity column")
        return self


class Dimension(_Spec):
    """A dimension: its label column and, where the entity has ids, its id column.

    A column written `JOIN.column` is read through the model's declared join named JOIN.
    """

    column: str
    id: str | None = None


class Computed(_Spec):
    """A computed column built from structured operations only (portable across engines)."""

    op: Literal["days_between", "difference", "negate"]
    start: str | None = None
    end: str | None = None
    left: str | None = None
    right: str | None = None
    column: str | None = None

    @model_validator(mode="after")
    def _operands(self) -> Computed:
        need = {"days_between": ("start", "end"), "difference": ("left", "right"), "negate": ("column",)}[self.op]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"op {self.op} needs {', '.join(missing)}")
        return self


class Dedupe(_Spec):
    """The stated rule that makes a dimension table one row per key: the row with the greatest `order_by`."""

    order_by: list[str]
    keep: Literal["greatest", "least"] = "greatest"


class Join(_Spec):
    """A declared many-to-one join from the model's rows to a dimension table.

    The dimension table is first reduced to one row per key by `dedupe`, so a dimension export with duplicate
    keys can never multiply the model's rows (publish reports such duplicates; this rule makes the query safe
    even without that step).
    """

    table: str
    relationship: str
    keys: dict[str, str]
    dedupe: Dedupe

    @field_validator("relationship")
    @classmethod
    def _many_to_one(cls, value: str) -> str:
        if value != "many_to_one":
            raise ValueError(
                f"relationship {value!r} would multiply the model's rows (fan-out double counting); only "
                "many_to_one joins are allowed — give the other table its own model instead"
            )
        return value

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a join needs at least one key pair in `keys` (model column: dimension column)")
        return value


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
    joins: dict[str, Join] = Field(default_factory=dict)
    hierarchies: dict[str, list[str]] = Field(default_factory=dict)
    source_file: str = ""


class Anomaly(_Spec):
    enabled: bool = True
    grain: Literal["day", "week", "month"] = "day"
    z: float = 4.0
    min_rel_change: float = 0.1
    explain_by: list[str] = Field(default_factory=list)


class Param(_Spec):
    """A metric parameter; `kind: stage` accepts a stage name, `first` or `won` (resolved from `stages:`)."""

    default: Any
    description: str = ""
    kind: Literal["text", "number", "stage"] = "text"


class Conversion(_Spec):
    """Per-entity conversion: entities entering `base` in the period, and which of them reached `converted`."""

    entity: str
    base: list[Filter]
    converted: list[Filter]
    window_param: str | None = None


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
    conversion: Conversion | None = None
    grain_to_date: ResetGrain | None = None
    filters: list[Filter] = Field(default_factory=list)
    time: str | None = None
    snapshot: bool = False
    semi_additive: Literal["last"] | None = None
    target: str | None = None
    # Only month for now: coarser grains (quarter, year, fiscal ones) are whole months; weeks are not, so a
    # week-level finest grain would need its own list of allowed grains.
    finest_grain: Literal["month"] | None = None
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
            if bool(self.numerator.having) or bool(self.denominator.having):
                if self.numerator.column != self.denominator.column or self.denominator.agg != "count_distinct":
                    raise ValueError(
                        "a ratio with `having` counts one entity: numerator and denominator must both be "
                        "count_distinct on the same column"
                    )
        elif self.type == "derived":
            if not self.expr:
                raise ValueError("a derived metric needs `expr` (e.g. revenue / revenue_target)")
            derived_inputs(self.expr)
        elif self.type == "conversion" and not (self.conversion and self.model):
            raise ValueError("a conversion metric needs `model` and `conversion` (entity, base, converted)")
        if self.grain_to_date and self.type != "cumulative":
            raise ValueError("`grain_to_date` belongs to cumulative metrics")
        if self.snapshot and self.type not in ("simple", "ratio"):
            raise ValueError("a `snapshot` metric (a level as of the data) must be simple or ratio")
        if self.semi_additive and self.type not in ("simple", "ratio"):
            raise ValueError("`semi_additive` applies to simple and ratio metrics")
        return self

    def text(self, lang: str) -> tuple[str, str]:
        """(label, 口径 description) in `lang` ('zh' or 'en')."""
        return (self.label.zh, self.description.zh) if lang == "zh" else (self.label.en, self.description.en)

    def measures(self) -> list[Measure]:
        """Every measure this metric aggregates (one for simple and cumulative, two for ratio)."""
        return [m for m in (self.measure, self.numerator, self.denominator) if m is not None]

    def all_filters(self) -> list[Filter]:
        """Every filter of the metric: shared, per measure and per conversion step."""
        out = [*self.filters, *(f for m in self.measures() for f in m.filters)]
        if self.conversion:
            out += [*self.conversion.base, *self.conversion.converted]
        return out


def derived_inputs(expr: str) -> list[str]:
    """Names an `expr` refers to; only names, numbers and + - * / ( ) are allowed."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"expr {expr!r} is not an arithmetic expression") from exc
    names = []
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Load, ast.Add, ast.Sub, ast.Mult, ast.Div)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif not isinstance(node, (*allowed, ast.USub)):
            raise ValueError(f"expr {expr!r}: only metric names, numbers and + - * / are allowed")
    return names


# The catalog (loading and cross-checking) lives in metrics.catalog; its names stay importable from here.
_CATALOG_NAMES = ("DEFINITIONS_DIR", "MODELS_DIR", "Catalog", "load_catalog")


def __getattr__(name: str) -> Any:
    if name in _CATALOG_NAMES:
        from metrics import catalog

        return getattr(catalog, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
