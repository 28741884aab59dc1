"""Read a CSV, TSV or Excel file into a DuckDB table of text cells, one row per record, with its line number.

Nothing is typed here: every cell stays text (so no type is guessed from the first rows and no later row is
dropped for disagreeing), and `_line` keeps the row's line in the file (the Excel row number for workbooks)
so that every skipped or rejected row can be found again. Typing happens in `sources.load`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from sources.files.encoding import Encoding, detect_encoding, to_utf8
from sources.files.quotes import (
    RUNAWAY_QUOTE,
    SWALLOWED_ROWS,
    UNCLOSED_QUOTE,
    QuotingError,
    blank_lines_outside_values,
    find_breaks,
    may_hold_stray_quotes,
    move_down_by_breaks_before,
    stray_quote_lines,
    without_lines,
)

DELIMITERS = (",", "\t", ";", "|")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")


class FileReadError(ValueError):
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
    readable = _utf8_copy(path, encoding, workdir / f"{table}.utf8.csv")
    readable = _lines_ended_by_newline(readable, workdir / f"{table}.lf.csv")
    with open(readable, encoding="utf-8-sig", errors="replace", newline="") as fh:
        sample = fh.read(1 << 16)
    if not sample.strip():
        raise FileReadError(f"{path.name}: the file is empty")
    delimiter = sniff_delimiter(sample)
    sample_rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))
    whole = len(sample) < (1 << 16)  # the sample is the whole file: its last row is complete
    width = max((len(r) for r in (sample_rows if whole else sample_rows[:-1] or sample_rows)), default=1)
    malformed = _scan(con, path, readable, table, width, delimiter)
    if not encoding.complete and any(kind == "INVALID ENCODING" for _, kind, _ in malformed):
        # The sample was UTF-8 but a later line is not: judge the whole file, and read it again unless it is
        # UTF-8 with a few damaged lines (those stay rejected).
        encoding = detect_encoding(path, whole=True)
        if not encoding.is_utf8:
            readable = _utf8_copy(path, encoding, workdir / f"{table}.utf8.csv")
            readable = _lines_ended_by_newline(readable, workdir / f"{table}.lf.csv")
            malformed = _scan(con, path, readable, table, width, delimiter)
    rows, (nonblank, blank) = _count(con, table), line_layout(readable)
    bad_lines = sorted({int(line) for line, _, _ in malformed} - set(blank))
    swallowed: list[tuple[int, str, str]] = []
    breaks = None if rows == nonblank - len(bad_lines) else find_breaks(con, table, width, delimiter)
    if may_hold_stray_quotes(malformed, rows, nonblank - len(bad_lines), breaks):
        try:
            stray = stray_quote_lines(readable, delimiter, width=width, name=path.name)
        except QuotingError as exc:
            raise FileReadError(str(exc)) from exc
        swallowed = [found for found in stray if found[1] == SWALLOWED_ROWS]
        stray = [found for found in stray if found[1] != SWALLOWED_ROWS]
        if stray:
            # Each such line is emptied in a copy (so lines keep their numbers) and the copy read again: the
            # line is rejected with its own text and every line after it is read on its own.
            emptied = {line for line, _, _ in stray}
            readable = without_lines(readable, emptied, workdir / f"{table}.mended.csv")
            malformed = sorted(_scan(con, path, readable, table, width, delimiter) + stray)
            rows, (nonblank, blank) = _count(con, table), line_layout(readable)
            nonblank, blank = nonblank + len(emptied), [n for n in blank if n not in emptied]
            bad_lines = sorted({int(line) for line, _, _ in malformed} - set(blank))
            breaks = None if rows == nonblank - len(bad_lines) else find_breaks(con, table, width, delimiter)
    # DuckDB skips blank lines and leaves out malformed ones. So when the counts agree, record r sits on line
    # r plus the number of blank or malformed lines before it. A record spanning k lines (a quoted line break)
    # makes the records k-1 fewer than the lines: each record then moves down by the line breaks inside the
    # values before it.
    exact = rows == nonblank - len(bad_lines)
    if not exact and breaks and breaks.total:
        if blank and rows + breaks.total != nonblank - len(bad_lines):
            # Some "blank" lines are inside a quoted value (a note with an empty line): they belong to its record.
            outside = blank_lines_outside_values(readable, delimiter, blank)
            nonblank, blank = nonblank + len(blank) - len(outside), outside
            bad_lines = sorted({int(line) for line, _, _ in malformed} - set(blank))
        if rows + breaks.total == nonblank - len(bad_lines):
            move_down_by_breaks_before(con, table, breaks)
            exact = True
    if exact:
        _number_lines(con, table, sorted(set(blank) | set(bad_lines)))
        if swallowed:
            # A value that took in lines reading as rows: whether its quote is stray or a note quotes rows, the
            # record is not loaded, and neither are the rows inside it; one reject with the whole span.
            starts = [line for line, _, _ in swallowed]
            con.execute(f"DELETE FROM {table} WHERE _line IN ({', '.join(str(int(n)) for n in starts)})")
            malformed = sorted(malformed + swallowed)
            rows = _count(con, table)
    else:
        # Lines DuckDB reads some other way: record numbers (header = 1) rather than guessed lines.
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
        malformed=[
            {
                "line": int(line),
                "reason": _MALFORMED.get(kind, "cannot be split into fields: {kind}").format(width=width, kind=kind),
                "raw": {"line": raw},
            }
            for line, kind, raw in malformed
        ],
    )


_MALFORMED = {
    "INVALID ENCODING": "not valid UTF-8 (a damaged line)",
    "TOO MANY COLUMNS": "more than {width} fields (an unquoted separator in a value?)",
    "UNQUOTED VALUE": "a quoted value with text after its closing quote",
    UNCLOSED_QUOTE: 'a quote opened on this line is never closed (a stray " in a value?); the line is rejected '
    "and the lines after it are read on their own",
    RUNAWAY_QUOTE: 'a quote opened on this line runs over the next lines and closes with text after it (a stray " '
    "in a value?); the line is rejected and the lines after it are read on their own",
    SWALLOWED_ROWS: "a quoted value opened on this line takes in the next lines, which read as rows of the file "
    '(a stray " in a value, or a note quoting rows?); the whole span is rejected, its rows are not loaded',
}


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def _utf8_copy(path: Path, encoding: Encoding, out: Path) -> Path:
    try:
        return to_utf8(path, encoding, out)
    except UnicodeDecodeError as exc:
        raise FileReadError(
            f"{path.name}: not valid {encoding.label} at byte {exc.start}; save the file as UTF-8 or GBK"
        ) from exc


_LONE_CR = re.compile(rb"\r(?!\n)")


def _lines_ended_by_newline(path: Path, out: Path, chunk_bytes: int = 16 << 20) -> Path:
    """`path` itself, or a copy of it in `out` whose lone carriage returns are newlines: classic Mac line endings
    (Excel for Mac's "CSV (Macintosh)", whose cells may hold newlines), or a stray CR inside a line, which a text
    editor shows as a line break too. Files without a lone CR (most) cost one scan for `\r`."""
    crs = crlfs = 0
    ended_in_cr = False
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            crs += block.count(b"\r")
            crlfs += block.count(b"\r\n") + (ended_in_cr and block.startswith(b"\n"))
            ended_in_cr = block.endswith(b"\r")
    if crs == crlfs:
        return path
    with open(path, "rb") as src, open(out, "wb") as dst:
        held = b""
        while block := src.read(chunk_bytes):
            block = held + block
            held = block[-1:] if block.endswith(b"\r") else b""  # its \n may start the next block
            dst.write(_LONE_CR.sub(b"\n", block[: len(block) - len(held)]))
        dst.write(held.replace(b"\r", b"\n"))
    return out


def _scan(
    con: duckdb.DuckDBPyConnection, path: Path, readable: Path, table: str, width: int, delimiter: str
) -> list[tuple[int, str, str]]:
    """Read `readable` into `table` (all text, `_rec` = record number); the lines DuckDB could not split."""
    rejects_table = f"{table}__rejects"
    scan = f"{table}__scan"
    for name in (table, rejects_table, scan):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    struct = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    for parallel in ("true", "false"):
        try:
            con.execute(
                f"CREATE TABLE {table} AS SELECT * FROM read_csv($path, header=false, "
                f"columns={struct}, delim=$delim, quote='\"', escape='\"', auto_detect=false, null_padding=true, "
                f"strict_mode=true, store_rejects=true, rejects_table='{rejects_table}', rejects_scan='{scan}', "
                f"max_line_size=16777216, parallel={parallel})",
                {"path": str(readable), "delim": delimiter},
            )
            break
        except duckdb.Error as exc:
            if parallel == "true" and "parallel" in str(exc).lower():
                continue
            raise FileReadError(f"{path.name}: cannot be read as delimited text: {exc}") from exc
    # Record numbers from the table's row ids: the reader keeps file order (insertion order is preserved), and
    # numbering afterwards keeps the read parallel, where a window over the scan would run on one thread.
    con.execute(f"ALTER TABLE {table} ADD COLUMN _rec BIGINT")
    con.execute(f"UPDATE {table} SET _rec = rowid + 1")
    rejects = con.execute(
        f"SELECT line, line_byte_position, error_type, csv_line FROM {rejects_table} ORDER BY line"
    ).fetchall()
    # DuckDB's own line counts records, not lines, once a value holds a line break; the byte offset where the
    # line starts (1-based) is exact.
    starts = [position - 1 if position else None for _, position, _, _ in rejects]
    lines = _lines_at(readable, [p for p in starts if p is not None])
    return [
        (lines[start] if start is not None else line, kind, raw)
        for (line, _, kind, raw), start in zip(rejects, starts, strict=True)
    ]


def _lines_at(path: Path, offsets: list[int], chunk_bytes: int = 16 << 20) -> dict[int, int]:
    """The 1-based line on which each byte offset of `path` lies, in one pass over the file."""
    wanted = sorted(set(offsets))
    found: dict[int, int] = {}
    if not wanted:
        return found
    newlines, base, i = 0, 0, 0
    with open(path, "rb") as fh:
        while i < len(wanted) and (block := fh.read(chunk_bytes)):
            while i < len(wanted) and wanted[i] < base + len(block):
                found[wanted[i]] = newlines + block.count(b"\n", 0, wanted[i] - base) + 1
                i += 1
            newlines += block.count(b"\n")
            base += len(block)
    for offset in wanted[i:]:
        found[offset] = newlines + 1
    return found


def _number_lines(con: duckdb.DuckDBPyConnection, table: str, missing: list[int]) -> None:
    """Turn record numbers into line numbers, given the (sorted) lines that produced no record."""
    # Record r sits after missing line m_j (j = 1, 2, ...) when r > m_j - j.
    steps = [(m - j, j) for j, m in enumerate(missing, start=1)]
    steps = [(t, j) for t, j in steps if t < 1 << 62]
    if steps and len(steps) <= 256:
        cases = " ".join(f"WHEN _rec > {t} THEN {j}" for t, j in reversed(steps))
        con.execute(f"UPDATE {table} SET _rec = _rec + CASE {cases} ELSE 0 END")
    elif steps:
        shifts = pa.table({"t": pa.array([t for t, _ in steps], pa.int64()), "j": pa.array([j for _, j in steps])})
        con.register(f"{table}__shifts", shifts)
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT r.* EXCLUDE (_rec), r._rec + coalesce(s.j, 0) AS _rec "
            f"FROM {table} r ASOF LEFT JOIN {table}__shifts s ON r._rec > s.t ORDER BY r._rec"
        )
        con.unregister(f"{table}__shifts")
    con.execute(f"ALTER TABLE {table} RENAME COLUMN _rec TO _line")


def line_layout(path: Path, chunk_bytes: int = 16 << 20) -> tuple[int, list[int]]:
    """The number of non-blank physical lines of a UTF-8 file and the 1-based numbers of its blank lines.

    Read in chunks (never the whole file in memory). A line is blank when it holds nothing but an optional
    carriage return (and, on line 1, a byte-order mark).
    """
    blank: list[np.ndarray] = []
    total = 0  # lines ended by a newline so far
    prev_nl = -1  # global offset of the previous newline
    prev_byte = 10  # the byte before the current chunk
    offset = 0
    first = b""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk_bytes)
            if not block:
                break
            if len(first) < 8:
                first += block[: 8 - len(first)]
            data = np.frombuffer(block, dtype=np.uint8)
            nl = np.flatnonzero(data == 10)
            if nl.size:
                positions = nl + offset
                starts = np.concatenate(([prev_nl + 1], positions[:-1] + 1))
                length = positions - starts
                before = np.where(nl > 0, data[np.maximum(nl - 1, 0)], prev_byte)
                is_blank = (length == 0) | ((length == 1) & (before == 13))
                blank.append(np.flatnonzero(is_blank) + total + 1)
                total += nl.size
                prev_nl = int(positions[-1])
            prev_byte = int(data[-1])
            offset += data.size
    tail = offset - (prev_nl + 1)  # bytes after the last newline: a last line without a newline
    last_blank = tail == 1 and prev_byte == 13
    lines = total + (1 if tail > 0 else 0)
    numbers = np.concatenate(blank).tolist() if blank else []
    if last_blank:
        numbers.append(lines)
    if first.startswith(b"\xef\xbb\xbf") and lines:
        first_line = first.split(b"\n", 1)[0].rstrip(b"\r")
        if first_line == b"\xef\xbb\xbf" and (not numbers or numbers[0] != 1):
            numbers.insert(0, 1)
    return lines - len(numbers), numbers


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


def first_sheet_with_data(path: Path) -> str:
    """The sheet a workbook is read from when none is chosen."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    return _first_non_empty_sheet(workbook, list(workbook.sheet_names))


# Sheets that explain a workbook rather than hold its data; read only when no other sheet has data.
_ASIDE_SHEETS = re.compile(
    r"(?i)^\s*(填写|使用|导入|字段)?(说明|须知|封面|目录)\s*$|^\s*(readme|instructions?|cover|notes?)\s*$"
)


def _first_non_empty_sheet(workbook, names: list[str]) -> str:  # noqa: ANN001
    """The first sheet with data, a sheet that explains the workbook (说明, 封面, readme) only when no other has."""
    asides = [n for n in names if _ASIDE_SHEETS.match(n)]
    for name in [n for n in names if n not in asides] + asides:
        sheet = workbook.get_sheet_by_name(name)
        if sheet.height and sheet.width:
            return name
    raise FileReadError("the workbook has no sheet with data")
