"""Dates: one rule per column, decided by every value of the column; impossible dates rejected, never rolled over."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import xlsxwriter
import xlwt

from sources.__main__ import main as sources_main
from sources.dates import DateRule, choose_date_rule, revise_date_rule
from tests.file_loading import load_file


def _dates(tmp_path, cells: list[str], name: str = "dates.csv"):
    path = tmp_path / name
    body = "".join(f'SO{i},"{c}",1\n' for i, c in enumerate(cells, start=1))
    path.write_text("订单编号,订单日期,金额\n" + body, encoding="utf-8")
    return load_file(path, workdir=tmp_path)


def _days(loaded) -> list[str | None]:
    return [str(v.date()) if v else None for v in loaded.column("order_date")]


def test_month_first_is_decided_by_the_whole_column(tmp_path):
    loaded = _dates(tmp_path, ["1/2/2019", "2/3/2019", "1/13/2019"])
    assert _days(loaded) == ["2019-01-02", "2019-02-03", "2019-01-13"]
    assert loaded.details["date_rules"]["order_date"] == "%m/%d/%Y (3 of 3 values parse)"


def test_day_first_is_decided_by_a_value_far_down_the_column(tmp_path):
    """20,000 ambiguous dates, then one that only reads day-first: every row is read day-first."""
    cells = [f"{d % 12 + 1}/{m % 12 + 1}/2019" for d, m in zip(range(20_000), range(7, 20_007), strict=True)]
    cells.insert(12_345, "25/12/2019")
    loaded = _dates(tmp_path, cells)
    assert loaded.result.rows_rejected == 0
    assert _days(loaded)[:2] == ["2019-08-01", "2019-09-02"]  # 1/8/2019 is 1 August
    assert _days(loaded)[12_345] == "2019-12-25"
    assert loaded.details["date_rules"]["order_date"].startswith("%d/%m/%Y (20,001 of 20,001")


def test_a_rule_from_a_sample_is_revised_by_the_values_it_could_not_read():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES (1, '01/02/2019'), (2, '02/03/2019'), (3, '25/12/2019')) v(_line, c0)"
    )
    month_first = DateRule("%m/%d/%Y", False, 0, 0, formats=("%m/%d/%Y",))
    revised = revise_date_rule(con, "t", "c0", "TRUE", month_first)
    assert revised.all_formats == ("%d/%m/%Y",)
    assert "day-first: 1 values only fit it, 0 only fit month-first" in revised.note


def test_ambiguous_column_is_read_month_first_unless_the_source_says_dmy(tmp_path):
    loaded = _dates(tmp_path, ["1/2/2019", "2/3/2019"])
    assert _days(loaded) == ["2019-01-02", "2019-02-03"]
    assert "ambiguous" in loaded.issue("date_order")
    path = tmp_path / "dates.csv"
    day_first = load_file(path, workdir=tmp_path, options={"date_order": "dmy"})
    assert _days(day_first) == ["2019-02-01", "2019-03-02"]


def test_a_column_whose_dates_contradict_each_other_is_not_called_ambiguous(tmp_path):
    """`13/01/2019` beside `01/13/2019` was reported as "every day and month is ≤ 12"."""
    loaded = _dates(tmp_path, ["13/01/2019", "01/13/2019", "01/02/2019"])
    assert _days(loaded) == ["2019-01-13", "2019-01-02"]
    assert loaded.issue("date_order").startswith(
        "order_date: contradictory: as many dates only fit day-first (1 sampled) as only fit month-first; read as "
        "month-first, the others are rejected"
    )
    assert list(loaded.reasons()) == [2]


def test_two_digit_years_are_this_century(tmp_path):
    loaded = _dates(tmp_path, ["02/24/03", "05/07/03", "12/01/05"])
    assert _days(loaded) == ["2003-02-24", "2003-05-07", "2005-12-01"]
    assert loaded.details["date_rules"]["order_date"].startswith("%m/%d/%y")


def test_chinese_dates_weekdays_and_times_mix_in_one_column(tmp_path):
    loaded = _dates(
        tmp_path,
        ["2018年1月1日", "2018年1月2日 星期二", "2018-01-03 周三", "2018/1/4 (Thu)", "2018-01-05 10:30:00"],
    )
    assert loaded.result.rows_rejected == 0
    assert [str(v) for v in loaded.column("order_date")] == [
        "2018-01-01 00:00:00",
        "2018-01-02 00:00:00",
        "2018-01-03 00:00:00",
        "2018-01-04 00:00:00",
        "2018-01-05 10:30:00",
    ]


def test_iso_times_marked_utc_are_moved_to_the_business_clock(tmp_path):
    """`2018-01-05T13:45:00Z` (Salesforce and HubSpot exports) was rejected as 'not a valid date'."""
    loaded = _dates(
        tmp_path,
        ["2018-01-05T13:45:00Z", "2018-01-05T20:30:00.000Z", "2018-01-06 01:00:00 UTC", "2018-01-05T13:45:00+08:00"],
    )
    assert loaded.result.rows_rejected == 0, loaded.reasons()
    assert [str(v) for v in loaded.column("order_date")] == [
        "2018-01-05 21:45:00",  # Asia/Shanghai is UTC+8
        "2018-01-06 04:30:00",  # the next business day
        "2018-01-06 09:00:00",
        "2018-01-05 13:45:00",  # an explicit +08:00 stays as written
    ]


def test_english_weekday_before_the_date(tmp_path):
    loaded = _dates(tmp_path, ["Mon 01/15/2018", "Tuesday, 01/16/2018"])
    assert _days(loaded) == ["2018-01-15", "2018-01-16"]


def test_the_weekdays_beside_ambiguous_dates_decide_day_first(tmp_path):
    """`01/02/2018 星期四` (1 February, a Thursday) was read month-first as 2 January, a Tuesday."""
    loaded = _dates(tmp_path, ["01/02/2018 星期四", "05/03/2018 周一", "Sat 10/02/2018", "12/11/2018 (周一)"])
    assert _days(loaded) == ["2018-02-01", "2018-03-05", "2018-02-10", "2018-11-12"]
    assert loaded.details["date_rules"]["order_date"].startswith("%d/%m/%Y (4 of 4 values parse; day-first: the")
    assert "weekdays written beside the dates agree (4 of 4)" in loaded.details["date_rules"]["order_date"]


def test_a_weekday_that_does_not_fall_on_its_date_is_refused(tmp_path):
    """`2018-01-02 星期一` loaded as 2 January although that is a Tuesday: the date or the weekday is wrong."""
    loaded = _dates(tmp_path, ["2018-01-01 星期一", "2018-01-02 星期一", "Tue 01/03/2018", "2018年1月4日 周四"])
    assert _days(loaded) == ["2018-01-01", "2018-01-04"]
    assert loaded.reasons() == {
        3: "订单日期: not a valid date '2018-01-02 星期一' (the weekday written does not fall on 2018-01-02, a Tuesday)",
        4: "订单日期: not a valid date 'Tue 01/03/2018' (the weekday written does not fall on 2018-01-03, a Wednesday)",
    }


def test_a_weekday_beside_a_time_in_utc_is_checked_against_the_date_as_written(tmp_path):
    """Review finding: `2024-01-01T20:00:00Z Mon` was refused: the weekday was checked after moving the time to
    the business clock (2 January there)."""
    loaded = _dates(tmp_path, ["2024-01-01T20:00:00Z Mon", "2024-01-02T08:00:00Z Tue"])
    assert loaded.result.rows_rejected == 0, loaded.reasons()
    assert [str(v) for v in loaded.column("order_date")] == ["2024-01-02 04:00:00", "2024-01-02 16:00:00"]


def test_twelve_hour_times_in_english_and_chinese(tmp_path):
    """Second hostile try: `12/31/2023 11:59 PM` and `2024/1/5 下午 3:20:00` were rejected."""
    loaded = _dates(tmp_path, ["12/31/2023 11:59 PM", "1/2/2024 9:05 AM"])
    assert [str(v) for v in loaded.column("order_date")] == ["2023-12-31 23:59:00", "2024-01-02 09:05:00"]
    chinese = _dates(tmp_path, ["2024/1/5 下午 3:20:00", "2024/1/6 上午 11:00:00"], name="zh.csv")
    assert [str(v) for v in chinese.column("order_date")] == ["2024-01-05 15:20:00", "2024-01-06 11:00:00"]


def test_impossible_dates_are_rejected_with_a_reason_never_rolled_over(tmp_path):
    loaded = _dates(tmp_path, ["2018-02-28", "2018-02-29", "2018-13-01", "2019-02-29"])
    assert _days(loaded) == ["2018-02-28"]
    assert loaded.reasons() == {
        3: "订单日期: not a valid date '2018-02-29' (the column is read as %Y-%m-%d)",
        4: "订单日期: not a valid date '2018-13-01' (the column is read as %Y-%m-%d)",
        5: "订单日期: not a valid date '2019-02-29' (the column is read as %Y-%m-%d)",
    }


def test_excel_serial_numbers_in_a_csv_are_dates(tmp_path):
    loaded = _dates(tmp_path, ["43101", "43102.5", "2018-01-05"])
    assert [str(v) for v in loaded.column("order_date")] == [
        "2018-01-01 00:00:00",
        "2018-01-02 12:00:00",
        "2018-01-05 00:00:00",
    ]
    assert "Excel serial" in loaded.details["date_rules"]["order_date"]


def test_small_integers_in_a_date_column_are_not_serial_dates(tmp_path):
    loaded = _dates(tmp_path, ["2024-01-01", "7"])
    assert list(loaded.reasons()) == [3]


def test_month_labels_read_as_months(tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text(
        "MonthofOrderDate,Category,Target\nApr-18,Furniture,10400\nMar-19,Clothing,12000\n", encoding="utf-8"
    )
    loaded = load_file(path, "targets", workdir=tmp_path, mapping={"period": "MonthofOrderDate"})
    assert [str(p) for p in loaded.column("period")] == ["2018-04-01", "2019-03-01"]
    assert loaded.column("category") == ["Furniture", "Clothing"]


def test_real_excel_date_cells_and_text_cells_with_leading_zeros(tmp_path):
    path = tmp_path / "orders.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("订单")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for col, name in enumerate(["订单编号", "订单日期", "产品编码", "金额"]):
        sheet.write_string(0, col, name)
    sheet.write_string(1, 0, "000123")
    sheet.write_datetime(1, 1, dt.datetime(2024, 2, 29), day)
    sheet.write_string(1, 2, "00789")
    sheet.write_number(1, 3, 3.5399999999999987)
    sheet.write_string(2, 0, "000124")
    sheet.write_datetime(2, 1, dt.datetime(2024, 3, 1, 9, 30), stamp)
    sheet.write_string(2, 2, "01000")
    sheet.write_number(2, 3, 10)
    book.close()
    loaded = load_file(path, workdir=tmp_path)
    assert [str(v) for v in loaded.column("order_date")] == ["2024-02-29 00:00:00", "2024-03-01 09:30:00"]
    assert loaded.column("order_id") == ["000123", "000124"] and loaded.column("product_id") == ["00789", "01000"]
    assert round(sum(loaded.column("amount")), 2) == 13.54


def test_legacy_xls_sheet_choice_with_dates(tmp_path, cockpit_env, capsys):
    path = tmp_path / "legacy.xls"
    book = xlwt.Workbook(encoding="utf-8")
    book.add_sheet("说明").write(0, 0, "本工作簿由 ERP 导出")
    sheet = book.add_sheet("订单")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for col, name in enumerate(["订单编号", "订单日期", "客户名称", "金额"]):
        sheet.write(0, col, name)
    sheet.write(1, 0, "00017")
    sheet.write(1, 1, dt.date(2018, 1, 1), date_style)
    sheet.write(1, 2, "重庆百货")
    sheet.write(1, 3, 88.5)
    book.save(str(path))
    cockpit_env({"sources": []})
    assert sources_main(["check", str(path), "--sheet", "订单", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["details"]["sheets"] == ["说明", "订单"] and report["details"]["sheet"] == "订单"
    assert report["entity"] == "orders" and report["rows_loaded"] == 1
    loaded = load_file(path, workdir=tmp_path, sheet="订单")
    assert [(r["order_id"], str(r["order_date"]), r["customer_name"], r["amount"]) for r in loaded.rows] == [
        ("00017", "2018-01-01 00:00:00", "重庆百货", 88.5)
    ]


def test_choose_date_rule_says_when_a_column_is_empty():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 1 AS _line, CAST(NULL AS VARCHAR) AS c0")
    assert choose_date_rule(con, "t", "c0").all_formats == ()
