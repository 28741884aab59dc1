"""SQL text of a compiled metric for each engine the definitions must run on: DuckDB, PostgreSQL and Spark.

Spark: Ibis 12's `ibis.to_sql(expr, dialect="pyspark")` uses the PySpark compiler (the SQL its Spark backend
sends to a SparkSession), but that compiler reads `ibis.options.pyspark.treat_nan_as_null`, an option the
PySpark backend registers only when `pyspark` itself is importable — without it the call fails with
"'NoneType' object has no attribute 'treat_nan_as_null'". We register the same option with the backend's
default (False) so the exact Spark SQL compiles without installing pyspark. `dialect="databricks"` would also
compile, but it is a different backend (Databricks SQL: other functions and type names), not Spark's.
"""

from __future__ import annotations

import ibis
import ibis.config
import ibis.expr.types as ir

DIALECTS = {"duckdb": "duckdb", "postgres": "postgres", "spark": "pyspark"}


class _SparkOptions(ibis.config.Config):
    """The options ibis.backends.pyspark registers (`treat_nan_as_null`, default False)."""

    treat_nan_as_null: bool = False


def _ensure_spark_options() -> None:
    if getattr(ibis.options, "pyspark", None) is None:
        ibis.options.pyspark = _SparkOptions()


def to_sql(expr: ir.Table, dialect: str) -> str:
    """The SQL of `expr` for `duckdb`, `postgres` or `spark`."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; dialects: {', '.join(DIALECTS)}")
    if dialect == "spark":
        _ensure_spark_options()
    return str(ibis.to_sql(expr, dialect=DIALECTS[dialect]))


def metric_sql(catalog, name: str, ask, dialect: str, settings, params: dict | None = None) -> str:  # noqa: ANN001
    """The SQL a metric runs for `ask` in `dialect`, compiled against the published schema (no database).

    A derived metric runs one statement per input group; statements are separated by `;` and a blank line.
    """
    from dataclasses import replace

    from metrics.kinds import compile_group, plan
    from metrics.params import resolve_params
    from metrics.schema import published_table

    metric = catalog.metric(name)
    resolved = resolve_params(catalog, [metric], params or {}, settings)
    statements = []
    for group in plan(catalog, [metric]):
        group_params = {k: v for m in group.metrics for k, v in resolved[m.name].items()}
        compiled = compile_group(published_table, group, replace(ask, params=group_params))
        statements.append(to_sql(compiled.expr, dialect))
    return ";\n\n".join(statements)
