"""Numbers as exports write them, and the rule each column was read with shown to the user."""

from __future__ import annotations

import json

import duckdb
import pytest

from core.config import settings
from core.warehouse import current_snapshot
from sources.__main__ import main as sources_main
from tests.file_loading import load_file

AMOUNTS = [
    ("1234", 1234.0),
    ("1,234.50", 1234.5),
    ("¥1,234.50", 1234.5),
    ("￥1,234.50", 1234.5),
    ("US$1,234.00", 1234.0),
    ("$ 1,234.00", 1234.0),
    ("USD 99", 99.0),
    ("1,234 元", 1234.0),
    ("€ 12.50", 12.5),
    ("(1,234.00)", -1234.0),
    ("¥(4,151.08)", -4151.08),
    ("（88）", -88.0),
    ("-¥12", -12.0),
    ("1234-", -1234.0),
    ("-", 0.0),
    ("—", 0.0),
    ("$ -  ", 0.0),
    ("3.2万元", 32000.0),
    ("1.5万", 15000.0),
    ("2亿", 200000000.0),
    ("１２３", 123.0),
    ("1.5E+05", 150000.0),
]


def _file(tmp_path, cells: list[str], header: str = "金额", title: str = ""):
    lines = [title] if title else []
    lines.append(f"订单编号,订单日期,{header}")
    lines += [f'SO{i},2024-01-05,"{c}"' for i, c in enumerate(cells, start=1)]
    path = tmp_path / "amounts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _row_currency(cell: str) -> str:
    return "USD" if "$" in cell or "USD" in cell else "EUR" if "€" in cell else "CNY"


def test_every_written_form_of_an_amount_is_read(tmp_path):
    path = tmp_path / "amounts.csv"
    rows = [f'SO{i},2024-01-05,"{c}",{_row_currency(c)}' for i, (c, _) in enumerate(AMOUNTS, start=1)]
    path.write_text("订单编号,订单日期,金额,币种\n" + "\n".join(rows) + "\n", encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.result.rows_rejected == 0, loaded.reasons()
    assert dict(zip([c for c, _ in AMOUNTS], loaded.column("amount"), strict=True)) == dict(AMOUNTS)
    assert loaded.details["number_rules"]["amount"] == "decimal point (1,234.56)"


def test_an_amount_written_in_another_currency_than_its_row_is_refused_not_read_as_yuan(tmp_path):
    """`$1,200` in a CNY export loaded as ¥1,200."""
    cells = ["¥1,200", "$1,200", "1,200元", "EUR 50", "US$ 7", "80", "RMB 9"]
    loaded = load_file(_file(tmp_path, cells), workdir=tmp_path)
    assert loaded.column("amount") == [1200.0, 1200.0, 80.0, 9.0]
    why = "map a currency column or load those rows as their own source"
    assert loaded.reasons() == {
        3: f"金额: written in $ but the row is in CNY ('$1,200'; {why})",
        5: f"金额: written in EUR but the row is in CNY ('EUR 50'; {why})",
        6: f"金额: written in USD but the row is in CNY ('US$ 7'; {why})",
    }
    in_dollars = load_file(_file(tmp_path, ["$1,200", "US$ 7", "HK$ 3", "¥5"]), workdir=tmp_path, currency="USD")
    assert in_dollars.column("amount") == [1200.0, 7.0]
    assert sorted(in_dollars.reasons()) == [4, 5]


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("abc", "not an amount 'abc'"),
        ("12-34", "not an amount '12-34'"),
        ("1,23,456", "not an amount '1,23,456'"),
        ("(12", "not an amount '(12'"),
        ("NaN", "not an amount 'NaN'"),
        ("inf", "not an amount 'inf'"),
    ],
)
def test_what_is_not_a_number_is_rejected_with_its_value(tmp_path, cell, why):
    loaded = load_file(_file(tmp_path, ["10", cell]), workdir=tmp_path)
    assert loaded.column("amount") == [10.0]
    assert loaded.reasons() == {3: f"金额: {why}"}


def test_a_percentage_is_a_rate_in_a_number_column_and_refused_in_an_amount_column(tmp_path):
    """`12%` in 金额 loaded as an amount of 0.12 yuan."""
    path = tmp_path / "rates.csv"
    path.write_text(
        "订单编号,订单日期,金额,折扣\nSO1,2024-01-05,100,12.5%\nSO2,2024-01-05,12%,５％\nSO3,2024-01-05,8 ％,0.1\n",
        encoding="utf-8",
    )
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("amount") == [100.0]
    assert loaded.column("discount") == [0.125]
    hint = "(a percentage, not an amount)"
    assert loaded.reasons() == {3: f"金额: not an amount '12%' {hint}", 4: f"金额: not an amount '8 ％' {hint}"}


def test_a_currency_column_in_words_is_read_as_its_code_and_its_amounts_match_it(tmp_path):
    """Review finding: `¥100` with 币种 `人民币` (and `100元` with `RMB`) was refused as written in another currency."""
    path = tmp_path / "mixed.csv"
    path.write_text(
        "订单编号,订单日期,金额,币种\n"
        "SO1,2024-01-05,¥100,人民币\nSO2,2024-01-05,100元,RMB\nSO3,2024-01-05,$20,美元\n"
        "SO4,2024-01-05,CA$70,USD\nSO5,2024-01-05,8,cny\n",
        encoding="utf-8",
    )
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("currency") == ["CNY", "CNY", "USD", "CNY"]
    assert loaded.column("amount") == [100.0, 100.0, 20.0, 8.0]
    assert loaded.reasons()[5].startswith("金额: written in CAD but the row is in USD ('CA$70'")


@pytest.mark.parametrize(("header", "code"), [("Amount (USD)", "USD"), ("金额(美元)", "USD"), ("Revenue EUR", "EUR")])
def test_an_amount_header_naming_its_currency_sets_the_rows_currency(tmp_path, header, code):
    """Second hostile try: `Amount (USD)` loaded its amounts as CNY."""
    loaded = load_file(_file(tmp_path, ["1,200.00", "80"], header=header), workdir=tmp_path)
    assert loaded.column("amount") == [1200.0, 80.0]
    assert loaded.column("currency") == [code, code]
    assert loaded.issue("currency") == f"header {header!r} says {code}: amounts are read in {code}, not CNY"


def test_kingdee_and_salesforce_currency_columns_are_mapped(tmp_path):
    for header in ("币别", "Amount Currency", "Opportunity Currency"):
        path = tmp_path / "cur.csv"
        path.write_text(f"订单编号,订单日期,金额,{header}\nSO1,2024-01-05,100,USD\n", encoding="utf-8")
        assert load_file(path, workdir=tmp_path).column("currency") == ["USD"], header


def test_decimal_comma_is_refused_by_default_with_a_hint_never_misread(tmp_path):
    loaded = load_file(_file(tmp_path, ["€ 1.234,56", "12,50", "7"]), workdir=tmp_path, currency="EUR")
    assert loaded.column("amount") == [7.0]
    hint = "(looks like a decimal comma; if the file writes 1.234,56, set the source option decimal: comma)"
    assert loaded.reasons() == {2: f"金额: not an amount '€ 1.234,56' {hint}", 3: f"金额: not an amount '12,50' {hint}"}


def test_dotted_thousands_in_a_column_that_writes_decimal_commas_are_refused_not_read_a_thousand_times_small(tmp_path):
    """`12.500` beside `99,90` loaded as 12.5 (a European 12 500) and published: only `99,90` was rejected."""
    cells = ["12.500", "3.000", "7.250", "800", "1.250.000", "99,90", "12.5"]
    loaded = load_file(_file(tmp_path, cells), workdir=tmp_path)
    assert loaded.column("amount") == [800.0, 12.5]  # plain integers and one-decimal values are unambiguous
    reasons = loaded.reasons()
    assert sorted(reasons) == [2, 3, 4, 6, 7]
    assert reasons[2] == (
        "金额: not an amount '12.500' (12.500 could be 12 500: the column writes decimal commas elsewhere; "
        "if the file writes 1.234,56, set the source option decimal: comma)"
    )
    assert "looks like a decimal comma" in reasons[7]
    assert "values like 12.500 are refused" in loaded.details["number_rules"]["amount"]


def test_one_decimal_comma_typo_does_not_refuse_a_column_of_three_decimal_prices(tmp_path):
    """Review finding: 200 prices such as `1.250` and one `1,5` gave 201 rejected rows and none loaded."""
    cells = [f"{i % 9 + 1}.{i % 7}50" for i in range(200)] + ["1,5"]
    loaded = load_file(_file(tmp_path, cells), workdir=tmp_path)
    assert len(loaded.column("amount")) == 200 and loaded.column("amount")[:2] == [1.05, 2.15]
    assert list(loaded.reasons()) == [202]
    assert loaded.details["number_rules"]["amount"] == "decimal point (1,234.56)"


def test_comma_thousands_are_refused_too_in_a_column_that_writes_decimal_commas(tmp_path):
    """Second hostile try: `1,250` beside `12,50` and `3,75` loaded as 1250."""
    loaded = load_file(_file(tmp_path, ["12,50", "3,75", "1,250", "8"]), workdir=tmp_path, currency="EUR")
    assert loaded.column("amount") == [8.0]
    assert "1,250 could be 1,25" in loaded.reasons()[4]


def test_a_semicolon_separated_file_needs_less_evidence_of_decimal_commas(tmp_path):
    """Second hostile try: 300 prices like `47.350` and two `12,50` in a `;` file read 1000 times too small."""
    path = tmp_path / "eu.csv"
    rows = [f"SO{i};2024-01-05;{i % 90 + 10}.350" for i in range(300)] + [
        "SO900;2024-01-05;12,50",
        "SO901;2024-01-05;3,75",
    ]
    path.write_text("订单编号;订单日期;金额\n" + "\n".join(rows) + "\n", encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path, currency="EUR")
    assert loaded.column("amount") == [] and loaded.result.rows_rejected == 302


def test_dotted_thousands_read_as_decimals_when_the_column_has_no_decimal_comma(tmp_path):
    loaded = load_file(_file(tmp_path, ["12.500", "3.25", "7"]), workdir=tmp_path)
    assert loaded.column("amount") == [12.5, 3.25, 7.0]
    assert loaded.details["number_rules"]["amount"] == "decimal point (1,234.56)"


def test_decimal_comma_is_read_under_the_source_option(tmp_path):
    loaded = load_file(
        _file(tmp_path, ["€ 1.234,56", "12,50", "7", "1.000"]),
        workdir=tmp_path,
        options={"decimal": "comma"},
        currency="EUR",
    )
    assert loaded.column("amount") == [1234.56, 12.5, 7.0, 1000.0]
    assert loaded.details["number_rules"]["amount"] == "decimal comma (1.234,56)"


@pytest.mark.parametrize(
    ("header", "title", "scale_words"),
    [
        ("金额（万元）", "", "header '金额（万元）' says 万元"),
        ("金额(万)", "", "header '金额(万)' says 万"),
        ("金额", "销售明细（单位：万元）", "title says 万元"),
    ],
)
def test_amounts_stated_in_wan_by_header_or_title_are_scaled_and_the_rule_shown(tmp_path, header, title, scale_words):
    loaded = load_file(_file(tmp_path, ["1.5", "0.25", "3万元"], header=header, title=title), workdir=tmp_path)
    assert loaded.details["mapping"]["amount"] == header
    assert loaded.column("amount") == [15000.0, 2500.0, 30000.0]  # a cell with its own unit keeps it
    assert loaded.details["number_rules"]["amount"] == f"decimal point (1,234.56); ×10,000 ({scale_words})"


@pytest.mark.parametrize("header", ["金额(元)", "金额（元）", "金额/元", "Amount (CNY)"])
def test_a_header_in_yuan_wins_over_a_title_in_wan(tmp_path, header):
    """`金额(元)` under the title `单位：万元` was scaled ×10,000 (1,500 became 15,000,000)."""
    loaded = load_file(
        _file(tmp_path, ["1500", "0.5"], header=header, title="销售明细（单位：万元）"), workdir=tmp_path
    )
    assert loaded.column("amount") == [1500.0, 0.5]
    assert loaded.details["number_rules"]["amount"] == "decimal point (1,234.56)"


def test_leading_zero_codes_stay_text(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("订单编号,订单日期,产品编码,客户编号,金额\n000123,2024-01-05,00789,0042,1\n", encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.rows[0]["order_id"] == "000123"
    assert (loaded.rows[0]["product_id"], loaded.rows[0]["customer_id"]) == ("00789", "0042")


def test_a_code_column_numeric_for_ten_thousand_rows_keeps_its_later_text_codes(tmp_path):
    body = "".join(f"SO{i},2024-01-05,{i:05d},1\n" for i in range(10_000))
    path = tmp_path / "late_text.csv"
    path.write_text(f"订单编号,订单日期,产品编码,金额\n{body}SO-X,2024-01-06,GTX-PRO,2\n", encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.result.rows_loaded == 10_001 and loaded.result.rows_rejected == 0
    assert loaded.column("product_id")[0] == "00000" and loaded.column("product_id")[-1] == "GTX-PRO"


def test_an_amount_column_numeric_for_ten_thousand_rows_rejects_later_text_with_the_line(tmp_path):
    body = "".join(f"SO{i},2024-01-05,{i}\n" for i in range(10_000))
    path = tmp_path / "late_bad.csv"
    path.write_text(f"订单编号,订单日期,金额\n{body}SO-X,2024-01-06,待定\n", encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.result.rows_loaded == 10_000
    assert loaded.reasons() == {10_002: "金额: not an amount '待定'"}


def test_import_publishes_the_amounts_and_shows_the_rules(tmp_path, cockpit_env, capsys):
    cockpit_env({"business": {"currency": "USD"}, "sources": []})
    path = tmp_path / "export.csv"
    path.write_text(
        'Order ID,Order Date,Sales\nA1,2024-01-02,"US$1,234.00"\nA2,2024-01-03,"(34.00)"\nA3,2024-01-04, - \n',
        encoding="utf-8",
    )
    assert sources_main(["import", str(path), "--as", "orders", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["details"]["number_rules"] == {"amount": "decimal point (1,234.56)"}
    con = duckdb.connect(str(current_snapshot(settings().data_dir).path), read_only=True)
    rows = con.execute("SELECT order_id, amount, is_return FROM orders ORDER BY 1").fetchall()
    con.close()
    assert rows == [("A1", 1234.0, False), ("A2", -34.0, True), ("A3", 0.0, False)]
