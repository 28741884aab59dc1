"""Golden SQL: every metric's compiled SQL per dialect (DuckDB, PostgreSQL, Spark) is checked in.

A change in the compiler's output fails here with the diff; when the change is intended, rewrite the files
with `pytest tests/golden --update-golden` and review them in the commit. The SQL is compiled against the
published schema (`metrics/schema.py`) for one fixed ask: the 华东 region's scope, by region where the metric
allows it, by month over 2026 (a snapshot level: no grain), an April fiscal year, Monday weeks.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path

import pytest

from core.calendar import BusinessCalendar
from core.config import Settings, Stages
from metrics.catalog import load_catalog
from metrics.compiler import Ask
from metrics.dialects import DIALECTS, metric_sql
from metrics.scope import Scope

HERE = Path(__file__).resolve().parent
CATALOG = load_catalog()
SETTINGS = Settings(
    stages=Stages(order=["线索确认", "需求分析", "方案报价", "商务谈判", "赢单"], won=["赢单"], lost=["输单"])
)
CALENDAR = BusinessCalendar(week_start="monday", fiscal_year_start=4, holidays="none")


def golden_ask(name: str) -> Ask:
    """The fixed ask every golden file is compiled for."""
    snapshot = any(b.snapshot for b in CATALOG.base_metrics(name))
    by = ("region",) if "region" in CATALOG.allowed_dimensions(name) else ()
    return Ask(
        Scope.of(regions=["华东"]),
        by=by,
        grain=None if snapshot else "month",
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 12, 31),
        calendar=CALENDAR,
    )


def golden_text(name: str, dialect: str) -> str:
    ask = golden_ask(name)
    header = (
        f"-- {name} ({CATALOG.metric(name).type}) in {dialect}: scope regions=华东, by {', '.join(ask.by) or '—'}, "
        f"grain {ask.grain or '—'}, 2026-01-01..2026-12-31, fiscal year from April. Generated; do not edit.\n"
    )
    return header + metric_sql(CATALOG, name, ask, dialect, SETTINGS) + "\n"


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("name", sorted(CATALOG.metrics))
def test_compiled_sql_matches_the_golden_file(name, dialect, request):
    path = HERE / dialect / f"{name}.sql"
    text = golden_text(name, dialect)
    if request.config.getoption("--update-golden", default=False):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden SQL for {name} in {dialect}: run `pytest tests/golden --update-golden`"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(path), "compiled"))
        pytest.fail(
            f"compiled SQL of {name} in {dialect} changed (intended? `pytest tests/golden --update-golden`):\n{diff}"
        )


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_no_golden_file_outlives_its_metric(dialect, request):
    folder = HERE / dialect
    stale = sorted(p.stem for p in folder.glob("*.sql") if p.stem not in CATALOG.metrics)
    if request.config.getoption("--update-golden", default=False):
        for name in stale:
            (folder / f"{name}.sql").unlink()
        return
    assert not stale, f"golden SQL for metrics that no longer exist in {dialect}: {', '.join(stale)}"
