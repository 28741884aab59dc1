"""Read a CSV, TSV or Excel file into a DuckDB table of text cells, one row per record, with its line number.

Nothing is typed here: every cell stays text (so no type is guessed from the first rows and no later row is
dropped for disagreeing), and `_line` keeps the row's line in the file (the Excel row number for workbooks)
so that every skipped or rejected row can be found again. Typing happens in `sources.load`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from sources.files.encoding import Encoding, detect_encoding, to_utf8

DELIMITERS = (",", "\t", ";", "|")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")


class FileReadError(Exception):
    """The file cannot be read as a table; the message says what and where."""


@dataclass
class RawFile:
    """A file read into `table` (columns c0..c{width-1} as VARCHAR, plus `_line`)."""

    path: Path
    kind: str  # csv | excel
    table: str
    width: int
    rows: int
    encoding: Encoding | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    blank_lines: list[int] = field(default_factory=list)  # line numbers of blank lines
    exact_lines: bool = True
    malformed: list[dict] = field(default_factory=list)  # rows the CSV parser could not split: line, reason, raw


def read_raw(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, *, sheet: str | None = None, workdir: Path
) -> RawFile:
    """Read `path` into `table` in `con`. Raises FileReadError for unreadable files."""
    path = Path(path)
    if not path.exists():
        raise FileReadError(f"{path}: file not found")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _read_excel(con, path, table, sheet)
    if sheet:
        raise FileReadError(f"{path.name}: --sheet applies to Excel workbooks, this is a text file")
    return _read_csv(con, path, table, workdir)


# ---- CSV ----------------------------------------------------------------------------------------------
def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the sample's lines into the most consistent number (>1) of fields."""
    lines = [ln for ln in sample.splitlines()[:200] if ln.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the sample may cut the last line
    best, best_score = ",", -1.0
    for delim in DELIMITERS:
        counts = [len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delim)]
        if not counts:
            continue
        values, freq = np.unique(counts, return_counts=True)
        mode = int(values[np.argmax(freq)])
        if mode < 2:
            continue
        consistency = freq.max() / len(counts)
        score = consistency * 10 + min(mode, 50) / 50
        if score > best_score:
            best, best_score = delim, score
    return best


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, workdir: Path) -> RawFile:
    encoding = detect_encoding(path)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        readable = to_utf8(path, encoding, workdir / f"{table}.utf8.csv")
    except UnicodeDecodeError as exc:
        raise FileReadError(
            f"{path.name}: not valid {encoding.label} at byte {exc.start}; save the file as UTF-8 or GBK"
        ) from exc
    with open(readable, encoding="utf-8-sig", errors="replace", newline="") as fh:
        sample = fh.read(1 << 16)
    if not sample.strip():
        raise FileReadError(f"{path.name}: the file is empty")
    delimiter = sniff_delimiter(sample)
    sample_rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))
    width = max((len(r) for r in sample_rows[:-1] or sample_rows), default=1)
    columns = {f"c{i}": "VARCHAR" for i in range(width)}
    rejects_table = f"{table}__rejects"
    scan = f"{table}__scan"
    con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(f"DROP TABLE IF EXISTS {rejects_table}")
    con.execute(f"DROP TABLE IF EXISTS {scan}")
    struct = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in columns) + "}"
    for parallel in ("true", "false"):
        try:
            con.execute(
                f"CREATE TABLE {table} AS SELECT *, row_number() OVER () AS _rec FROM read_csv($path, header=false, "
                f"columns={struct}, delim=$delim, quote='\"', escape='\"', auto_detect=false, null_padding=true, "
                f"strict_mode=false, store_rejects=true, rejects_table='{rejects_table}', rejects_scan='{scan}', "
                f"max_line_size=16777216, parallel={parallel})",
                {"path": str(readable), "delim": delimiter},
            )
            break
        except duckdb.Error as exc:
            if parallel == "true" and "parallel" in str(exc).lower():
                continue
            raise FileReadError(f"{path.name}: cannot be read as delimited text: {exc}") from exc
    malformed = [
        {"line": int(line), "reason": f"cannot split into {width} fields: {kind}", "raw": {"line": raw}}
        for line, kind, raw in con.execute(
            f"SELECT line, error_type, csv_line FROM {rejects_table} ORDER BY line"
        ).fetchall()
    ]
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    lines, blank = _physical_lines(readable)
    bad = {m["line"] for m in malformed}
    lines = [ln for ln in lines if ln not in bad]
    exact = len(lines) == rows
    if exact:
        has_newline = con.execute(
            f"SELECT count(*) FROM {table} WHERE " + " OR ".join(f"contains(c{i}, chr(10))" for i in range(width))
        ).fetchall()[0][0]
        exact = has_newline == 0
    if exact:
        mapping = pa.table({"_rec": pa.array(np.arange(1, rows + 1)), "_line": pa.array(np.asarray(lines))})
        con.register(f"{table}__lines", mapping)
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT t.* EXCLUDE (_rec), m._line FROM {table} t "
            f"JOIN {table}__lines m USING (_rec) ORDER BY m._line"
        )
        con.unregister(f"{table}__lines")
    else:
        # Quoted line breaks: report the record number (header = 1), which is what a CSV viewer shows.
        con.execute(f"ALTER TABLE {table} RENAME COLUMN _rec TO _line")
    return RawFile(
        path=path,
        kind="csv",
        table=table,
        width=width,
        rows=rows,
        encoding=encoding,
        delimiter=delimiter,
        blank_lines=blank,
        exact_lines=exact,
        malformed=malformed,
    )


def _physical_lines(path: Path) -> tuple[list[int], list[int]]:
    """1-based numbers of the non-blank and of the blank physical lines of a UTF-8 file."""
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        return [], []
    newlines = np.flatnonzero(data == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [data.size]))
    keep = starts < data.size  # a trailing newline does not start a line
    starts, ends = starts[keep], ends[keep]
    length = ends - starts
    # a line is blank when it holds nothing but an optional \r (and a BOM on line 1)
    cr_only = (length == 1) & (data[np.minimum(starts, data.size - 1)] == 13)
    blank = (length == 0) | cr_only
    if starts.size and data[:3].tobytes() == b"\xef\xbb\xbf":
        blank[0] = length[0] <= 3 or (length[0] == 4 and data[3] == 13)
    numbers = np.flatnonzero(~blank) + 1
    return numbers.tolist(), (np.flatnonzero(blank) + 1).tolist()


# ---- Excel --------------------------------------------------------------------------------------------
def excel_sheets(path: Path) -> list[str]:
    from python_calamine import CalamineWorkbook

    return list(CalamineWorkbook.from_path(str(path)).sheet_names)


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time(0) else value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _read_excel(con: duckdb.DuckDBPyConnection, path: Path, table: str, sheet: str | None) -> RawFile:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises several error types
        raise FileReadError(f"{path.name}: not a readable Excel workbook: {exc}") from exc
    names = list(workbook.sheet_names)
    if sheet is None:
        chosen = _first_non_empty_sheet(workbook, names)
    elif sheet in names:
        chosen = sheet
    else:
        raise FileReadError(f"{path.name}: no sheet named {sheet!r}; sheets: {', '.join(names)}")
    grid = workbook.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
    width = max((len(r) for r in grid), default=1)
    columns: dict[str, list] = {f"c{i}": [] for i in range(width)}
    line_numbers, blank = [], []
    for number, row in enumerate(grid, start=1):
        cells = [_cell_text(v) for v in row] + [None] * (width - len(row))
        if all(c is None for c in cells):
            blank.append(number)
            continue
        for i, cell in enumerate(cells):
            columns[f"c{i}"].append(cell)
        line_numbers.append(number)
    arrow = pa.table({**{k: pa.array(v, pa.string()) for k, v in columns.items()}, "_line": pa.array(line_numbers)})
    con.execute(f"DROP TABLE IF EXISTS {table}")
    con.register(f"{table}__arrow", arrow)
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM {table}__arrow")
    con.unregister(f"{table}__arrow")
    return RawFile(
        path=path,
        kind="excel",
        table=table,
        width=width,
        rows=len(line_numbers),
        sheet=chosen,
        sheets=names,
        blank_lines=blank,
    )


def _first_non_empty_sheet(workbook, names: list[str]) -> str:  # noqa: ANN001
    for name in names:
        sheet = workbook.get_sheet_by_name(name)
        if sheet.height and sheet.width:
            return name
    raise FileReadError("the workbook has no sheet with data")
