"""The file connector on small exports written here: GBK without BOM, BOM, title rows, totals, bad values."""

from __future__ import annotations

import json

import duckdb
import pytest

from core.config import settings
from core.warehouse import current_snapshot
from sources.__main__ import main as sources_main
from sources.files.encoding import detect_encoding

GBK_EXPORT = (
    "销售明细报表\r\n"
    "导出日期：2024-03-01\r\n"
    "\r\n"
    "订单编号,订单日期,客户名称,产品编码,金额,数量,渠道\r\n"
    'SO001,2024-01-05,上海华联,00123,"￥1,234.50",2,直销\r\n'
    "SO002,2024-01-06,北京燕莎,00456,(500.00),-1,电商\r\n"
    "\r\n"
    "SO003,2018-02-29,广州友谊,00789,300,1,直销\r\n"
    "订单编号,订单日期,客户名称,产品编码,金额,数量,渠道\r\n"
    "SO004,2024-01-07,深圳天虹,00123,1.5万,3,经销商\r\n"
    "SO005,2024-01-08,成都王府井,00456,abc,1,直销\r\n"
    "合计,,,,,6,\r\n"
)


def _run(capsys, *argv: str) -> dict:
    code = sources_main([*argv, "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    out["_exit"] = code
    return out


@pytest.fixture
def gbk_file(tmp_path):
    path = tmp_path / "销售明细.csv"
    path.write_bytes(GBK_EXPORT.encode("gbk"))
    return path


@pytest.fixture
def empty_config(cockpit_env, tmp_path):
    # `shop_export` is configured so that its reject threshold admits this small file's two bad rows.
    return cockpit_env(
        {
            "business": {"timezone": "Asia/Shanghai", "currency": "CNY"},
            "sources": [
                {
                    "name": "shop_export",
                    "entity": "orders",
                    "path": str(tmp_path / "销售明细.csv"),
                    "reject_threshold": 0.5,
                    "schedule": "manual",
                }
            ],
        }
    )


def test_gbk_header_without_bom(gbk_file, empty_config, capsys):
    assert detect_encoding(gbk_file).name == "gb18030"
    report = _run(capsys, "check", str(gbk_file), "--as", "orders")
    assert report["encoding"] == "GBK/GB18030"
    assert report["header_row"] == 4  # below the title, the export date and a blank line
    assert report["mapping"]["order_id"] == "订单编号"
    assert report["mapping"]["amount"] == "金额"
    assert report["mapping"]["product_id"] == "产品编码"


def test_row_accounting_adds_up_with_totals_blank_and_repeated_header(gbk_file, empty_config, capsys):
    report = _run(capsys, "check", str(gbk_file), "--as", "orders")
    # 8 lines below the header (line 4): SO001, SO002, a blank line, SO003 (impossible date), a repeated header,
    # SO004, SO005 (amount "abc") and the 合计 row.
    assert report["rows_read"] == 8
    assert report["rows_loaded"] == 3  # SO001, SO002, SO004
    assert report["rows_rejected"] == 2  # SO003, SO005
    assert report["rows_skipped"] == 3
    assert report["rows_read"] == (
        report["rows_loaded"] + report["rows_rejected"] + report["rows_superseded"] + report["rows_skipped"]
    )
    kinds = {i["kind"]: i["count"] for i in report["issues"]}
    assert kinds["skipped_total"] == 1 and kinds["skipped_blank"] == 1 and kinds["skipped_repeated_header"] == 1


def test_impossible_date_is_rejected_with_reason_and_line_not_rolled_over(gbk_file, empty_config, capsys):
    report = _run(capsys, "check", str(gbk_file), "--as", "orders")
    by_line = {r["line"]: r for r in report["rejected_sample"]}
    assert "2018-02-29" in by_line[8]["reason"] and "订单日期" in by_line[8]["reason"]
    assert by_line[8]["raw"]["订单编号"] == "SO003"
    assert "abc" in by_line[11]["reason"] and "金额" in by_line[11]["reason"]


def test_import_keeps_chinese_text_leading_zeros_and_parses_amounts(gbk_file, empty_config, capsys):
    report = _run(capsys, "import", str(gbk_file), "--as", "orders", "--source", "shop_export")
    assert report["status"] == "published", report
    snap = current_snapshot(settings().data_dir)
    con = duckdb.connect(str(snap.path), read_only=True)
    rows = con.execute(
        "SELECT order_id, customer, product_id, amount, quantity, is_return FROM orders ORDER BY order_id"
    ).fetchall()
    con.close()
    assert rows == [
        ("SO001", "上海华联", "00123", 1234.50, 2.0, False),
        ("SO002", "北京燕莎", "00456", -500.0, -1.0, True),  # (500.00) is negative: a return
        ("SO004", "深圳天虹", "00123", 15000.0, 3.0, False),  # 1.5万
    ]


def test_reimport_under_same_source_name_replaces_rows(tmp_path, empty_config, capsys):
    first = tmp_path / "a.csv"
    first.write_text("order id,order date,amount\nA1,2024-01-01,10\nA2,2024-01-02,20\n", encoding="utf-8")
    _run(capsys, "import", str(first), "--as", "orders", "--source", "shop")
    second = tmp_path / "b.csv"
    second.write_text("order id,order date,amount\nB1,2024-02-01,5\n", encoding="utf-8")
    report = _run(capsys, "import", str(second), "--as", "orders", "--source", "shop")
    assert report["status"] == "published"
    snap = current_snapshot(settings().data_dir)
    con = duckdb.connect(str(snap.path), read_only=True)
    assert con.execute("SELECT order_id, amount FROM orders").fetchall() == [("B1", 5.0)]
    con.close()


def test_utf8_bom_header_is_clean(tmp_path, empty_config, capsys):
    path = tmp_path / "bom.csv"
    path.write_bytes(
        "\ufeffRow ID,Order ID,Order Date,Sales\r\n1,X-1,1/2/2019,10\r\n2,X-2,1/13/2019,20\r\n".encode("utf-8")
    )
    report = _run(capsys, "check", str(path), "--as", "orders")
    assert report["mapping"]["line_id"] == "Row ID"  # not "\ufeffRow ID"
    assert report["rows_loaded"] == 2
    # month-first is decided by the whole column: 1/13/2019 cannot be day-first
    assert report["details"]["date_rules"]["order_date"].startswith("%m/%d/%Y")


def test_required_column_missing_names_the_field_and_the_headers(tmp_path, empty_config, capsys):
    path = tmp_path / "nope.csv"
    path.write_text("order id,customer\nA,B\n", encoding="utf-8")
    report = _run(capsys, "check", str(path), "--as", "orders")
    assert report["_exit"] == 1
    assert "order_date" in report["error"] and "amount" in report["error"] and "customer" in report["error"]


def test_order_lines_without_quantity_are_sales_not_returns(tmp_path, empty_config, capsys):
    # Regression: `amount < 0 OR quantity < 0` with no quantity column made is_return NULL, and `orders` was 0.
    path = tmp_path / "no_qty.csv"
    path.write_text("order id,order date,amount\nA1,2024-01-01,10\nA2,2024-01-02,-4\n", encoding="utf-8")
    _run(capsys, "import", str(path), "--as", "orders", "--source", "no_qty")
    con = duckdb.connect(str(current_snapshot(settings().data_dir).path), read_only=True)
    rows = con.execute("SELECT order_id, is_return, is_cancelled FROM orders ORDER BY 1").fetchall()
    con.close()
    assert rows == [("A1", False, False), ("A2", True, False)]
