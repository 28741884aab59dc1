"""Byte-stable writers: CSV in a given encoding and line ending, XLSX with a fixed creation date."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import xlsxwriter

from demo.company import END_DATE

#: Workbook metadata date; XlsxWriter would otherwise stamp the current time into docProps/core.xml.
WORKBOOK_CREATED = dt.datetime(END_DATE.year, END_DATE.month, END_DATE.day, 18, 0, 0)


def write_csv(frame: pd.DataFrame, path: Path, *, encoding: str = "utf-8", crlf: bool = False) -> int:
    """Write `frame` without index (minimal quoting); returns the number of data rows."""
    with open(path, "w", encoding=encoding, newline="") as handle:
        frame.to_csv(handle, index=False, lineterminator="\r\n" if crlf else "\n")
    return len(frame)


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str, *, date_columns: tuple[str, ...] = ()) -> int:
    """Write one sheet: a header row, then values; `date_columns` hold ISO dates written as Excel dates."""
    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True, "strings_to_numbers": False})
    workbook.set_properties({"created": WORKBOOK_CREATED, "author": "华信科技", "title": sheet})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    bold = workbook.add_format({"bold": True})
    sheet_ = workbook.add_worksheet(sheet)
    columns = list(frame.columns)
    for c, name in enumerate(columns):
        sheet_.write_string(0, c, name, bold)
        sheet_.set_column(c, c, 14)
    for r, row in enumerate(frame.itertuples(index=False, name=None), start=1):
        for c, value in enumerate(row):
            if columns[c] in date_columns:
                if value:
                    sheet_.write_datetime(r, c, dt.datetime.fromisoformat(value), date_format)
                else:
                    sheet_.write_blank(r, c, None)
            elif isinstance(value, str):
                sheet_.write_string(r, c, value)
            else:
                sheet_.write_number(r, c, value)
    workbook.close()
    return len(frame)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
