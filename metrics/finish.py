"""From aggregated measure columns to metric values: ratios, derived arithmetic, empty buckets, running totals.

Rules (README "Metrics"): a ratio, conversion or derived division with a zero or missing denominator has no
value (None) — never inf, NaN or 0; an empty bucket is 0 for counts and sums and None for ratios; a running
total carries its last value through periods without rows (restarting at each `grain_to_date` period).
"""

from __future__ import annotations

import ast
import operator
from typing import Any

import pandas as pd

from metrics.catalog import Catalog
from metrics.compiler import Ask, QueryError
from metrics.spec import MetricSpec, derived_inputs

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def evaluate(expr: str, values: dict[str, pd.Series]) -> pd.Series:
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


def _additive(metric: MetricSpec) -> bool:
    measure = metric.measure
    return (
        metric.format in ("money", "count")
        and measure is not None
        and measure.agg in ("sum", "count", "count_distinct")
    )


def _carry_running_total(out: pd.DataFrame, metric: MetricSpec, keys: list[str], ask: Ask) -> pd.Series:
    values = out[metric.name].astype("float64")
    if "period" not in keys:
        return values.fillna(0)
    dims = [k for k in keys if k != "period"]
    frame = out[keys].copy()
    frame["_v"] = values
    if metric.grain_to_date:
        frame["_reset"] = [ask.calendar.period_start(p, metric.grain_to_date) for p in frame["period"]]
        dims = [*dims, "_reset"]
    frame = frame.sort_values("period", kind="stable")
    filled = frame.groupby(dims, dropna=False, sort=False)["_v"].ffill() if dims else frame["_v"].ffill()
    return filled.reindex(out.index).fillna(0)


def finish(raw: pd.DataFrame, catalog: Catalog, metrics: list[MetricSpec], keys: list[str], ask: Ask) -> pd.DataFrame:
    """Turn measure columns into metric values, in the requested order."""
    out = raw.copy()
    bases = {b.name: b for m in metrics for b in catalog.base_metrics(m.name)}
    for base in bases.values():
        if base.type in ("ratio", "conversion"):
            num, den = out[f"{base.name}__num"].astype("float64"), out[f"{base.name}__den"].astype("float64")
            out[base.name] = (num.fillna(0) / den.where(den != 0)).where(den.notna())
        elif base.type == "cumulative":
            out[base.name] = _carry_running_total(out, base, keys, ask)
        elif _additive(base):
            out[base.name] = out[base.name].astype("float64").fillna(0)
        else:
            out[base.name] = out[base.name].astype("float64")
    for metric in metrics:
        if metric.type == "derived":
            inputs = {n: out[n] for n in derived_inputs(metric.expr or "")}
            out[metric.name] = evaluate(metric.expr or "", inputs)
    out = out[keys + [m.name for m in metrics]]
    for metric in metrics:
        if metric.format == "count":
            out[metric.name] = out[metric.name].round().astype("Int64")
    if keys:
        out = out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
    return out
