"""The same metric definitions give the same numbers on DuckDB and on a real PostgreSQL server.

The demo company's published tables are copied into a fresh PostgreSQL database of this test session; every
metric is run monthly (by region where it allows it) through Ibis's PostgreSQL backend and through DuckDB on
the snapshot, and the two answers must agree (to 1e-9 relative: the engines add floats in different orders).
"""

from __future__ import annotations

import math
import os
import secrets

import duckdb
import ibis
import pandas as pd
import psycopg
import pytest

from core.calendar import BusinessCalendar
from core.config import load_settings
from core.warehouse import current_snapshot
from metrics.catalog import load_catalog
from metrics.compiler import Ask
from metrics.query import json_value, run_metrics
from metrics.schema import PUBLISHED
from metrics.scope import Scope
from tests.conftest import ROOT

pytestmark = pytest.mark.postgres

PG = {
    "host": "127.0.0.1",
    "port": int(os.environ.get("COCKPIT_PG_PORT", "55432")),
    "user": "cockpit",
    "password": "cockpit",
}
PG_TYPES = {
    "VARCHAR": "text",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BOOLEAN": "boolean",
    "BIGINT": "bigint",
}
CATALOG = load_catalog()


@pytest.fixture(scope="module")
def engines(demo_data_dir, tmp_path_factory):
    """(DuckDB backend on the demo snapshot, PostgreSQL backend on a copy of its published tables)."""
    try:
        admin = psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **PG)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable on {PG['host']}:{PG['port']} ({exc}); run scripts/services.sh start")
    name = f"cockpit_metrics_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    snapshot = current_snapshot(demo_data_dir)
    source = duckdb.connect(str(snapshot.path), read_only=True)
    folder = tmp_path_factory.mktemp("pg-copy")
    try:
        with psycopg.connect(dbname=name, **PG) as con:
            for table in PUBLISHED:
                columns = source.execute(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                    "ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                ddl = ", ".join(f'"{c}" {PG_TYPES[t]}' for c, t in columns)
                con.execute(f'CREATE TABLE "{table}" ({ddl})')
                csv_path = folder / f"{table}.csv"
                source.execute(f"COPY \"{table}\" TO '{csv_path}' (HEADER false)")
                with con.cursor().copy(f'COPY "{table}" FROM STDIN (FORMAT csv)') as copy:
                    copy.write(csv_path.read_bytes())
            con.commit()
        pg = ibis.postgres.connect(database=name, **PG)
        yield ibis.duckdb.from_connection(source), pg
        pg.disconnect()
    finally:
        source.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _ask(name: str) -> Ask:
    snapshot = any(b.snapshot for b in CATALOG.base_metrics(name))
    by = ("region",) if "region" in CATALOG.allowed_dimensions(name) else ()
    return Ask(Scope.all(), by=by, grain=None if snapshot else "month", calendar=BusinessCalendar(holidays="cn"))


def _rows(frame: pd.DataFrame) -> dict:
    keys = [c for c in frame.columns if c in ("period", "region")]
    value = [c for c in frame.columns if c not in keys][0]
    return {tuple(json_value(r[k]) for k in keys): json_value(r[value]) for r in frame.to_dict(orient="records")}


@pytest.mark.parametrize("name", sorted(CATALOG.metrics))
def test_monthly_values_are_equal_on_duckdb_and_postgresql(name, engines):
    duck, pg = engines
    settings = load_settings(ROOT / "examples" / "demo.yml")
    on_duck = _rows(run_metrics(duck, CATALOG, [name], _ask(name), settings=settings))
    on_pg = _rows(run_metrics(pg, CATALOG, [name], _ask(name), settings=settings))
    assert on_duck, f"{name} has no rows on the demo company: the comparison would prove nothing"
    assert set(on_pg) == set(on_duck), (name, sorted(set(on_pg) ^ set(on_duck), key=str)[:5])
    for key, value in on_duck.items():
        other = on_pg[key]
        if value is None or other is None:
            assert value is None and other is None, (name, key, value, other)
        else:
            assert math.isclose(float(value), float(other), rel_tol=1e-9, abs_tol=1e-6), (name, key, value, other)
