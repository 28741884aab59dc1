"""The inbox: an uploaded file is checked, confirmed, and loaded by the worker's job (`python -m jobs run inbox`,
run here as its own process) under the chosen source name; a re-upload under that name replaces the rows; a bad
upload is blocked and the source keeps its last good rows and file; a worker killed mid-load resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest
import xlsxwriter

from core.appstate import AppState
from core.config import settings
from core.warehouse import current_snapshot
from sources.inbox import InboxError, check_staged, confirm, inbox_dir, stage_upload
from sources.sync import run_sync
from tests.conftest import ROOT, run_cli

# 24 good lines and one unreadable amount on line 26: 1 of 25 rejected (4%), under the default 5% threshold.
FIRST = (
    "order id,order date,amount\n"
    + "".join(f"A{i:02d},2024-01-{i:02d},{i}\n" for i in range(1, 25))
    + "A25,2024-01-25,x\n"
)
SECOND = "order id,order date,amount\nB1,2024-02-01,5\nB2,2024-02-02,6\n"
BROKEN = "order id,order date,amount\nC1,2024-03-01,n/a\nC2,2024-03-02,n/a\nC3,2024-03-03,1\n"


@pytest.fixture
def inbox_env(cockpit_env, tmp_path):
    catalog = tmp_path / "products.csv"
    catalog.write_text("product id,product name\nP1,Pen\n", encoding="utf-8")
    cockpit_env({"sources": [{"name": "catalog", "entity": "products", "path": str(catalog), "schedule": "manual"}]})
    assert run_sync(settings()).ok
    return settings()


def _upload(cfg, text: str, name: str = "shop orders.csv", source: str = "shop_orders") -> str:
    staged = stage_upload(cfg.data_dir, name, text.encode("utf-8"), "admin")
    report = check_staged(cfg, staged.id, source=source)
    confirm(cfg, staged.id, source=source, entity=report["entity"], sheet=None, user="admin")
    return staged.id


def _worker(**env) -> dict:
    proc = run_cli("jobs", "run", "inbox", env=env, check=False)
    return {"code": proc.returncode, **(json.loads(proc.stdout) if proc.stdout.strip() else {}), "stderr": proc.stderr}


def _orders(cfg) -> list[tuple]:
    con = duckdb.connect(str(current_snapshot(cfg.data_dir).path), read_only=True)
    try:
        return con.execute("SELECT order_id, amount FROM orders ORDER BY 1").fetchall()
    finally:
        con.close()


def test_upload_is_checked_confirmed_loaded_by_the_worker_and_replaced_by_a_reupload(inbox_env):
    cfg = inbox_env
    staged = stage_upload(cfg.data_dir, "shop orders.csv", FIRST.encode("utf-8"), "admin")
    assert staged.path == inbox_dir(cfg.data_dir, "pending") / staged.id / "shop orders.csv"
    report = check_staged(cfg, staged.id, source="shop_orders")
    assert (report["status"], report["entity"], report["rows_read"], report["rows_loaded"]) == (
        "checked",
        "orders",
        25,
        24,
    )
    assert report["rejected_sample"][0]["line"] == 26 and report["mapping"]["amount"] == "amount"
    state = AppState(cfg.data_dir)
    assert state.inbox_item(staged.id)["status"] == "staged"
    confirm(cfg, staged.id, source="shop_orders", entity="orders", sheet=None, user="admin")
    ready = inbox_dir(cfg.data_dir, "ready") / staged.id
    assert (ready / "shop orders.csv").exists()
    assert json.loads((ready / "request.json").read_text())["source"] == "shop_orders"
    assert state.inbox_item(staged.id)["status"] == "queued"
    upload_audit = state.audit_entries(limit=1)[0]
    assert upload_audit["action"] == "upload" and upload_audit["detail"]["source"] == "shop_orders"

    done = _worker()
    assert done["code"] == 0 and [i["status"] for i in done["items"]] == ["published"]
    assert (inbox_dir(cfg.data_dir, "done") / staged.id / "report.json").exists()
    item = state.inbox_item(staged.id)
    assert (
        item["status"] == "published" and item["report"]["rows_loaded"] == 24 and item["report"]["rows_rejected"] == 1
    )
    assert _orders(cfg) == [(f"A{i:02d}", float(i)) for i in range(1, 25)]

    # The same file name, new content: checked anew (not served from any cache) and replacing the rows.
    again = stage_upload(cfg.data_dir, "shop orders.csv", SECOND.encode("utf-8"), "admin")
    assert again.id != staged.id and again.sha256 != item["sha256"]
    assert check_staged(cfg, again.id, source="shop_orders")["rows_loaded"] == 2
    confirm(cfg, again.id, source="shop_orders", entity="orders", sheet=None, user="admin")
    assert _worker()["code"] == 0
    assert _orders(cfg) == [("B1", 5.0), ("B2", 6.0)]
    # The next full sync reads the ad-hoc source from the inbox's done folder: nothing changed, nothing stale.
    report = run_sync(cfg)
    assert {s.name: s.status for s in report.sources} == {"catalog": "unchanged", "shop_orders": "unchanged"}


def test_blocked_upload_keeps_the_last_good_rows_and_file(inbox_env):
    cfg = inbox_env
    good = _upload(cfg, SECOND)
    assert _worker()["code"] == 0
    bad = _upload(cfg, BROKEN)  # 2 of 3 amounts unreadable: over the default 5% threshold
    result = _worker()
    assert result["code"] == 1 and result["items"][0]["status"] == "blocked"
    state = AppState(cfg.data_dir)
    assert state.inbox_item(bad)["status"] == "blocked" and "not published" in state.inbox_item(bad)["error"]
    assert (inbox_dir(cfg.data_dir, "failed") / bad / "report.json").exists()
    assert _orders(cfg) == [("B1", 5.0), ("B2", 6.0)]
    # The source points back at its last good file, so later syncs neither fail nor reload the broken one.
    spec = state.ad_hoc_source("shop_orders")["spec"]
    assert spec["path"] == str(inbox_dir(cfg.data_dir, "done") / good / "shop orders.csv")
    report = run_sync(cfg)
    assert report.ok and _orders(cfg) == [("B1", 5.0), ("B2", 6.0)]


def test_excel_upload_is_read_from_the_chosen_sheet(inbox_env, tmp_path):
    cfg = inbox_env
    book = tmp_path / "门店订单.xlsx"
    workbook = xlsxwriter.Workbook(str(book))
    workbook.add_worksheet("说明").write(0, 0, "门店导出，第二个工作表是明细")
    sheet = workbook.add_worksheet("明细")
    sheet.write_row(0, 0, ["订单编号", "订单日期", "金额"])
    for i in range(1, 4):
        sheet.write_row(i, 0, [f"M{i}", f"2024-06-0{i}", 100 * i])
    workbook.close()
    staged = stage_upload(cfg.data_dir, book.name, book.read_bytes(), "admin")
    report = check_staged(cfg, staged.id, sheet="明细", source="store_orders")
    assert (report["status"], report["entity"], report["rows_loaded"]) == ("checked", "orders", 3)
    assert report["details"]["sheet"] == "明细" and report["details"]["sheets"] == ["说明", "明细"]
    confirm(cfg, staged.id, source="store_orders", entity="orders", sheet="明细", user="admin")
    assert _worker()["code"] == 0
    assert _orders(cfg) == [("M1", 100.0), ("M2", 200.0), ("M3", 300.0)]


def test_upload_into_a_configured_source_is_refused_with_what_to_do(inbox_env):
    cfg = inbox_env
    staged = stage_upload(cfg.data_dir, "catalog.csv", b"product id,product name\nP9,Nine\n", "admin")
    with pytest.raises(InboxError, match="catalog is configured in .* replace that file instead"):
        confirm(cfg, staged.id, source="catalog", entity="products", sheet=None, user="admin")
    with pytest.raises(InboxError, match="lower-case letters"):
        confirm(cfg, staged.id, source="Bad Name", entity="products", sheet=None, user="admin")
    assert AppState(cfg.data_dir).inbox_item(staged.id)["status"] == "staged"


def test_worker_killed_while_loading_an_upload_loads_it_on_its_next_run(inbox_env):
    cfg = inbox_env
    item = _upload(cfg, SECOND)
    killed = _worker(COCKPIT_CRASH_AT="after_staging_commit:shop_orders")
    assert killed["code"] == -signal.SIGKILL
    state = AppState(cfg.data_dir)
    assert state.inbox_item(item)["status"] == "loading"
    resumed = _worker()
    assert resumed["code"] == 0 and [i["id"] for i in resumed["items"]] == [item]
    assert state.inbox_item(item)["status"] == "published"
    assert _orders(cfg) == [("B1", 5.0), ("B2", 6.0)]
    assert not [r for r in state.runs(limit=50) if r["status"] == "running"]


def test_running_worker_picks_up_a_confirmed_upload(inbox_env):
    cfg = inbox_env
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobs", "worker"], cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert "inbox" in worker.stdout.readline()  # "worker: 1 job(s) ...: inbox"
        item = _upload(cfg, SECOND)
        state = AppState(cfg.data_dir)
        seen = []
        deadline = time.time() + 90
        while time.time() < deadline and (not seen or seen[-1] not in ("published", "blocked", "failed")):
            status = state.inbox_item(item)["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            time.sleep(0.2)
        assert seen[0] == "queued" and seen[-1] == "published", seen
        assert _orders(cfg) == [("B1", 5.0), ("B2", 6.0)]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
