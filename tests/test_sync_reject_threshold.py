"""A load rejecting more than its source's threshold is not published: users keep the last good rows, marked stale.

Two file sources: `shop` (orders, threshold 20%) and `catalog` (products). The numbers below are the files'
own rows, added up by hand.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from core.appstate import AppState
from core.config import settings
from core.warehouse import current_snapshot, current_snapshot_id
from sources.__main__ import main as sources_main

GOOD = "order id,order date,amount\nA1,2024-01-01,10\nA2,2024-01-02,20\nA3,2024-01-03,30\nA4,2024-01-04,40\nA5,2024-01-05,50\n"
# Lines 3 and 4 cannot be read: 2 of 4 rows rejected = 50% > 20%.
HALF_BAD = "order id,order date,amount\nB1,2024-02-01,7\nB2,2024-02-02,abc\nB3,2024-02-31,9\nB4,2024-02-04,10\n"
CORRECTED = "order id,order date,amount\nB1,2024-02-01,7\nB2,2024-02-02,8\nB3,2024-02-03,9\nB4,2024-02-04,10\n"


@pytest.fixture
def shop(cockpit_env, tmp_path):
    orders, products = tmp_path / "orders.csv", tmp_path / "products.csv"
    orders.write_text(GOOD, encoding="utf-8")
    products.write_text("product id,product name\nP1,Pen\nP2,Paper\n", encoding="utf-8")
    cockpit_env(
        {
            "sources": [
                {
                    "name": "shop",
                    "entity": "orders",
                    "path": str(orders),
                    "reject_threshold": 0.2,
                    "schedule": "manual",
                },
                {"name": "catalog", "entity": "products", "path": str(products), "schedule": "manual"},
            ]
        }
    )
    return orders, products


def _sync(capsys) -> tuple[int, dict]:
    code = sources_main(["sync", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, {s["name"]: s for s in report["sources"]}


def _snapshot() -> dict:
    con = duckdb.connect(str(current_snapshot(settings().data_dir).path), read_only=True)
    try:
        return {
            "orders": con.execute("SELECT order_id, amount FROM orders ORDER BY 1").fetchall(),
            "products": [r[0] for r in con.execute("SELECT product_id FROM products ORDER BY 1").fetchall()],
            "stale": dict(con.execute("SELECT name, stale FROM _sources").fetchall()),
            "errors": dict(con.execute("SELECT name, error FROM _sources").fetchall()),
        }
    finally:
        con.close()


def test_load_over_threshold_is_blocked_others_publish_and_corrected_file_replaces_rows(shop, capsys):
    orders, products = shop
    code, first = _sync(capsys)
    assert code == 0 and first["shop"]["status"] == "published"
    good_rows = [("A1", 10.0), ("A2", 20.0), ("A3", 30.0), ("A4", 40.0), ("A5", 50.0)]
    assert _snapshot()["orders"] == good_rows

    orders.write_text(HALF_BAD, encoding="utf-8")
    products.write_text("product id,product name\nP1,Pen\nP2,Paper\nP3,Ink\n", encoding="utf-8")
    code, second = _sync(capsys)
    assert code == 1
    assert second["shop"]["status"] == "blocked"
    assert (second["shop"]["rows_read"], second["shop"]["rows_rejected"], second["shop"]["rows_loaded"]) == (4, 2, 2)
    assert "50.0%" in second["shop"]["error"] and "20.0%" in second["shop"]["error"]
    assert second["catalog"]["status"] == "published"
    snap = _snapshot()
    assert snap["orders"] == good_rows  # the last good rows, not B1 and B4
    assert snap["products"] == ["P1", "P2", "P3"]  # the other source still publishes
    assert snap["stale"] == {"shop": True, "catalog": False}
    assert "not published" in snap["errors"]["shop"]

    # The blocked load's rejected rows are kept with reason, file, line and raw values.
    state = AppState(settings().data_dir)
    blocked = state.runs("shop", limit=1)[0]
    assert blocked["status"] == "blocked"
    rejects = state.rejects(blocked["id"])
    assert [(r["file"], r["line"], r["raw"]["order id"]) for r in rejects] == [
        ("orders.csv", 3, "B2"),
        ("orders.csv", 4, "B3"),
    ]
    assert "abc" in rejects[0]["reason"] and "2024-02-31" in rejects[1]["reason"]

    orders.write_text(CORRECTED, encoding="utf-8")
    code, third = _sync(capsys)
    assert code == 0 and third["shop"]["status"] == "published" and third["catalog"]["status"] == "unchanged"
    snap = _snapshot()
    assert snap["orders"] == [("B1", 7.0), ("B2", 8.0), ("B3", 9.0), ("B4", 10.0)]  # replaced, not appended
    assert snap["stale"] == {"shop": False, "catalog": False}


def test_blocked_source_alone_is_marked_stale_in_a_new_snapshot_once(shop, capsys):
    orders, _ = shop
    _sync(capsys)
    first_snapshot = current_snapshot_id(settings().data_dir)
    orders.write_text(HALF_BAD, encoding="utf-8")
    code, report = _sync(capsys)
    assert code == 1 and report["shop"]["status"] == "blocked" and report["catalog"]["status"] == "unchanged"
    marked = current_snapshot_id(settings().data_dir)
    assert marked != first_snapshot  # nothing new to load, but users must see that `shop` is stale
    assert _snapshot()["stale"] == {"shop": True, "catalog": False}
    assert _snapshot()["orders"][0] == ("A1", 10.0)
    code, report = _sync(capsys)  # the same bad file again: still blocked, nothing new to say
    assert code == 1 and report["shop"]["status"] == "blocked"
    assert current_snapshot_id(settings().data_dir) == marked


def test_failed_source_keeps_last_good_rows_and_recovers_when_the_file_returns(shop, capsys):
    orders, _ = shop
    _sync(capsys)
    saved = orders.read_bytes()
    orders.unlink()
    code, report = _sync(capsys)
    assert code == 1 and report["shop"]["status"] == "failed" and "not found" in report["shop"]["error"]
    assert _snapshot()["stale"]["shop"] is True and len(_snapshot()["orders"]) == 5
    orders.write_bytes(saved)  # the same file back: nothing to reload, but no longer stale
    code, report = _sync(capsys)
    assert code == 0 and report["shop"]["status"] == "unchanged"
    assert _snapshot()["stale"] == {"shop": False, "catalog": False}


def test_header_only_export_is_blocked_and_last_good_rows_kept(shop, capsys):
    """A header-only export once published with rc 0 and wiped every order; now it is blocked like a bad file."""
    orders, _ = shop
    _sync(capsys)
    orders.write_text("order id,order date,amount\n", encoding="utf-8")
    code, report = _sync(capsys)
    assert code == 1
    shop_line = report["shop"]
    assert (shop_line["status"], shop_line["rows_read"], shop_line["rows_loaded"]) == ("blocked", 0, 0)
    assert "no data rows" in shop_line["error"] and "last good load had 5" in shop_line["error"]
    snap = _snapshot()
    assert [amount for _, amount in snap["orders"]] == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert snap["stale"]["shop"] is True

    # The same file through `sources import` under the source's name is blocked too.
    code = sources_main(["import", str(orders), "--source", "shop", "--as", "orders", "--format", "json"])
    capsys.readouterr()
    assert code != 0
    assert len(_snapshot()["orders"]) == 5


def test_upload_check_of_a_header_only_file_says_it_would_be_blocked(shop, capsys, tmp_path):
    """The upload check said `checked` for a header-only file that the import then blocked."""
    from sources.__main__ import check_file

    _sync(capsys)
    empty = tmp_path / "empty-orders.csv"
    empty.write_text("order id,order date,amount\n", encoding="utf-8")
    report = check_file(settings(), empty, entity="orders", source="shop")
    assert report["status"] == "blocked" and "last good load had 5" in report["error"]
    fresh = check_file(settings(), empty, entity="orders", source="brand_new")
    assert fresh["status"] == "checked"  # nothing to lose: a new source may start empty


def test_empty_export_replaces_rows_when_the_source_allows_empty(cockpit_env, tmp_path, capsys):
    orders = tmp_path / "orders.csv"
    orders.write_text(GOOD, encoding="utf-8")
    source = {"name": "shop", "entity": "orders", "path": str(orders), "schedule": "manual", "allow_empty": True}
    cockpit_env({"sources": [source]})
    _sync(capsys)
    orders.write_text("order id,order date,amount\n", encoding="utf-8")
    code, report = _sync(capsys)
    assert code == 0 and report["shop"]["status"] == "published"
    assert "empty" in [i["kind"] for i in report["shop"]["issues"]]
    con = duckdb.connect(str(current_snapshot(settings().data_dir).path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
    finally:
        con.close()
