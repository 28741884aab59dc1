"""Metric parameters: defaults from each metric's YAML, values from `--param NAME=VALUE`, typed before use.

A `number` parameter becomes a number (or no value for `none`/empty); a `stage` parameter accepts a stage
name from the configuration's `stages.order` (any case), `first` (the first stage) or `won` (the won stage),
and becomes the stage's name as the data writes it. Values reach the compiler as typed Ibis literals.
"""

from __future__ import annotations

from typing import Any

from core.config import Settings
from metrics.catalog import Catalog
from metrics.compiler import QueryError
from metrics.spec import MetricSpec, Param


def resolve_params(
    catalog: Catalog, specs: list[MetricSpec], given: dict[str, Any], settings: Settings
) -> dict[str, dict[str, Any]]:
    """Typed parameter values per base metric name; unknown parameter names are a usage error."""
    bases = {b.name: b for m in specs for b in catalog.base_metrics(m.name)}
    declared = {k for m in specs for k in m.params} | {k for b in bases.values() for k in b.params}
    unknown = sorted(set(given) - declared)
    if unknown:
        raise QueryError(
            f"unknown parameter(s) {', '.join(unknown)}; parameters: {', '.join(sorted(declared)) or 'none'}"
        )
    out: dict[str, dict[str, Any]] = {}
    for name, base in bases.items():
        out[name] = {
            key: typed(key, given.get(key, param.default), param, settings) for key, param in base.params.items()
        }
    return out


def typed(name: str, value: Any, param: Param, settings: Settings) -> Any:
    """One parameter value in its declared kind."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
        return None
    if param.kind == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise QueryError(f"parameter {name}: {value!r} is not a number") from None
        return int(number) if number.is_integer() else number
    if param.kind == "stage":
        return stage_name(name, str(value), settings)
    return str(value)


def stage_name(name: str, value: str, settings: Settings) -> str:
    """A stage of the configured order, by name (any case), `first` or `won`."""
    order = list(settings.stages.order)
    if not order:
        raise QueryError(f"parameter {name}: the configuration has no `stages.order`, so stages cannot be named")
    wanted = value.strip().casefold()
    if wanted == "first":
        return order[0]
    if wanted == "won":
        won = {w.casefold() for w in settings.stages.won}
        for stage in order:
            if stage.casefold() in won:
                return stage
        raise QueryError(f"parameter {name}: no stage of `stages.order` is a won stage ({', '.join(order)})")
    for stage in order:
        if stage.casefold() == wanted:
            return stage
    raise QueryError(f"parameter {name}: unknown stage {value!r}; stages: {', '.join(order)}, first, won")
