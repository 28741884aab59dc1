"""Where a CSV's records sit on its lines, when quotes make them span lines.

A quoted value may hold line breaks (a note), and a stray quote may take in the lines after it. This module finds
the records whose values hold line breaks (so line numbers stay exact), the stray quotes (`stray_quote_lines`),
and the blank lines that are inside values. `sources.files.raw` reads the file with DuckDB and calls these only
when the records and the lines of a file disagree.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb

UNCLOSED_QUOTE = "UNCLOSED QUOTE"
RUNAWAY_QUOTE = "RUNAWAY QUOTE"
SWALLOWED_ROWS = "SWALLOWED ROWS"


class QuotingError(ValueError):
    """The file's quotes do not pair up on so many lines that it is not quoted as CSV at all."""


def cell_columns(width: int) -> list[str]:
    return [f"c{i}" for i in range(width)]


def may_hold_stray_quotes(malformed: list[tuple[int, str, str]], rows: int, lines: int, breaks: Breaks | None) -> bool:
    """Whether a quote may have swallowed lines, so that the file needs `stray_quote_lines`: DuckDB refused a
    quoted value, the records do not account for the lines (the line breaks inside values included), or a value
    holds lines that read as rows of their own. Files whose records are one per line pass on the first tests."""
    if any(kind == "UNQUOTED VALUE" for _, kind, _ in malformed):
        return True
    if rows == lines or breaks is None:
        return False
    return rows + breaks.total != lines or breaks.rows_inside


@dataclass
class Breaks:
    """The records whose values hold line breaks (in `table`, a table of their own `_rec` and `n` breaks)."""

    table: str
    records: int
    total: int
    rows_inside: bool  # some value holds lines that read as rows of the file


def find_breaks(con: duckdb.DuckDBPyConnection, table: str, width: int, delimiter: str) -> Breaks:
    """Find the records whose values hold line breaks; only those are measured (a cheap test per cell first)."""
    cells = cell_columns(width)
    any_break = " OR ".join(f"contains({c}, chr(10))" for c in cells)
    count = " + ".join(f"coalesce(length({c}) - length(replace({c}, chr(10), '')), 0)" for c in cells)
    rows_like = " OR ".join(
        f"coalesce(len(list_filter(string_split({c}, chr(10))[2:], "
        f"lambda x: length(x) - length(replace(x, $d, '')) >= {_row_like(width)})) > 0, FALSE)"
        for c in cells
    )
    found = f"{table}__breaks"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {found} AS SELECT _rec, {count} AS n, {rows_like} AS rows_like "
        f"FROM {table} WHERE {any_break}",
        {"d": delimiter},
    )
    records, total, inside = con.execute(
        f"SELECT count(*), coalesce(sum(n), 0), coalesce(bool_or(rows_like), FALSE) FROM {found}"
    ).fetchall()[0]
    return Breaks(found, int(records), int(total), bool(inside))


def _row_like(width: int) -> int:
    """Separators in a line inside a value that make it read as a row of the file rather than a note."""
    return max(width - 1, 3)


@dataclass
class _Line:
    number: int
    offset: int
    raw: bytes


class _LineSource:
    """The lines of a UTF-8 file for `csv.reader`, keeping the lines of the record being read."""

    def __init__(self, fh: io.BufferedReader, number: int = 0) -> None:
        self.fh, self.number, self.record = fh, number, []

    def __iter__(self) -> _LineSource:
        return self

    def __next__(self) -> str:
        offset = self.fh.tell()
        raw = self.fh.readline()
        if not raw:
            raise StopIteration
        self.number += 1
        self.record.append(_Line(self.number, offset, raw))
        text = raw.decode("utf-8", errors="replace")
        return text[1:] if self.number == 1 and text.startswith("\ufeff") else text


def stray_quote_lines(
    path: Path, delimiter: str, *, width: int, name: str, limit: int = 1000
) -> list[tuple[int, str, str]]:
    """(line, kind, text) of each line whose quote swallows the lines after it: a quote never closed before the
    end of the file, one closed lines later with text after it, or one closed lines later around lines that read
    as rows of the file. A quoted value that spans lines and closes properly (a note with a line break) is not
    one; neither is a quote inside an unquoted value (`24" monitor`).

    Reads the UTF-8 file once with the csv module; after a stray quote it reads on from the next line, as the
    mended file will be read. Raises FileReadError past `limit` such lines: then the file is not quoted as CSV.
    """
    found: list[tuple[int, str, str]] = []
    least = _row_like(width)
    with open(path, "rb") as fh:
        source = _LineSource(fh)
        reader = csv.reader(source, delimiter=delimiter, strict=True)
        while True:
            source.record = []
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                lines = source.record
                if "unexpected end of data" in str(exc):
                    kind = UNCLOSED_QUOTE
                elif len(lines) > 1:
                    kind = RUNAWAY_QUOTE
                else:
                    continue  # one line with text after a closing quote: DuckDB refuses it by itself
            else:
                lines = source.record
                if len(lines) < 2 or not any(
                    "\n" in value and any(piece.count(delimiter) >= least for piece in value.split("\n")[1:])
                    for value in row
                ):
                    continue
                span = b"".join(line.raw for line in lines).decode("utf-8", errors="replace")
                found.append((lines[0].number, SWALLOWED_ROWS, span.lstrip("\ufeff").rstrip("\r\n")))
                continue  # the whole record is rejected: reading goes on after it
            first = lines[0]
            found.append(
                (first.number, kind, first.raw.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n"))
            )
            if len(found) > limit:
                shown = ", ".join(str(line) for line, _, _ in found[:5])
                raise QuotingError(
                    f"{name}: quotes do not pair up on more than {limit} lines (lines {shown}, …): the "
                    'file is not quoted as CSV (a " in values that are not quoted?); export it again'
                )
            if len(lines) > 1:
                fh.seek(lines[1].offset)
                source = _LineSource(fh, first.number)
                reader = csv.reader(source, delimiter=delimiter, strict=True)
    return found


def without_lines(path: Path, lines: set[int], out: Path) -> Path:
    """A copy of `path` in which the given (1-based) lines are empty; every line keeps its number."""
    with open(path, "rb") as src, open(out, "wb") as dst:
        for number, raw in enumerate(src, start=1):
            dst.write((b"\r\n" if raw.endswith(b"\r\n") else b"\n") if number in lines else raw)
    return out


def move_down_by_breaks_before(con: duckdb.DuckDBPyConnection, table: str, breaks: Breaks) -> None:
    """Add to each record's number the line breaks inside the values of the records before it."""
    steps = (
        con.execute(
            f"SELECT _rec, sum(n) OVER (ORDER BY _rec) FROM {breaks.table} WHERE n > 0 ORDER BY _rec"
        ).fetchall()
        if breaks.records <= 256
        else None
    )
    if steps is not None:
        cases = " ".join(f"WHEN _rec > {int(r)} THEN {int(s)}" for r, s in reversed(steps))
        con.execute(f"UPDATE {table} SET _rec = _rec + CASE {cases} ELSE 0 END")
        return
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT r.* EXCLUDE (_rec), r._rec + coalesce(s.moved, 0) AS _rec "
        f"FROM {table} r ASOF LEFT JOIN (SELECT _rec, sum(n) OVER (ORDER BY _rec) AS moved FROM {breaks.table}) s "
        "ON r._rec > s._rec ORDER BY r._rec"
    )


def blank_lines_outside_values(path: Path, delimiter: str, blank: list[int]) -> list[int]:
    """Those of the `blank` lines that are not inside a quoted value (reads the UTF-8 file once)."""
    wanted, keep = set(blank), []
    with open(path, "rb") as fh:
        source = _LineSource(fh)
        reader = csv.reader(source, delimiter=delimiter)
        while True:
            source.record = []
            try:
                next(reader)
            except StopIteration:
                break
            except csv.Error:
                continue
            if len(source.record) == 1 and source.record[0].number in wanted:
                keep.append(source.record[0].number)
    return keep
