"""Every compiled query of every metric carries the caller's scope predicate, in every dialect.

The only unscoped entry is an explicit `Scope.all()`. Each metric is compiled (against the published schema,
no database) with a restricted scope of one region, one team and one rep; every read of the metric's fact
table must be filtered by that scope — the region, team and rep columns with the scope's values, or FALSE for
a table with no owner (stock), which only `all` scopes see.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core.calendar import BusinessCalendar
from core.config import Settings, Stages
from metrics.catalog import load_catalog
from metrics.compiler import Ask
from metrics.dialects import DIALECTS, metric_sql
from metrics.query import query
from metrics.scope import Scope

CATALOG = load_catalog()
SETTINGS = Settings(stages=Stages(order=["线索", "方案", "赢单"], won=["赢单"], lost=["输单"]))
SCOPE = Scope.of(regions=["华东"], teams=["华北一组"], reps=["S001"])


def _asks(name: str) -> list[Ask]:
    snapshot = any(b.snapshot for b in CATALOG.base_metrics(name))
    grains = [None] if snapshot else [None, "month"]
    return [
        Ask(SCOPE, grain=g, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31), calendar=BusinessCalendar())
        for g in grains
    ]


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("name", sorted(CATALOG.metrics))
def test_every_compiled_query_carries_the_scope_predicate(name, dialect):
    quote = "`" if dialect == "spark" else '"'
    for ask in _asks(name):
        for statement in metric_sql(CATALOG, name, ask, dialect, SETTINGS).split(";\n\n"):
            tables = {CATALOG.models[b.model].table for b in CATALOG.base_metrics(name)}
            reads = sum(len(re.findall(rf"FROM {quote}{t}{quote} AS", statement)) for t in tables)
            assert reads >= 1, statement
            owned = [CATALOG.models[b.model].scope.region for b in CATALOG.base_metrics(name)]
            if any(owned):
                for column, value in (("region", "华东"), ("team", "华北一组"), ("rep_id", "S001")):
                    predicate = rf"{quote}{column}{quote} IN \('{value}'\)"
                    assert len(re.findall(predicate, statement)) >= reads, (name, dialect, column, statement)
            else:
                assert statement.count("WHERE\n") >= reads and re.search(r"WHERE\s+FALSE", statement), statement


def test_a_scope_is_required_and_all_is_explicit():
    with pytest.raises(TypeError, match="Scope.all"):
        query(["revenue"], None)  # type: ignore[arg-type]
    assert Scope.all().everything and not Scope.of(regions=["华东"]).everything
    # The unscoped SQL is the only one without a scope predicate.
    ask = Ask(Scope.all(), calendar=BusinessCalendar())
    assert "IN ('" not in metric_sql(CATALOG, "revenue", ask, "duckdb", SETTINGS)
