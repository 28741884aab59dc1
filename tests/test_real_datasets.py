"""Every real dataset of ../shared/data/real that fits a canonical entity, synced through its examples/real/*.yml,
reproduces the reference totals of its SOURCE.md — and its text decodes to the right characters.

Datasets that feed no entity are read at the file layer instead (what they are is said in their test):
- cn-supermarket-shift-revenue: cashier-shift takings (one row per cashier × day × shift), not order lines;
- powerbi-financial-sample-xlsx: monthly aggregates per segment × country × product, without order ids.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from core.config import load_settings
from core.warehouse import current_snapshot
from sources.files.raw import read_raw
from sources.parse import number_sql
from sources.sync import run_sync
from tests.conftest import ROOT, real_dataset, run_cli

pytestmark = pytest.mark.real_data
EXAMPLES = ROOT / "examples" / "real"


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """sync(name) → (report as JSON dict, read-only connection to the published snapshot); each config once."""
    done: dict[str, tuple[dict, duckdb.DuckDBPyConnection]] = {}

    def sync(name: str) -> tuple[dict, duckdb.DuckDBPyConnection]:
        if name not in done:
            real_dataset(name)
            data_dir = tmp_path_factory.mktemp(name)
            settings = load_settings(EXAMPLES / f"{name}.yml").model_copy(update={"data_dir": data_dir})
            report = run_sync(settings).as_dict(with_details=True)
            assert all(s["status"] == "published" for s in report["sources"]), report
            con = duckdb.connect(str(current_snapshot(data_dir).path), read_only=True)
            done[name] = (report, con)
        return done[name]

    yield sync
    for _, con in done.values():
        con.close()


def _source(report: dict, name: str) -> dict:
    return next(s for s in report["sources"] if s["name"] == name)


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchall()[0]


def test_superstore_csv_with_bom_and_month_first_dates_matches_source_md(synced):
    report, con = synced("superstore-2016-2019-csv-utf8bom")
    src = _source(report, "superstore_orders")
    assert src["encoding"] == "UTF-8 with BOM" and src["mapping"]["line_id"] == "Row ID"
    assert src["rows_read"] == src["rows_loaded"] == 9994
    assert src["details"]["date_rules"]["order_date"].startswith("%m/%d/%Y (9,994 of 9,994")
    assert _one(
        con, "SELECT round(sum(amount), 2), count(DISTINCT order_id), count(DISTINCT customer_id) FROM orders"
    ) == (
        2297200.86,
        5009,
        793,
    )
    # 11/8/2018 is 8 November (month-first), never 11 August
    assert _one(con, "SELECT CAST(order_date AS DATE)::VARCHAR FROM orders WHERE line_id = '1'") == ("2018-11-08",)


def test_superstore_legacy_xls_orders_sheet_matches_source_md(synced):
    report, con = synced("superstore-tableau-2019-2022-xls")
    assert _source(report, "superstore_orders")["details"]["sheets"] == ["Orders", "People", "Returns"]
    assert _one(
        con,
        "SELECT round(sum(amount), 2), count(DISTINCT order_id), count(DISTINCT customer_id), "
        "min(order_day)::VARCHAR, max(order_day)::VARCHAR FROM orders",
    ) == (2326534.35, 5111, 804, "2019-01-03", "2022-12-30")
    assert dict(con.execute("SELECT region, rep FROM reps").fetchall()) == {
        "Central": "Roxanne Rodriguez",
        "East": "Chuck Magee",
        "South": "Fred Suzuki",
        "West": "Sadie Pawthorne",
    }


def test_superstore_xls_unknown_sheet_lists_the_sheets(synced):
    path = real_dataset("superstore-tableau-2019-2022-xls") / "Sample - Superstore.xls"
    env = {"COCKPIT_CONFIG": str(EXAMPLES / "superstore-tableau-2019-2022-xls.yml")}
    proc = run_cli("sources", "check", str(path), "--as", "orders", "--sheet", "Orderz", env=env, check=False)
    assert proc.returncode == 1
    assert "no sheet named 'Orderz'; sheets: Orders, People, Returns" in proc.stderr + proc.stdout


def test_chinese_superstore_xls_matches_source_md_with_chinese_text(synced):
    report, con = synced("cn-superstore-tableau-xls")
    src = _source(report, "cn_superstore_orders")
    assert src["mapping"]["order_id"] == "订单 ID" and src["mapping"]["province"] == "省/自治区"
    assert _one(con, "SELECT round(sum(amount), 2), count(*) FROM orders") == (16117548.24, 10000)
    regions = {r for (r,) in con.execute("SELECT DISTINCT region FROM orders").fetchall()}
    assert regions == {"华东", "西南", "中南", "东北", "西北", "华北"}
    assert _one(con, "SELECT customer, city FROM orders WHERE line_id = '1'") == ("曾惠", "杭州")
    assert dict(con.execute("SELECT region, rep FROM reps").fetchall())["华东"] == "洪光"


def test_cp850_sales_sample_decodes_and_matches_source_md(synced, tmp_path):
    report, con = synced("kaggle-sample-sales-data-cp1252")
    src = _source(report, "classic_models_orders")
    assert src["encoding"] == "DOS code page 850"
    assert _one(con, "SELECT round(sum(amount), 2), count(*) FROM orders") == (10032628.85, 2823)
    # two-digit years (02/24/03) are 2003, not the year 3
    by_year = dict(con.execute("SELECT year(order_date), count(*) FROM orders GROUP BY 1").fetchall())
    assert by_year == {2003: 1000, 2004: 1345, 2005: 478}
    assert _one(con, "SELECT count(*) FROM orders WHERE region = 'NA'") == (1074,)  # North America, not missing
    assert _one(con, "SELECT count(*) FROM orders WHERE is_cancelled") == (60,)
    # the accented names are in address and contact columns, which no canonical field takes: read the cells
    raw = duckdb.connect()
    path = real_dataset("kaggle-sample-sales-data-cp1252") / "sales_data_sample.csv"
    read_raw(raw, path, "raw", workdir=tmp_path)
    cells = {c for row in raw.execute("SELECT c15, c23 FROM raw").fetchall() for c in row if c}
    assert {"Berguvsvägen  8", "Martín", "Rambla de Cataluña, 23"} <= cells


def test_tmall_orders_match_source_md_with_trailing_space_headers(synced):
    report, con = synced("cn-tmall-orders-2020")
    src = _source(report, "tmall_orders")
    assert src["mapping"] == {
        "order_id": "订单编号",
        "order_date": "订单创建时间",
        "amount": "总金额",
        "province": "收货地址",
    }
    assert _one(con, "SELECT count(*), count(DISTINCT order_id), round(sum(amount), 2) FROM orders") == (
        28010,
        28010,
        2995760.61,
    )
    assert _one(con, "SELECT count(*) FROM orders WHERE province = '内蒙古自治区'")[0] > 0
    assert _one(con, "SELECT min(order_day)::VARCHAR, max(order_day)::VARCHAR FROM orders") == (
        "2020-02-01",
        "2020-02-29",
    )


def test_taobao_listings_keep_their_latest_snapshot_per_id(synced):
    report, con = synced("cn-taobao-cosmetics-sales-2016")
    src = _source(report, "taobao_cosmetics_listings")
    assert (src["rows_read"], src["rows_loaded"], src["rows_superseded"]) == (27598, 3497, 24101)
    assert src["details"]["date_rules"]["updated_at"].startswith("%Y/%m/%d (27,598 of 27,598")
    assert _one(con, "SELECT count(*), count(DISTINCT series) FROM products") == (3497, 22)
    stores = {s for (s,) in con.execute("SELECT DISTINCT series FROM products").fetchall()}
    assert {"自然堂", "相宜本草", "欧莱雅"} <= stores


def test_online_retail_amount_is_quantity_times_unit_price(synced):
    report, con = synced("uci-online-retail-head8000")
    src = _source(report, "online_retail_lines")
    assert src["mapping"]["amount"] == "Quantity × UnitPrice"
    row = _one(
        con,
        "SELECT count(*), count(DISTINCT order_id), round(sum(amount), 2), count(*) FILTER (WHERE order_id LIKE 'C%'), "
        "count(*) FILTER (WHERE quantity < 0) FROM orders",
    )
    assert row == (8000, 444, 159046.86, 89, 119)
    assert _one(con, "SELECT count(*) FROM orders WHERE product_id IN ('85123A', 'POST')")[0] > 0  # codes stay text


def test_olist_lines_take_date_and_status_from_the_order_file(synced):
    report, con = synced("olist-ecommerce-2017-subset")
    src = _source(report, "olist_order_items")
    assert src["details"]["join"]["lines_unmatched"] == 0
    assert {i["kind"]: i["count"] for i in src["issues"]}["join_unused"] == 111  # orders without items (SOURCE.md)
    row = _one(
        con,
        "SELECT round(sum(amount), 2), count(*), count(DISTINCT order_id) FILTER (WHERE status = 'delivered') FROM orders",
    )
    assert row == (1381936.76, 11252, 9649)
    # customer_id is new on every order: counted by it nobody repeats; by the person (customer_unique_id), 77 do.
    # (SOURCE.md's 80 repeat orders include 3 orders that have no item lines.)
    repeaters = "SELECT count(*) FROM (SELECT {key} FROM orders GROUP BY 1 HAVING count(DISTINCT order_id) > 1)"
    assert _one(con, repeaters.format(key="customer_id")) == (0,)
    assert _one(con, repeaters.format(key="person_id")) == (77,)


def test_india_order_lines_and_category_targets_match_source_md(synced):
    report, con = synced("ecommerce-india-orders-targets")
    lines = _source(report, "india_order_lines")
    assert lines["details"]["date_rules"]["order_date"].startswith("%d-%m-%Y")  # decided day-first by the column
    assert _one(con, "SELECT round(sum(amount), 2), count(DISTINCT order_id) FROM orders") == (431502.0, 500)
    assert _one(con, "SELECT min(order_day)::VARCHAR, max(order_day)::VARCHAR FROM orders") == (
        "2018-04-01",
        "2019-03-31",
    )
    assert _one(
        con, "SELECT round(sum(amount), 2), count(*), min(period)::VARCHAR, max(period)::VARCHAR FROM targets"
    ) == (
        435900.0,
        36,
        "2018-04-01",
        "2019-03-01",
    )


def test_adventureworks_headerless_quota_history_as_rep_targets(synced):
    report, con = synced("adventureworks-sales-quota")
    quota = _source(report, "adventureworks_quota_history")
    assert (quota["rows_read"], quota["rows_loaded"]) == (163, 163)
    assert quota["delimiter"] == "\t"
    # 95,714,000 = the sum of column 4 of the file (awk -F'\t' '{s+=$4} END {print s}'), 17 people quoted
    assert _one(con, "SELECT count(*), sum(amount), count(DISTINCT rep_id), min(period)::VARCHAR FROM targets") == (
        163,
        95714000.0,
        17,
        "2011-05-01",
    )
    assert _one(con, "SELECT count(*) FROM reps") == (17,)
    assert not [i for i in quota["issues"] if i["kind"] == "key_unmatched"]  # every quota's rep is on the roster


def test_adventureworks_pipe_separated_dw_quota_reads_the_same_quotas(tmp_path, cockpit_env, capsys):
    folder = real_dataset("adventureworks-sales-quota")
    cockpit_env(
        {
            "business": {"currency": "USD", "timezone": "America/Los_Angeles"},
            "sources": [
                {
                    "name": "dw_quota",
                    "entity": "targets",
                    "path": str(folder / "dw_FactSalesQuota.csv"),
                    "mapping": {"rep": "EmployeeKey", "period": "DateKey", "amount": "SalesAmountQuota"},
                    "options": {
                        "header": "none",
                        "columns": [
                            "SalesQuotaKey",
                            "EmployeeKey",
                            "DateKey",
                            "CalendarYear",
                            "CalendarQuarter",
                            "SalesAmountQuota",
                            "Date",
                        ],
                    },
                    "schedule": "manual",
                }
            ],
        }
    )
    from sources.__main__ import main

    assert main(["sync", "--format", "json"]) == 0
    src = json.loads(capsys.readouterr().out)["sources"][0]
    assert (src["rows_read"], src["rows_loaded"], src["rows_rejected"]) == (163, 163, 0)
    from core.config import settings

    con = duckdb.connect(str(current_snapshot(settings().data_dir).path), read_only=True)
    assert _one(con, "SELECT sum(amount), min(period)::VARCHAR FROM targets") == (95714000.0, "2010-12-01")  # 20101229
    con.close()


def test_facebook_ads_spend_impressions_and_campaigns_match_source_md(synced):
    report, con = synced("facebook-ads-conversion-kag")
    src = _source(report, "facebook_ad_spend")
    assert src["details"]["date_rules"]["spend_date"].startswith("%d-%m-%Y")
    assert _one(con, "SELECT round(sum(amount), 2), sum(impressions), count(*) FROM campaign_spend") == (
        58705.23,
        213434828.0,
        1143,
    )
    assert dict(con.execute("SELECT campaign, count(*) FROM campaign_spend GROUP BY 1").fetchall()) == {
        "916": 54,
        "936": 464,
        "1178": 625,
    }
    assert _one(con, "SELECT min(spend_date)::VARCHAR, max(spend_date)::VARCHAR FROM campaign_spend") == (
        "2023-08-01",
        "2023-08-31",
    )


def test_supermarket_shift_takings_read_at_the_file_layer(tmp_path):
    """Cashier-shift takings feed no canonical entity (they are not order lines); the file still reads right:
    text date cells, full-width colons, blank takings and the sheet chosen."""
    path = real_dataset("cn-supermarket-shift-revenue") / "超市营业额2.xlsx"
    con = duckdb.connect()
    raw = read_raw(con, path, "shifts", sheet="Sheet1", workdir=tmp_path)
    assert raw.sheets == ["Sheet1", "Sheet2", "Sheet3"] and raw.rows == 250  # header + 249
    total, days, blanks = _one(
        con,
        f"SELECT sum({number_sql('c4')}), count(DISTINCT try_strptime(c2, '%Y-%m-%d')), count(*) FILTER (WHERE c4 IS NULL) "
        "FROM shifts WHERE _line > 1",
    )
    assert (total, days, blanks) == (327257.0, 31, 3)
    assert _one(con, "SELECT c1, c3 FROM shifts WHERE _line = 2") == ("张三", "9：00-14：00")
    assert read_raw(con, path, "april", sheet="Sheet2", workdir=tmp_path).rows == 9


def test_powerbi_sample_sheet1_reads_and_its_pivot_sheets_are_refused(tmp_path, cockpit_env, capsys):
    """Monthly aggregates without order ids feed no entity; Sheet1 reads (leading-space header, date cells) and
    the workbook's pivot-table sheets are refused as pivots."""
    path = real_dataset("powerbi-financial-sample-xlsx") / "Financial Sample.xlsx"
    con = duckdb.connect()
    read_raw(con, path, "fin", sheet="Sheet1", workdir=tmp_path)
    assert _one(con, "SELECT c9 FROM fin WHERE _line = 1") == (" Sales",)
    total, rows, first, last = _one(
        con, f"SELECT round(sum({number_sql('c9')}), 2), count(*), min(c12), max(c12) FROM fin WHERE _line > 1"
    )
    assert (total, rows, first, last) == (118726350.26, 700, "2013-09-01", "2014-12-01")
    cockpit_env({"sources": []})
    from sources.__main__ import main

    code = main(["check", str(path), "--as", "orders", "--sheet", "Sales by Country and Product", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and "pivot table" in report["error"] and "Sum of  Sales" in report["error"]
