"""Definitions are validated at load: every error names the file and the field; shipped metrics are portable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.warehouse import current_snapshot
from metrics.catalog import DEFINITIONS_DIR, MODELS_DIR, load_catalog
from metrics.schema import PUBLISHED
from metrics.spec import SpecError
from tests.metrics_company import synced_company

METRIC = """name: {name}
label: {{zh: 测试, en: Test}}
description: {{zh: 测试口径, en: Test definition}}
owner: tests
format: money
"""


def _catalog(tmp_path: Path, definitions: dict[str, str], models: dict[str, str] | None = None):
    models_dir, defs_dir = tmp_path / "models", tmp_path / "definitions"
    shutil.copytree(MODELS_DIR, models_dir)
    defs_dir.mkdir()
    for name, text in (models or {}).items():
        (models_dir / f"{name}.yml").write_text(text, encoding="utf-8")
    for name, text in definitions.items():
        (defs_dir / f"{name}.yml").write_text(METRIC.format(name=name) + text, encoding="utf-8")
    return load_catalog(models_dir, defs_dir)


def _error(tmp_path, definitions, models=None) -> str:
    with pytest.raises(SpecError) as err:
        _catalog(tmp_path, definitions, models)
    return str(err.value)


def test_a_misspelt_column_names_the_file_and_the_column(tmp_path):
    message = _error(tmp_path, {"bad": "type: simple\nmodel: orders\nmeasure: {agg: sum, column: amout}\n"})
    assert "definitions/bad.yml" in message and "'amout' is not a column of model orders" in message


def test_a_join_that_could_fan_out_is_refused(tmp_path):
    model = (
        "name: fanout\ntable: orders\ntime: order_day\ndimensions: {region: {column: region}}\n"
        "joins:\n  lines:\n    table: orders\n    relationship: one_to_many\n    keys: {order_id: order_id}\n"
        "    dedupe: {order_by: [line_id]}\n"
    )
    message = _error(tmp_path, {}, {"fanout": model})
    assert "models/fanout.yml" in message and "joins.lines.relationship" in message and "fan-out" in message


def test_a_filter_parameter_must_be_declared(tmp_path):
    text = (
        "type: simple\nmodel: opportunities\nmeasure: {agg: count_distinct, column: opportunity_id}\n"
        "filters: [{field: stage, op: eq, param: which}]\n"
    )
    message = _error(tmp_path, {"by_stage": text})
    assert "definitions/by_stage.yml" in message and "param 'which' is not declared" in message


def test_kinds_need_their_parts(tmp_path):
    assert "conversion metric needs `model` and `conversion`" in _error(
        tmp_path, {"c": "type: conversion\nmodel: deal_funnel\n"}
    )
    having = "type: simple\nmodel: orders\nmeasure: {agg: sum, column: amount, having: {agg: count, value: 2}}\n"
    assert "use agg count_distinct on the entity column" in _error(tmp_path / "h", {"h": having})
    reset = "type: simple\nmodel: orders\nmeasure: {agg: sum, column: amount}\ngrain_to_date: year\n"
    assert "`grain_to_date` belongs to cumulative metrics" in _error(tmp_path / "r", {"r": reset})


def test_the_raw_sql_escape_hatch_is_marked_non_portable(tmp_path):
    hatch = "type: simple\nmodel: orders\nmeasure: {agg: sum, column: amount}\nsql: SUM(amount)\n"
    assert "must say `portable: false`" in _error(tmp_path, {"raw": hatch})
    catalog = _catalog(tmp_path / "ok", {"raw": hatch + "portable: false\n"})
    assert not catalog.metric("raw").portable


def test_no_shipped_metric_uses_the_raw_sql_escape_hatch():
    catalog = load_catalog()
    non_portable = sorted(n for n, m in catalog.metrics.items() if m.sql is not None or not m.portable)
    assert non_portable == [], "shipped metrics must be portable (structured filters, no raw SQL)"
    for name in catalog.metrics:
        assert (DEFINITIONS_DIR / f"{name}.yml").exists()


def test_the_published_schema_is_what_a_snapshot_carries(tmp_path):
    cfg, _ = synced_company(tmp_path / "company")
    types = {
        "VARCHAR": "string",
        "DOUBLE": "float64",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "BOOLEAN": "boolean",
        "BIGINT": "int64",
    }
    cur = current_snapshot(cfg.data_dir).cursor()
    try:
        for table, declared in PUBLISHED.items():
            actual = dict(
                cur.execute(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]
                ).fetchall()
            )
            assert {c: types.get(t, t) for c, t in actual.items() if c in declared} == declared, table
    finally:
        cur.close()


def test_a_hierarchy_level_must_be_a_dimension(tmp_path):
    model = (
        "name: geo\ntable: orders\ntime: order_day\ndimensions: {region: {column: region}, team: {column: team}}\n"
        "hierarchies: {organisation: [region, team, desk]}\n"
    )
    message = _error(tmp_path, {}, {"geo": model})
    assert "models/geo.yml" in message and "hierarchies.organisation" in message and "unknown: desk" in message
    assert load_catalog().hierarchies("target_attainment") == {"organisation": ["region", "team", "rep"]}
