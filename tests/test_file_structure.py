"""The shape of an export: header below title rows, totals and subtotals, pivots, blank and repeated lines.

Every row read is loaded, rejected, superseded or skipped — and the skipped ones are reported by kind and line.
"""

from __future__ import annotations

import json

import pytest

from sources.__main__ import main as sources_main
from sources.files.structure import StructureError
from sources.mapping import MappingError
from tests.file_loading import load_file

REGIONAL_REPORT = """华东区销售明细
统计期间：2024-01-01 至 2024-01-31,,,,
单位：元,,,,

地区,订单编号,订单日期,客户名称,金额
华东,SO001,2024-01-02,上海华联,"1,000.00"
华东,SO002,2024-01-03,杭州解百,500.00
华东 小计,,,,"1,500.00"
华北,SO003,2024-01-04,北京燕莎,200.00
华北,SO004,2024-01-05,天津劝业场,300.00
华北小计,,,,500.00
,,,小计,
Subtotal West,,,,0
East Total,,,,0
总计,,,,"2,000.00"
"""


def test_header_below_title_rows_and_subtotals_per_group_are_skipped_and_reported(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text(REGIONAL_REPORT, encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.details["header_row"] == 5
    assert "统计期间" in loaded.details["title"]
    assert loaded.column("order_id") == ["SO001", "SO002", "SO003", "SO004"]
    assert sum(loaded.column("amount")) == 2000.0  # totals never double the revenue
    assert loaded.result.skipped_by_kind == {"total": 6}
    assert loaded.issue("skipped_total").endswith("lines 8, 11, 12, 13, 14, 15")
    assert loaded.balanced() and loaded.result.rows_read == 10


def test_a_product_named_total_is_a_row_not_a_total(tmp_path):
    path = tmp_path / "named.csv"
    path.write_text("订单编号,订单日期,产品名称,金额\nSO1,2024-01-02,Total Gym XLS,10\n合计,,,10\n", encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("product_name") == ["Total Gym XLS"]
    assert loaded.result.skipped_by_kind == {"total": 1}


def test_customers_and_orders_named_with_a_total_word_are_rows_not_totals(tmp_path):
    """`Total S.A.`, `Sum Kee Trading`, `合计科技` and order `TOTAL-5` were skipped as totals: every cell filled."""
    path = tmp_path / "names.csv"
    path.write_text(
        "订单编号,订单日期,客户名称,金额\n"
        "SO1,2024-01-02,Total S.A.,10\n"
        "SO2,2024-01-03,Sum Kee Trading,20\n"
        "SO3,2024-01-04,合计科技,30\n"
        "TOTAL-5,2024-01-05,汇总网络有限公司,40\n"
        "合计 4 笔,,,100\n"
        "Total for January,,,100\n",
        encoding="utf-8",
    )
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("order_id") == ["SO1", "SO2", "SO3", "TOTAL-5"]
    assert loaded.column("customer_name") == ["Total S.A.", "Sum Kee Trading", "合计科技", "汇总网络有限公司"]
    assert loaded.result.skipped_by_kind == {"total": 2}
    assert loaded.issue("skipped_total").endswith("lines 6, 7")


def test_a_customer_list_without_ids_keeps_customers_named_with_a_total_word(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "Customer Name,Region,Segment,Notes\nTotal S.A.,East,Corporate,\nSum Kee Trading,West,,\n"
        "Acme,East,Consumer,\nTotal,,,\n合计 3 家,,,\n",
        encoding="utf-8",
    )
    loaded = load_file(path, workdir=tmp_path, entity="customers")
    assert loaded.column("customer_name") == ["Total S.A.", "Sum Kee Trading", "Acme"]
    assert loaded.result.skipped_by_kind == {"total": 2}


def test_a_total_row_that_fills_every_column_is_still_a_total_and_an_empty_note_does_not_make_one(tmp_path):
    """Review finding: `合计 2 笔,2024-01-31,300` (every column filled) loaded as an order and tripled revenue, and
    an order of customer `Total S.A.` with an empty 备注 was skipped as a total."""
    path = tmp_path / "orders.csv"
    path.write_text(
        "订单编号,订单日期,客户名称,金额,备注\n"
        "SO1,2024-01-02,Total S.A.,100,\n"
        "SO2,2024-01-03,合计科技,200,\n"
        "合计 2 笔,2024-01-31,,300,\n"
        "Grand Total (January),2024-01-31,,300,\n"
        "TOTAL-5,2024-01-05,汇总网络有限公司,40,\n",
        encoding="utf-8",
    )
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("order_id") == ["SO1", "SO2", "TOTAL-5"]
    assert sum(loaded.column("amount")) == 340.0
    assert loaded.issue("skipped_total").endswith("lines 4, 5")


def test_blank_lines_and_repeated_headers_are_skipped_with_exact_line_numbers(tmp_path):
    text = (
        "Order ID,Order Date,Amount\r\n"
        "A1,2024-01-01,1\r\n"
        "\r\n"
        "\r\n"
        "A2,2024-01-02,x\r\n"
        "Order ID,Order Date,Amount\r\n"
        "A3,2024-01-03,3\r\n"
        ",,\r\n"
        "A4,2024-02-30,4\r\n"
    )
    path = tmp_path / "pages.csv"
    path.write_text(text, encoding="utf-8", newline="")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("order_id") == ["A1", "A3"]
    assert loaded.column("_line") == [2, 7]
    assert loaded.result.skipped_by_kind == {"blank": 3, "repeated_header": 1}
    assert loaded.reasons() == {
        5: "Amount: not an amount 'x'",
        9: "Order Date: not a valid date '2024-02-30' (the column is read as %Y-%m-%d)",
    }
    assert loaded.balanced() and loaded.result.rows_read == 8


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_classic_mac_line_endings_are_read_line_by_line(tmp_path, encoding):
    """A CSV whose lines end in a bare carriage return (Excel for Mac's "CSV (Macintosh)") failed with Python's
    "new-line character seen in unquoted field" instead of loading."""
    text = "订单编号,订单日期,客户名称,金额\rSO1,2024-01-02,上海华联,10\r\rSO2,2024-01-03,杭州解百,x\rSO3,2024-01-04,北京燕莎,30\r"
    path = tmp_path / "mac.csv"
    path.write_bytes(text.encode(encoding))
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("order_id") == ["SO1", "SO3"]
    assert loaded.column("customer_name") == ["上海华联", "北京燕莎"]
    assert loaded.column("_line") == [2, 5]
    assert loaded.reasons() == {4: "金额: not an amount 'x'"}
    assert loaded.result.skipped_by_kind == {"blank": 1}


def _lines_of(tmp_path, text: str):
    path = tmp_path / "notes.csv"
    path.write_text(text, encoding="utf-8")
    return load_file(path, workdir=tmp_path)


def test_quoted_line_breaks_keep_exact_line_numbers(tmp_path):
    """Values with line breaks (and empty lines inside them) made every later row report a record number, and a
    blank line beside them shifted those by one; DuckDB's own reject line counted records too."""
    loaded = _lines_of(
        tmp_path,
        "Order ID,Order Date,Amount,Notes\n"
        'A1,2024-01-01,1,"two\n\nparagraphs"\n'  # lines 2-4, line 3 empty inside the value
        "\n"  # line 5: a blank line
        "A2,2024-01-02,zz,ok\n"  # 6
        'A3,2024-01-03,3,"x"y\n'  # 7: text after a closing quote, refused by DuckDB
        '"A4",2024-01-04,4,"x\n\n\ny"\n'  # 8-11
        "A5,2024-01-05,q,ok\n",  # 12
    )
    assert loaded.details["exact_lines"] is True
    assert loaded.column("order_id") == ["A1", "A4"]
    assert loaded.details["unmapped_columns"] == ["Notes"]  # notes are not loaded; their line breaks count
    assert loaded.column("_line") == [2, 8]
    assert loaded.reasons() == {
        6: "Amount: not an amount 'zz'",
        7: "a quoted value with text after its closing quote",
        12: "Amount: not an amount 'q'",
    }
    assert loaded.result.skipped_by_kind == {"blank": 1}
    assert loaded.balanced() and loaded.result.rows_read == 6


UNCLOSED = 'a quote opened on this line is never closed (a stray " in a value?); the line is rejected and the lines '
RUNAWAY = 'a quote opened on this line runs over the next lines and closes with text after it (a stray " in a '


@pytest.mark.parametrize("parallel_safe", [True, False], ids=["plain-file", "file-with-multiline-notes"])
def test_a_stray_quote_left_open_rejects_its_line_and_the_rest_of_the_file_still_loads(tmp_path, parallel_safe):
    """`"杭州解百 6 寸` (a quote never closed) swallowed every later line into one rejected row, named the wrong
    cause, and counted 2 rows read of 4: near the end of a big file the lost lines were under the threshold."""
    notes = '"two\nlines"' if not parallel_safe else "ok"
    loaded = _lines_of(
        tmp_path,
        "订单编号,订单日期,客户名称,金额,备注\n"
        f"SO1,2024-01-02,上海华联,10,{notes}\n"
        'SO2,2024-01-03,"杭州解百 6 寸,20,ok\n'
        "SO3,2024-01-04,北京燕莎,30,ok\n"
        "SO4,2024-01-05,天津劝业场,40,ok\n",
    )
    shift = 0 if parallel_safe else 1
    assert loaded.column("order_id") == ["SO1", "SO3", "SO4"]
    assert loaded.column("_line") == [2, 4 + shift, 5 + shift]
    reasons = loaded.reasons()
    assert list(reasons) == [3 + shift] and reasons[3 + shift].startswith(UNCLOSED)
    rejected = next(r for r in loaded.result.rejects if r["line"] == 3 + shift)
    assert rejected["raw"] == {"line": 'SO2,2024-01-03,"杭州解百 6 寸,20,ok'}
    assert loaded.balanced() and loaded.result.rows_read == 4


SWALLOWED = "a quoted value opened on this line takes in the next lines, which read as rows of the file "


@pytest.mark.parametrize("note", ['"open', '"replaces cancelled order:'])
def test_a_quoted_value_taking_in_lines_that_read_as_rows_is_rejected_whole(tmp_path, note):
    """Review findings: `"open` closed by the `24"` of a later line took A2 and A3 into A1's status without a
    word; and a note quoting a cancelled order's row, once read as a stray quote, loaded that row as an order.
    Either way the span is ambiguous: it is rejected as one, with its text, and nothing in it is loaded."""
    loaded = _lines_of(
        tmp_path,
        "Order ID,Order Date,Amount,Status\n"
        f"A1,2024-01-01,1,{note}\n"
        "A0,2023-12-30,500,cancelled\n"
        'A3,2024-01-03,3,Dell 24"\n'
        "A4,2024-01-04,4,ok\n",
    )
    assert loaded.column("order_id") == ["A4"]
    assert loaded.column("_line") == [5]
    assert list(loaded.reasons()) == [2] and loaded.reasons()[2].startswith(SWALLOWED)
    rejected = loaded.result.rejects[0]
    assert rejected["raw"]["line"] == f'A1,2024-01-01,1,{note}\nA0,2023-12-30,500,cancelled\nA3,2024-01-03,3,Dell 24"'
    assert loaded.balanced() and loaded.result.rows_read == 2


def test_a_note_with_line_breaks_and_commas_is_one_value_not_a_stray_quote(tmp_path):
    loaded = _lines_of(
        tmp_path,
        "Order ID,Order Date,Amount,Notes,Channel\n"
        'A1,2024-01-01,1,"called, no answer\nemailed, waiting, will call",web\n'
        'A2,2024-01-02,2,"x\ny",web\n',
    )
    assert loaded.column("order_id") == ["A1", "A2"] and loaded.column("_line") == [2, 4]
    assert loaded.reasons() == {}


def test_a_stray_quote_closed_lines_later_rejects_only_its_own_line(tmp_path):
    loaded = _lines_of(
        tmp_path,
        "Order ID,Order Date,Amount,Status\n"
        'A1,2024-01-01,1,"open\n'  # the quote closes at the next line's first quote, with `1,000` after it
        'A2,2024-01-02,2,"1,000"\n'
        'A3,2024-01-03,3,Dell 24" monitor\n',  # a quote inside an unquoted value is a character
    )
    assert loaded.column("order_id") == ["A2", "A3"]
    assert loaded.column("status") == ["1,000", 'Dell 24" monitor']
    assert loaded.column("_line") == [3, 4]
    assert list(loaded.reasons()) == [2] and loaded.reasons()[2].startswith(RUNAWAY)


@pytest.mark.parametrize(
    "text",
    [
        "Sum of Sales,Column Labels,,\nRow Labels,East,West,Grand Total\nFurniture,1,2,3\nGrand Total,1,2,3\n",
        "求和项:金额,列标签,,\n行标签,华东,华北,总计\n办公用品,1,2,3\n总计,1,2,3\n",
        "产品,2024-01,2024-02,2024-03,合计\nA,1,2,3,6\nB,4,5,6,15\n",
    ],
    ids=["excel-pivot", "wps-pivot-zh", "months-as-columns"],
)
def test_a_pivot_report_saved_as_csv_is_refused_with_a_message_that_says_so(tmp_path, text):
    path = tmp_path / "pivot.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StructureError, match="pivot"):
        load_file(path, workdir=tmp_path)


def test_pivot_refusal_through_the_cli_without_an_entity(tmp_path, cockpit_env, capsys):
    cockpit_env({"sources": []})
    path = tmp_path / "pivot.csv"
    path.write_text("行标签,华东,华北,总计\n办公用品,1,2,3\n", encoding="utf-8")
    code = sources_main(["check", str(path), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 1 and "pivot table" in captured.err and "行标签" in captured.err


def test_a_file_without_header_reads_with_the_columns_option(tmp_path):
    path = tmp_path / "quota.tsv"
    path.write_text("1\t274\t2011-05-31 00:00:00\t28000\n2\t274\t2011-08-31 00:00:00\t7000\n", encoding="utf-8")
    loaded = load_file(
        path,
        "targets",
        workdir=tmp_path,
        mapping={"rep": "person", "period": "quota date", "amount": "quota"},
        options={"header": "none", "columns": ["row", "person", "quota date", "quota"]},
    )
    assert loaded.details["header_row"] == 0 and loaded.details["delimiter"] == "\t"
    assert [(r["rep"], str(r["period"]), r["amount"]) for r in loaded.rows] == [
        ("274", "2011-05-31", 28000.0),
        ("274", "2011-08-31", 7000.0),
    ]


def test_unknown_file_options_are_named(tmp_path, cockpit_env, capsys):
    path = tmp_path / "a.csv"
    path.write_text("order id,order date,amount\nA,2024-01-01,1\n", encoding="utf-8")
    cockpit_env(
        {
            "sources": [
                {
                    "name": "a",
                    "entity": "orders",
                    "path": str(path),
                    "options": {"decimals": "comma"},
                    "schedule": "manual",
                }
            ]
        }
    )
    assert sources_main(["sync", "--format", "json"]) == 1
    error = json.loads(capsys.readouterr().out)["sources"][0]["error"]
    assert "unknown file source option(s) decimals" in error and "decimal" in error


def test_a_column_without_header_is_reported_not_a_reason_to_reject(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("订单编号,订单日期,金额,\nSO1,2024-01-05,1,急单\nSO2,2024-01-06,2,补货\n", encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("order_id") == ["SO1", "SO2"] and loaded.result.rows_rejected == 0
    assert loaded.issue("unnamed_column") == "column 4 has values but no header; it is not loaded"


def test_line_numbers_stay_exact_when_a_large_file_is_read_in_parallel(tmp_path):
    """Regression: record numbers come from the table's row ids after a parallel read, not from a window."""
    rows = 700_000  # about 20 MB: several reader buffers, so the scan runs on more than one thread
    lines = ["Order ID,Order Date,Amount\n"] + [f"A{i},2024-01-05,{i % 997}\n" for i in range(rows)]
    for line in (2, 350_001, rows + 1):
        lines[line - 1] = f"B{line},2024-01-05,n/a\n"
    lines.insert(500_000, "\n")  # a blank line: later records shift by one
    path = tmp_path / "large.csv"
    path.write_text("".join(lines), encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.result.rows_loaded == rows - 3
    assert loaded.reasons() == {
        2: "Amount: not an amount 'n/a'",
        350_001: "Amount: not an amount 'n/a'",
        rows + 2: "Amount: not an amount 'n/a'",
    }
    line_of = dict(zip(loaded.column("order_id"), loaded.column("_line"), strict=True))
    assert line_of["A1"] == 3 and line_of["A499998"] == 500_000 and line_of["A499999"] == 500_002


def _blank_lines_by_hand(data: bytes) -> tuple[int, list[int]]:
    text = data.decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file ends with a line break
    blank = [i for i, ln in enumerate(lines, start=1) if ln in ("", "\r") or (i == 1 and ln.strip("\r") == "\ufeff")]
    return len(lines) - len(blank), blank


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 64])
def test_line_layout_counts_blank_lines_across_chunk_boundaries(tmp_path, chunk):
    """The file is read in blocks; a blank line (or a BOM-only first line) at any block edge is still found."""
    import random

    from sources.files.raw import line_layout

    rng = random.Random(chunk)
    pieces = ["a,b", "", "\r", "x", "12,3", "\ufeff"]
    for case in range(60):
        body = [rng.choice(pieces) for _ in range(rng.randint(0, 12))]
        data = ("\n".join(body) + rng.choice(["", "\n", "\r\n"])).encode("utf-8")
        data = data.replace("\ufeff".encode(), b"") if not data.startswith("\ufeff".encode()) else data
        path = tmp_path / f"f{case}.csv"
        path.write_bytes(data)
        assert line_layout(path, chunk_bytes=chunk) == _blank_lines_by_hand(data), data


def _workbook(path, sheets: dict[str, list[list[object]]]):
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
    book.close()
    return path


INSTRUCTIONS = [["填写说明"], ["1. 金额单位为元"], ["2. 日期格式 2024-01-31"]]


def test_a_workbook_whose_first_sheet_is_instructions_is_read_from_its_table_sheet(tmp_path):
    """A 说明 sheet first made the load fail with "no header row found", naming neither sheet nor --sheet."""
    orders = [
        ["订单编号", "订单日期", "客户名称", "金额"],
        ["SO1", "2024-01-02", "上海华联", 10],
        ["SO2", "2024-01-03", "杭州解百", 20],
    ]
    path = _workbook(tmp_path / "export.xlsx", {"说明": INSTRUCTIONS, "订单明细": orders})
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("order_id") == ["SO1", "SO2"]
    assert loaded.details["sheet"] == "订单明细"
    assert loaded.issue("sheet") == "read sheet '订单明细', not '说明' (--sheet chooses)"


def test_an_instructions_sheet_with_an_example_row_is_not_loaded_as_an_order(tmp_path):
    """Second hostile try: a 说明 sheet showing an example header and row loaded the example as an order."""
    example = [
        ["填写说明：按下列格式填写"],
        ["订单编号", "订单日期", "客户名称", "金额"],
        ["示例：SO0001", "2024-01-01", "示例客户", 1000],
    ]
    orders = [["订单编号", "订单日期", "客户名称", "金额"], ["SO1", "2024-01-02", "上海华联", 10]]
    path = _workbook(tmp_path / "export.xlsx", {"填写说明": example, "订单": orders})
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("order_id") == ["SO1"] and loaded.details["sheet"] == "订单"


def test_a_first_sheet_of_label_value_pairs_is_passed_over_for_the_table(tmp_path):
    """Second hostile try: an export-info sheet (`导出人 | 张三`) failed the workbook without naming the sheet."""
    info = [["序号", "说明"], [1, "导出人：张三"], [2, "导出时间：2024-02-01"]]
    orders = [["订单编号", "订单日期", "客户名称", "金额"], ["SO1", "2024-01-02", "上海华联", 10]]
    path = _workbook(tmp_path / "export.xlsx", {"导出信息": info, "订单": orders})
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("order_id") == ["SO1"]
    assert loaded.issue("sheet") == "sheet '导出信息' holds no table of orders; read sheet '订单' (--sheet chooses)"


def test_a_workbook_without_a_table_names_the_sheet_and_the_others(tmp_path):
    path = _workbook(tmp_path / "notes.xlsx", {"说明": INSTRUCTIONS, "备注": [["仅供参考"]]})
    with pytest.raises(StructureError, match=r"in sheet '备注'; no other sheet of '说明', '备注' holds one either"):
        load_file(path, workdir=tmp_path)


def test_two_columns_for_one_field_are_reported_not_silently_one_of_them(tmp_path):
    """Two 金额 columns (or 金额 beside 销售金额): the first was read and the other left out without a word."""
    path = tmp_path / "twice.csv"
    path.write_text("订单编号,订单日期,金额,客户名称,金额\nSO1,2024-01-02,10,上海华联,12\n", encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("amount") == [10.0]
    assert loaded.issue("duplicate_columns") == (
        "'金额' (column 5) would also be amount, read from '金额' (column 3): the first is read "
        "(to read the other, name it under mapping:, or rename it when both are called alike)"
    )


def test_a_first_sheet_whose_table_lacks_a_column_is_an_error_not_a_reason_to_read_another_sheet(tmp_path):
    """Review finding: a first sheet without 金额 made the load read the next sheet (上月订单) instead."""
    this_month = [["订单编号", "订单日期", "客户名称"], ["SO1", "2024-02-02", "上海华联"]]
    last_month = [["订单编号", "订单日期", "客户名称", "金额"], ["SO0", "2024-01-02", "杭州解百", 20]]
    path = _workbook(tmp_path / "orders.xlsx", {"本月订单": this_month, "上月订单": last_month})
    with pytest.raises(MappingError, match="no column for required orders field"):
        load_file(path, workdir=tmp_path)


def test_a_stray_quote_in_a_narrow_file_rejects_the_row_it_spoils_instead_of_renaming_a_rep(tmp_path):
    """Second hostile try: in `月份,销售代表,目标`, `"张三,10000` closed by `李四"` on the next line loaded one
    target of 20,000 for a rep named `张三,10000⏎2024-02,李四`; 李四's February row was gone without a word."""
    path = tmp_path / "targets.csv"
    path.write_text(
        '月份,销售代表,目标\n2024-01,"张三,10000\n2024-02,李四",20000\n2024-03,王五,30000\n', encoding="utf-8"
    )
    loaded = load_file(path, "targets", workdir=tmp_path)
    assert loaded.column("rep") == ["王五"]
    assert loaded.reasons() == {
        2: "销售代表: a line break inside '张三,10000 ⏎ 2024-02,李四' (a stray quote that took in the next lines?)"
    }
    assert loaded.balanced()


def test_an_erp_report_footer_padded_totals_and_a_joined_export_are_skipped_not_rejected(tmp_path):
    """Second hostile try: `合 计`, `累计`, `共2条记录`, `制表人：…` and a repeated header with a byte-order mark
    (two exports joined) were rejected, so a short report went over the reject threshold; 单据编号 was not
    recognised as the order number (Kingdee)."""
    path = tmp_path / "kingdee.csv"
    path.write_text(
        "单据编号,单据日期,客户名称,金额\n"
        "XSDD001,2024-01-02,上海华联,100\n"
        "\ufeff单据编号,单据日期,客户名称,金额\n"
        "XSDD002,2024-01-03,杭州解百,200\n"
        "合 计,,,300\n"
        "累计,,,300\n"
        "共2条记录,,,\n"
        "制表人：张三,,打印时间：2024-01-31 10:00,\n",
        encoding="utf-8",
    )
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("order_id") == ["XSDD001", "XSDD002"]
    assert loaded.result.rows_rejected == 0, loaded.reasons()
    assert loaded.result.skipped_by_kind == {"note": 2, "repeated_header": 1, "total": 2}
    assert loaded.issue("skipped_note") == "notes under the table (共 N 条, 制表人, page numbers)"


def test_a_multi_page_export_repeats_its_title_lines_and_header_which_are_skipped(tmp_path):
    """Second hostile try: the title lines an ERP prints above each page's header were rejected as orders."""
    page = "华东区销售明细\n统计期间：2024-01-01 至 2024-01-31,,,\n订单编号,订单日期,客户名称,金额\n"
    path = tmp_path / "pages.csv"
    path.write_text(page + "SO1,2024-01-02,上海华联,100\n" + page + "SO2,2024-01-03,杭州解百,200\n", encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("order_id") == ["SO1", "SO2"]
    assert loaded.result.rows_rejected == 0, loaded.reasons()
    assert loaded.result.skipped_by_kind == {"repeated_header": 3}
