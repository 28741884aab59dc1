"""Finance's targets template (one row per team or rep, months as columns, amounts in 万) loads with validation."""

from __future__ import annotations

import json

import duckdb
import pytest
import xlsxwriter

from core.config import settings
from core.warehouse import current_snapshot
from sources.__main__ import main as sources_main
from sources.files.structure import StructureError
from tests.file_loading import load_file

MONTHS = [f"{m}月" for m in range(1, 13)]
# team 华东一组 = 张三 + 李四 in every month but March (where the team row says 31 and the reps 30)
TEMPLATE = [
    ["2024年销售目标（单位：万元）"],
    [],
    ["团队", "销售代表", *MONTHS, "合计"],
    ["华东一组", "", 12, 12, 31, 12, 12, 12, 12, 12, 12, 12, 12, 12, 163],
    ["", "张三", 5, 5, 10, 5, 5, 5, 5, 5, 5, 5, 5, 5, 65],
    ["", "李四", 7, 7, 20, 7, 7, 7, 7, 7, 7, 7, 7, 7, 94],  # months sum to 97, 合计 says 94
    ["华东一组 小计", "", 12, 12, 30, 12, 12, 12, 12, 12, 12, 12, 12, 12, 162],
    ["华南组", "", 8, "待定", 8, 8, 8, 8, 8, 8, 8, 8, 8, None, 88],
    [],
    ["合计", "", 20, 12, 38, 20, 20, 20, 20, 20, 20, 20, 20, 12, 250],
]


def _template(tmp_path, rows=TEMPLATE, name="targets.xlsx"):
    path = tmp_path / name
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("年度目标")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            (sheet.write_number if isinstance(value, (int, float)) else sheet.write_string)(r, c, value)
    book.close()
    return path


def test_wide_template_unpivots_into_monthly_targets_in_yuan(tmp_path):
    loaded = load_file(_template(tmp_path), "targets", workdir=tmp_path)
    layout = loaded.details["layout"]
    assert layout["periods"] == "2024-01 .. 2024-12" and layout["year"].startswith("title")
    assert layout["amount_unit"] == "decimal point (1,234.56); ×10,000 (title says 万元)"
    by_key = {(r["team"], r["rep"], str(r["period"])): r["amount"] for r in loaded.rows}
    assert by_key[("华东一组", None, "2024-01-01")] == 120_000.0
    assert by_key[("华东一组", "张三", "2024-03-01")] == 100_000.0  # 张三's team filled down from the row above
    assert by_key[("华东一组", "李四", "2024-12-01")] == 70_000.0
    assert by_key[("华南组", None, "2024-01-01")] == 80_000.0
    assert len(loaded.rows) == 12 * 3 + 10  # 华南组: one cell says 待定, one is empty


def test_template_accounting_is_per_cell_with_rejects_by_line_and_column(tmp_path):
    loaded = load_file(_template(tmp_path), "targets", workdir=tmp_path)
    result = loaded.result
    # 7 lines below the header (4, 5, 6, 7, 8, a blank line 9, 10) × 12 month columns
    assert result.rows_read == 7 * 12 and loaded.balanced()
    assert result.skipped_by_kind == {"blank": 12, "blank_cell": 1, "total": 24}
    assert [(r["line"], r["column"], r["reason"]) for r in result.rejects] == [(8, "2月", "2月: not an amount '待定'")]


def test_template_total_rows_are_named_once_each_not_once_per_month_cell(tmp_path):
    """The skipped totals read "lines 7, 7, 7, 7, …": one entry per month cell of the 小计 row."""
    loaded = load_file(_template(tmp_path), "targets", workdir=tmp_path)
    assert loaded.issue("skipped_total") == "total and subtotal rows (合计/小计/Total): lines 7, 10"


def test_template_row_total_column_is_checked_against_the_months(tmp_path):
    loaded = load_file(_template(tmp_path), "targets", workdir=tmp_path)
    assert loaded.issues["targets_row_total"] == 1
    assert "line 6: months sum to 97.00, 合计 says 94.00" in loaded.issue("targets_row_total")
    assert loaded.issues["filled_down"] == 2


def test_template_with_iso_month_headers_needs_no_title(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('销售代表,2024-01,2024-02,2024-03\n张三,1.5万,"20,000",0\n', encoding="utf-8")
    loaded = load_file(path, "targets", workdir=tmp_path)
    assert [(str(r["period"]), r["amount"]) for r in loaded.rows] == [
        ("2024-01-01", 15000.0),
        ("2024-02-01", 20000.0),
        ("2024-03-01", 0.0),
    ]


def test_template_months_without_a_year_ask_for_one(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("团队,1月,2月,3月\n华东一组,1,2,3\n", encoding="utf-8")
    with pytest.raises(StructureError, match="year: 2024"):
        load_file(path, "targets", workdir=tmp_path)
    loaded = load_file(path, "targets", workdir=tmp_path, options={"year": 2025, "unit": "万元"})
    assert [(str(r["period"]), r["amount"]) for r in loaded.rows][0] == ("2025-01-01", 10000.0)


def test_template_is_not_refused_as_a_pivot_but_the_same_layout_of_orders_is(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("团队,2024-01,2024-02,2024-03\n华东一组,1,2,3\n", encoding="utf-8")
    assert len(load_file(path, "targets", workdir=tmp_path).rows) == 3
    with pytest.raises(StructureError, match="pivot report"):
        load_file(path, "orders", workdir=tmp_path)


def test_sync_reports_unknown_teams_and_team_targets_that_differ_from_their_reps(tmp_path, cockpit_env, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("工号,姓名,团队,区域\nS1,张三,华东一组,华东\nS2,李四,华东一组,华东\n", encoding="utf-8")
    cockpit_env(
        {
            "sources": [
                {"name": "roster", "entity": "reps", "path": str(roster), "schedule": "manual"},
                {
                    "name": "targets",
                    "entity": "targets",
                    "path": str(_template(tmp_path)),
                    "reject_threshold": 0.1,
                    "schedule": "manual",
                },
            ]
        }
    )
    code = sources_main(["sync", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    targets = next(s for s in report["sources"] if s["name"] == "targets")
    assert code == 0, report
    issues = {i["kind"]: i for i in targets["issues"]}
    assert issues["unknown_team"]["detail"] == "targets name teams the rep roster does not have: 华南组 (10 targets)"
    assert (
        issues["targets_inconsistent"]["count"] == 1 and "华东一组 2024-03" in issues["targets_inconsistent"]["detail"]
    )
    con = duckdb.connect(str(current_snapshot(settings().data_dir).path), read_only=True)
    total = con.execute("SELECT sum(amount) FROM targets WHERE level = 'rep'").fetchall()[0][0]
    con.close()
    assert total == (65 + 97) * 10_000
