"""Database sources against a real PostgreSQL server holding the Salesforce and HubSpot seeds of ../shared.

The server is the one `scripts/services.sh start` runs (127.0.0.1:55432); this module creates its own database,
loads the seeds into it as typed, keyed tables (tests/fixtures/fivetran_seed.py), syncs the shipped examples,
then changes, restores and deletes rows the way a CRM would and syncs again. Expected numbers come from the seeds'
SOURCE.md or from the CSVs read with pandas here.
"""

from __future__ import annotations

import json
import os
import secrets

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from core.appstate import AppState
from core.warehouse import current_snapshot_id, snapshots_dir
from tests.conftest import ROOT, real_dataset, run_cli
from tests.fixtures.fivetran_seed import load_seed

pytestmark = [pytest.mark.postgres, pytest.mark.real_data]

SERVER = os.environ.get("COCKPIT_PG_URL", "postgresql://cockpit:cockpit@127.0.0.1:55432/postgres")
WON = "GavUFuuf4DrnQAoiRGlWpQ=="  # the seed's hashed "Closed Won" stage (is_won = true)
HS_WON = "/n0+plNHbWErNq8Ek+NM3g=="  # a closed-won stage of the HubSpot seed's deal_pipeline_stage


@pytest.fixture(scope="module")
def crm_db():
    """A fresh database of this test session holding both seeds; dropped afterwards."""
    seeds = [real_dataset("salesforce-fivetran-seed"), real_dataset("hubspot-fivetran-seed")]
    admin = sa.create_engine(SERVER, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect():
            pass
    except sa.exc.OperationalError as exc:
        message = f"PostgreSQL is not running at {SERVER} (run scripts/services.sh start): {exc.orig}"
        if os.environ.get("COCKPIT_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    name = f"cockpit_test_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as db:
        db.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(SERVER).set(database=name)
    engine = sa.create_engine(url)
    for seed in seeds:
        load_seed(engine, seed)
    yield {"url": url, "engine": engine, "seeds": seeds}
    engine.dispose()
    with admin.connect() as db:
        db.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _env(crm_db, prefix: str, example: str, data_dir) -> dict:
    url = crm_db["url"]
    return {
        "COCKPIT_CONFIG": str(ROOT / "examples" / example),
        "COCKPIT_DATA_DIR": str(data_dir),
        f"{prefix}_DB_HOST": f"{url.host}:{url.port}",
        f"{prefix}_DB_NAME": url.database,
        f"{prefix}_DB_USER": url.username,
        f"{prefix}_DB_PASSWORD": url.password,
    }


def _sync(env: dict) -> tuple[int, dict]:
    proc = run_cli("sources", "sync", "--format", "json", env=env, check=False)
    assert proc.stdout, proc.stderr
    return proc.returncode, {s["name"]: s for s in json.loads(proc.stdout)["sources"]}


def _query(env: dict, metrics: str) -> dict:
    return json.loads(run_cli("metrics", "query", metrics, "--format", "json", env=env).stdout)["rows"][0]


def _fetched(s: dict) -> int:
    """How many rows came through the cursor this sync (the `fetched` issue)."""
    return next(i["count"] for i in s["issues"] if i["kind"] == "fetched")


def _accounted(s: dict) -> bool:
    return s["rows_read"] == s["rows_loaded"] + s["rows_rejected"] + s["rows_superseded"] + s["rows_skipped"]


def _execute(crm_db, sql: str, **params) -> None:
    with crm_db["engine"].begin() as db:
        db.execute(sa.text(sql), params)


def _snapshot(data_dir, sql: str) -> list[tuple]:
    path = snapshots_dir(data_dir) / f"{current_snapshot_id(data_dir)}.duckdb"
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_salesforce_replica_syncs_by_cursor_merges_on_the_key_and_honours_soft_deletes(crm_db, tmp_path):
    seed = crm_db["seeds"][0]
    opps = pd.read_csv(seed / "sf_opportunity_data.csv", dtype=str, keep_default_na=False)
    accounts = pd.read_csv(seed / "sf_account_data.csv", dtype=str, keep_default_na=False)
    users = pd.read_csv(seed / "sf_user_data.csv", dtype=str, keep_default_na=False)
    orders = pd.read_csv(seed / "sf_order_data.csv", dtype=str, keep_default_na=False)
    data_dir = tmp_path / "data"
    env = _env(crm_db, "SALESFORCE", "salesforce-postgres.yml", data_dir)

    code, first = _sync(env)
    assert code == 0 and {s["status"] for s in first.values()} == {"published"}, first
    assert all(_accounted(s) for s in first.values())
    # SOURCE.md: 10 opportunities, every one soft-deleted (is_deleted = true) — none may reach a KPI.
    assert len(opps) == 10 and (opps["is_deleted"] == "true").sum() == 10
    o = first["sf_opportunities"]
    assert (_fetched(o), o["rows_read"], o["rows_loaded"], o["rows_deleted"]) == (10, 0, 0, 10)
    a = first["sf_accounts"]
    assert (a["rows_loaded"], a["rows_deleted"]) == ((accounts["is_deleted"] == "false").sum(), 9)
    u = first["sf_users"]
    assert (u["rows_loaded"], u["rows_deleted"]) == (5, (users["_fivetran_deleted"] == "true").sum())
    assert first["sf_orders"]["rows_loaded"] == 10 and first["sf_opportunity_history"]["rows_loaded"] == 10
    totals = _query(env, "won_deals,won_amount,revenue")
    assert (totals["won_deals"], totals["won_amount"]) == (0, 0)
    assert totals["revenue"] == pytest.approx(orders["total_amount"].astype(float).sum())  # 54,800.60

    # The CRM restores three deals: two won, and the open one is won at a new amount.
    big = "006q000000HddohAAB"  # the seed's $24.12M test deal
    amount_big = float(opps.loc[opps["id"] == big, "amount"].iloc[0])
    _execute(
        crm_db,
        "UPDATE salesforce.opportunity SET is_deleted = false, updated_at = '2024-06-01 09:00' WHERE id IN "
        "('006q000000HddohAAB', '006q000000HddueAAB', '006q000000HdOhuAAF')",
    )
    _execute(crm_db, "UPDATE salesforce.opportunity SET amount = 50000 WHERE id = '006q000000HddueAAB'")
    _execute(
        crm_db,
        "UPDATE salesforce.opportunity SET stage_name = :won, amount = 250000 WHERE id = '006q000000HdOhuAAF'",
        won=WON,
    )
    code, second = _sync(env)
    assert code == 0
    o = second["sf_opportunities"]
    assert o["status"] == "published" and _accounted(o)
    assert (_fetched(o), o["rows_read"], o["rows_loaded"], o["rows_deleted"]) == (3, 3, 3, 0)
    # Nothing else changed in the database: the other tables are not read again.
    assert {n: s["status"] for n, s in second.items() if n != "sf_opportunities"} == {
        n: "unchanged" for n in second if n != "sf_opportunities"
    }
    run = AppState(data_dir).runs("sf_opportunities", limit=1)[0]
    assert run["details"]["cursor"] == "2024-06-01 09:00:00"  # dlt's state: the newest updated_at read
    totals = _query(env, "won_deals,won_amount")
    assert totals == {"won_deals": 3, "won_amount": amount_big + 50_000 + 250_000}

    # The big deal is soft-deleted again; another is re-priced.
    _execute(
        crm_db,
        "UPDATE salesforce.opportunity SET is_deleted = true, updated_at = '2024-06-02 08:00' WHERE id = :id",
        id=big,
    )
    _execute(
        crm_db,
        "UPDATE salesforce.opportunity SET amount = 65000, updated_at = '2024-06-02 10:00' WHERE id = '006q000000HddueAAB'",
    )
    code, third = _sync(env)
    o = third["sf_opportunities"]
    assert code == 0 and o["status"] == "published" and _accounted(o)
    assert (_fetched(o), o["rows_read"], o["rows_loaded"], o["rows_deleted"]) == (2, 2, 2, 1)
    after = _query(env, "won_deals,won_amount")
    assert after == {"won_deals": 2, "won_amount": totals["won_amount"] - amount_big + 15_000}
    published = _snapshot(data_dir, "SELECT opportunity_id FROM opportunities ORDER BY 1")
    assert published == [("006q000000HdOhuAAF",), ("006q000000HddueAAB",)]  # merged on the key: no duplicates
    replica = duckdb.connect(str(data_dir / "dlt" / "sf_opportunities.duckdb"), read_only=True)
    try:
        assert replica.execute("SELECT count(*), count(DISTINCT id) FROM src.source_rows").fetchone() == (10, 10)
    finally:
        replica.close()

    code, fourth = _sync(env)
    assert code == 0 and fourth["sf_opportunities"]["status"] == "unchanged"


def test_hubspot_deals_without_a_stage_are_rejected_until_the_crm_stages_them(crm_db, tmp_path):
    seed = crm_db["seeds"][1]
    deals = pd.read_csv(seed / "deal_data.csv", dtype=str, keep_default_na=False)
    data_dir = tmp_path / "data"
    env = _env(crm_db, "HUBSPOT", "hubspot-postgres.yml", data_dir)

    code, first = _sync(env)
    assert code == 0, first
    d = first["hs_deals"]
    # SOURCE.md: 44 deals; the seed leaves every one without a pipeline stage.
    assert len(deals) == 44 and (deals["deal_pipeline_stage_id"] == "").sum() == 44
    assert (d["status"], d["rows_read"], d["rows_loaded"], d["rows_rejected"]) == ("published", 44, 0, 44)
    assert first["hs_owners"]["rows_loaded"] == 100 and first["hs_companies"]["rows_loaded"] == 24
    run = AppState(data_dir).runs("hs_deals", limit=1)[0]
    reject = next(r for r in AppState(data_dir).rejects(run["id"]) if r["file"] == "deal:1244495215")
    assert reject["reason"] == "deal_pipeline_stage_id: empty"
    assert reject["raw"]["deal_id"] == "1244495215" and reject["raw"]["property_createdate"].startswith("2019-12-04")

    staged = {"1244495215": "1000", "1075671446": "2500.50", "2392872971": "4000"}
    for deal_id, amount in staged.items():
        _execute(
            crm_db,
            "UPDATE hubspot.deal SET deal_pipeline_stage_id = :stage, property_amount = :amount, "
            "property_closedate = '2020-12-15 00:00:00', updated_at = '2024-06-01 09:00' WHERE deal_id = :id",
            stage=HS_WON,
            amount=amount,
            id=int(deal_id),
        )
    code, second = _sync(env)
    d = second["hs_deals"]
    assert code == 0 and _accounted(d)
    assert (_fetched(d), d["rows_read"], d["rows_loaded"], d["rows_rejected"]) == (3, 44, 3, 41)
    assert second["hs_owners"]["status"] == "unchanged"
    assert _query(env, "won_deals,won_amount") == {"won_deals": 3, "won_amount": 7500.5}

    _execute(
        crm_db, "UPDATE hubspot.deal SET is_deleted = true, updated_at = '2024-06-02 09:00' WHERE deal_id = 1244495215"
    )
    code, third = _sync(env)
    d = third["hs_deals"]
    assert code == 0 and _accounted(d)
    assert (_fetched(d), d["rows_read"], d["rows_loaded"], d["rows_rejected"], d["rows_deleted"]) == (1, 43, 2, 41, 1)
    assert _query(env, "won_deals,won_amount") == {"won_deals": 2, "won_amount": 6500.5}


def test_unreachable_database_wrong_table_and_missing_key_fail_only_their_source(crm_db, tmp_path):
    _execute(crm_db, "CREATE TABLE public.deal_notes (deal_id bigint, note text, updated_at timestamp)")
    url = crm_db["url"]
    good = url.render_as_string(hide_password=False)
    bad_port = url.set(port=1).render_as_string(hide_password=False)

    def source(name: str, url: str, table: str, **options) -> dict:
        return {"name": name, "kind": "sql", "url": url, "table": table, "entity": "reps",
                "mapping": {"rep_id": "owner_id", "rep_name": "email"}, "schedule": "manual",
                "options": {"schema": "hubspot", "cursor": "updated_at", **options}}  # fmt: skip

    config = {
        "business": {"timezone": "UTC", "currency": "USD"},
        "sources": [
            source("hs_owners", good, "owner"),
            source("crm_down", bad_port, "owner"),
            source("crm_typo", good, "ownr"),
            {
                **source("crm_notes", good, "deal_notes", schema="public"),
                "entity": "activities",
                "mapping": {"opportunity_id": "deal_id", "occurred_at": "updated_at"},
            },  # fmt: skip
        ],
    }
    cfg = tmp_path / "errors.yml"
    cfg.write_text(json.dumps(config), encoding="utf-8")
    code, out = _sync({"COCKPIT_CONFIG": str(cfg), "COCKPIT_DATA_DIR": str(tmp_path / "data")})
    assert code == 1
    assert out["hs_owners"]["status"] == "published" and out["hs_owners"]["rows_loaded"] == 100
    assert {n: s["status"] for n, s in out.items()} == {
        "hs_owners": "published",
        "crm_down": "failed",
        "crm_typo": "failed",
        "crm_notes": "failed",
    }
    down = out["crm_down"]["error"]
    assert down.startswith(f"crm_down: cannot connect to postgresql://{url.username}:***@{url.host}:1/{url.database}:")
    assert "Check the url" in down and f":{url.password}@" not in down
    assert out["crm_typo"]["error"] == (
        f"crm_typo: table 'ownr' not found in schema 'hubspot' of {url.render_as_string(hide_password=True)}; "
        "tables there: company, deal, deal_pipeline_stage, deal_stage, owner. Fix `table:` (or `options.schema`)"
    )
    assert out["crm_notes"]["error"] == (
        "crm_notes: table 'deal_notes' has no primary key, so changed rows cannot be merged; set "
        "`options.primary_key` to the column(s) that identify a row (columns: deal_id, note, updated_at)"
    )


def test_table_read_whole_without_a_cursor_sees_rows_deleted_outright(crm_db, tmp_path):
    _execute(crm_db, "CREATE TABLE public.company_copy AS SELECT * FROM hubspot.company")
    _execute(crm_db, "ALTER TABLE public.company_copy ADD PRIMARY KEY (id)")
    config = {
        "business": {"timezone": "UTC", "currency": "USD"},
        "sources": [
            {
                "name": "crm_companies",
                "kind": "sql",
                "url": crm_db["url"].render_as_string(hide_password=False),
                "table": "company_copy",
                "entity": "customers",
                "mapping": {"customer_id": "id", "customer_name": "property_name"},
                "schedule": "manual",
                "options": {"schema": "public", "deleted_flag": "is_deleted"},  # no cursor: read whole
            }
        ],
    }
    cfg = tmp_path / "whole.yml"
    cfg.write_text(json.dumps(config), encoding="utf-8")
    data_dir = tmp_path / "data"
    env = {"COCKPIT_CONFIG": str(cfg), "COCKPIT_DATA_DIR": str(data_dir)}
    code, first = _sync(env)
    c = first["crm_companies"]
    assert code == 0 and (_fetched(c), c["rows_loaded"], c["rows_deleted"]) == (24, 24, 0)

    ids = [r[0] for r in _snapshot(data_dir, "SELECT customer_id FROM customers ORDER BY 1")]
    _execute(crm_db, "DELETE FROM public.company_copy WHERE id IN (:a, :b)", a=int(ids[0]), b=int(ids[1]))
    _execute(crm_db, "UPDATE public.company_copy SET is_deleted = true WHERE id = :c", c=int(ids[2]))
    _execute(crm_db, "UPDATE public.company_copy SET property_name = 'Renamed Co' WHERE id = :d", d=int(ids[3]))
    code, second = _sync(env)
    c = second["crm_companies"]
    assert code == 0 and _accounted(c)
    # Two rows deleted outright and one flagged: all three leave; the whole table (22 rows) was read again.
    assert (_fetched(c), c["rows_read"], c["rows_loaded"], c["rows_deleted"]) == (22, 21, 21, 3)
    published = dict(_snapshot(data_dir, "SELECT customer_id, customer FROM customers"))
    assert len(published) == 21 and not set(ids[:3]) & set(published)
    assert published[ids[3]] == "Renamed Co"

    code, third = _sync(env)  # nothing changed: nothing more is deleted
    assert code == 0 and (third["crm_companies"]["rows_loaded"], third["crm_companies"]["rows_deleted"]) == (21, 0)
