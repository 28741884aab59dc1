"""Order lines that take their date and customer from a separate order-header export (`options.join`)."""

from __future__ import annotations

from tests.file_loading import load_file


def _files(tmp_path):
    (tmp_path / "headers.csv").write_text(
        "订单导出\n"
        "订单编号,下单日期,客户名称,省份\n"
        "SO1,2024-01-05,上海华联,上海\n"
        "SO2,2024-01-06,北京燕莎,北京\n"
        "SO2,2024-01-09,北京燕莎,北京\n"  # the same order twice: the first row is used, the repeat reported
        "SO3,2024-01-07,广州友谊,广东\n"  # an order without lines
        ",,,\n",
        encoding="gbk",
    )
    lines = tmp_path / "lines.csv"
    lines.write_text(
        "订单编号,产品编码,数量,金额\nSO1,001,1,10\nSO1,002,2,20\nSO2,001,1,5\nSO9,003,1,7\n",
        encoding="utf-8",
    )
    return lines


def test_lines_take_the_header_fields_they_lack(tmp_path):
    loaded = load_file(_files(tmp_path), workdir=tmp_path, options={"join": {"path": "headers.csv", "on": "order_id"}})
    assert [
        (r["order_id"], r["product_id"], str(r["order_date"].date()), r["customer_name"], r["province"])
        for r in loaded.rows
    ] == [
        ("SO1", "001", "2024-01-05", "上海华联", "上海"),
        ("SO1", "002", "2024-01-05", "上海华联", "上海"),
        ("SO2", "001", "2024-01-06", "北京燕莎", "北京"),
    ]
    assert loaded.details["mapping"]["order_date"] == "headers.csv:下单日期"
    join = loaded.details["join"]
    assert (join["lines_matched"], join["lines_unmatched"], join["keys_without_lines"], join["duplicate_keys"]) == (
        3,
        1,
        1,
        1,
    )


def test_a_line_without_a_header_is_rejected_naming_the_missing_field(tmp_path):
    loaded = load_file(_files(tmp_path), workdir=tmp_path, options={"join": {"path": "headers.csv", "on": "order_id"}})
    assert loaded.reasons() == {5: "headers.csv:下单日期: empty"}
    assert loaded.issues["join_unmatched"] == 1 and loaded.issues["join_unused"] == 1
    assert loaded.issues["join_duplicates"] == 1
    assert loaded.balanced() and loaded.result.rows_read == 4  # the main file's lines, not the header file's


def test_a_yaml_bare_on_key_is_understood(tmp_path):
    # `{path: headers.csv, on: order_id}` in YAML 1.1 gives the key True, not "on"
    loaded = load_file(_files(tmp_path), workdir=tmp_path, options={"join": {"path": "headers.csv", True: "order_id"}})
    assert loaded.details["join"]["on"] == "order_id"
