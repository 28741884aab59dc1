"""Encodings are detected, never assumed, and the decoded text is right; delimiters are detected.

Every fixture is bytes written here: the same export saved the ways real tools save it.
"""

from __future__ import annotations

import pytest

from sources.files.encoding import SAMPLE_BYTES, detect_encoding
from tests.file_loading import load_file

CHINESE = (
    "订单编号,订单日期,客户名称,金额\r\n"
    "SO001,2024-01-05,上海华联商厦,1234.5\r\n"
    "SO002,2024-01-06,一汽大众（长春）,88\r\n"
    'SO003,2024-01-07,鑫源五金,"￥2,000.00"\r\n'
)
WESTERN = (
    "Order ID,Order Date,Customer,Address,Amount\r\n"
    "A-1,2003-02-24,Volvo Model Replicas,Berguvsvägen 8,10\r\n"
    "A-2,2003-05-28,Corrida Auto Replicas,C/ Araquil 67 (Martín),20\r\n"
    "A-3,2003-11-26,Enaco Distributors,Rambla de Cataluña 23,30\r\n"
    "A-4,2003-12-01,Café Müller,Straße 1,40\r\n"
)


def _customers(loaded) -> list[str]:
    return loaded.column("customer_name")


@pytest.mark.parametrize(
    ("codec", "label"),
    [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8 with BOM"),
        ("gbk", "GBK/GB18030"),
        ("gb18030", "GBK/GB18030"),
        ("utf-16", "UTF-16 LE"),  # Python writes a little-endian BOM
        ("utf-16-le", "UTF-16 LE"),
        ("utf-16-be", "UTF-16 BE"),
    ],
)
def test_chinese_export_decodes_in_every_encoding(tmp_path, codec, label):
    path = tmp_path / "订单.csv"
    path.write_bytes(CHINESE.encode(codec))
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.details["encoding"] == label
    assert _customers(loaded) == ["上海华联商厦", "一汽大众（长春）", "鑫源五金"]
    assert loaded.column("amount") == [1234.5, 88.0, 2000.0]
    assert loaded.details["mapping"]["order_id"] == "订单编号"  # a BOM never sticks to the first header


def test_utf16_with_bom_header_is_clean(tmp_path):
    path = tmp_path / "bom16.csv"
    path.write_bytes(b"\xff\xfe" + "Row ID,Order ID,Order Date,Sales\r\n1,X,2024-01-01,5\r\n".encode("utf-16-le"))
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.details["mapping"]["line_id"] == "Row ID"
    assert loaded.column("amount") == [5.0]


@pytest.mark.parametrize(("codec", "label"), [("cp1252", "Windows-1252"), ("cp850", "DOS code page 850")])
def test_western_code_pages_decode_accented_names(tmp_path, codec, label):
    path = tmp_path / "western.csv"
    path.write_bytes(WESTERN.encode(codec))
    loaded = load_file(path, workdir=tmp_path, mapping={"city": "Address"})
    assert loaded.details["encoding"] == label
    assert loaded.column("city") == [
        "Berguvsvägen 8",
        "C/ Araquil 67 (Martín)",
        "Rambla de Cataluña 23",
        "Straße 1",
    ]
    assert loaded.column("customer_name")[3] == "Café Müller"


def test_cp1252_euro_and_quotes_are_not_read_as_cp850_letters(tmp_path):
    # 0x80 (€) and 0x92 (’) are letters in cp850 (Ç, Æ): read in context they are a currency sign and a quote
    path = tmp_path / "eu.csv"
    path.write_bytes("Order ID,Order Date,Customer,Amount\nE-1,2024-01-02,It’s € Shop,7\n".encode("cp1252"))
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.details["encoding"] == "Windows-1252"
    assert loaded.column("customer_name") == ["It’s € Shop"]


def test_gbk_bytes_after_a_long_utf8_looking_start_are_still_detected(tmp_path):
    """The first 4 MB are ASCII; the Chinese rows at the end are GBK. The whole file decides, not the sample."""
    head = "订单编号,订单日期,客户名称,金额\r\n".encode("gbk")
    ascii_rows = b"".join(b"SO%07d,2024-01-05,ACME Trading,10\r\n" % i for i in range(SAMPLE_BYTES // 30 + 10))
    tail = "SO9999999,2024-01-06,南京新街口百货,20\r\n".encode("gbk")
    path = tmp_path / "late.csv"
    path.write_bytes(
        head.replace("订单编号,订单日期,客户名称,金额".encode("gbk"), b"order id,order date,customer,amount")
        + ascii_rows
        + tail
    )
    assert not detect_encoding(path).complete  # the sample alone cannot tell
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.details["encoding"] == "GBK/GB18030"
    assert loaded.result.rows_rejected == 0
    assert loaded.column("customer_name")[-1] == "南京新街口百货"


def test_a_damaged_line_in_a_utf8_file_is_rejected_not_decoded_in_another_code_page(tmp_path):
    good = [f"SO{i},2024-01-05,华东区第{i}分店,{i}" for i in range(1, 31)]
    data = ("订单编号,订单日期,客户名称,金额\n" + "\n".join(good[:10]) + "\n").encode()
    data += "SO99,2024-01-06,坏".encode() + b"\xe4\xb8" + b",5\n"  # a character cut in half
    data += ("\n".join(good[10:]) + "\n").encode()
    path = tmp_path / "damaged.csv"
    path.write_bytes(data)
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.details["encoding"] == "UTF-8"
    assert "invalid byte" in loaded.details["encoding_reason"]
    assert loaded.reasons() == {12: "not valid UTF-8 (a damaged line)"}
    assert loaded.column("customer_name") == [f"华东区第{i}分店" for i in range(1, 31)]
    assert loaded.balanced()


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_delimiter_is_detected(tmp_path, delimiter, name):
    rows = [
        ["订单编号", "订单日期", "客户名称", "金额"],
        ["SO1", "2024-01-05", "华联, 上海", "1.5"],
        ["SO2", "2024-01-06", "燕莎", "2"],
    ]
    text = "\n".join(delimiter.join(f'"{c}"' if delimiter in c else c for c in row) for row in rows) + "\n"
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.details["delimiter"] == delimiter
    assert loaded.column("customer_name") == ["华联, 上海", "燕莎"]
    assert loaded.column("amount") == [1.5, 2.0]


def test_an_unquoted_separator_splitting_an_amount_is_rejected_not_truncated(tmp_path):
    path = tmp_path / "split.csv"
    path.write_text("订单编号,订单日期,金额\nSO1,2024-01-05,88\nSO2,2024-01-06,￥2,000.00\n", encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.column("order_id") == ["SO1"]
    assert loaded.reasons() == {3: "more cells than the header has columns (an unquoted separator?): '000.00'"}


def test_a_row_wider_than_the_sampled_rows_is_rejected_not_cut(tmp_path):
    rows = "".join(f"SO{i},2024-01-05,{i}\n" for i in range(5000))  # past the 64 KB the width is sniffed from
    path = tmp_path / "late_split.csv"
    path.write_text(f"订单编号,订单日期,金额\n{rows}SO9,2024-01-06,￥2,000.00\n", encoding="utf-8")
    loaded = load_file(path, workdir=tmp_path)
    assert loaded.result.rows_loaded == 5000
    assert loaded.reasons() == {5002: "more than 3 fields (an unquoted separator in a value?)"}
    assert loaded.result.rejects[0]["raw"] == {"line": "SO9,2024-01-06,￥2,000.00"}
