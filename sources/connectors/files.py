"""The file connector: CSV, TSV and Excel exports, dropped in the inbox or named in the configuration."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb

from core.config import Source
from sources.connectors.base import Extract, register
from sources.files.raw import RawFile, read_raw
from sources.files.structure import StructureError, check_not_pivot, find_header, guess_entity
from sources.load import LoadContext, type_rows
from sources.mapping import map_headers

READER_VERSION = "files-1"


def file_fingerprint(path: Path) -> str:
    """sha256 of the file's bytes: an unchanged file is not loaded again."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inspect_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    entity: str | None,
    sheet: str | None,
    explicit: dict[str, str] | None,
    table: str,
    workdir: Path,
) -> tuple[RawFile, Any, Any, str]:
    """Read a file and find its header, entity and mapping (what `sources check` shows before a load)."""
    raw = read_raw(con, path, table, sheet=sheet, workdir=workdir)
    head = con.execute(f"SELECT * EXCLUDE (_line), _line FROM {table} ORDER BY _line LIMIT 60").fetchall()
    rows = [(list(r[:-1]), r[-1]) for r in head]
    header = find_header(rows, entity)
    if entity is None:
        entity, score = guess_entity(header.cells)
        if score == 0:
            raise StructureError(
                f"cannot tell which entity this file holds from its columns ({', '.join(c for c in header.cells if c)}); "
                "pass --as ENTITY"
            )
    check_not_pivot(header.cells, entity)
    mapping = map_headers(header.cells, entity, explicit)
    return raw, header, mapping, entity


class FileConnector:
    """Loads one file source into canonical rows."""

    kind = "file"

    def fingerprint(self, source: Source) -> str | None:
        path = Path(source.path)
        if not path.exists():
            return None
        return f"{READER_VERSION}:{file_fingerprint(path)}"

    def extract(
        self, con: duckdb.DuckDBPyConnection, source: Source, ctx: LoadContext, out_table: str, workdir: Path
    ) -> Extract:
        path = Path(source.path)
        raw_table = f"raw__{source.name}"
        raw, header, mapping, entity = inspect_file(
            con,
            path,
            entity=source.entity,
            sheet=source.sheet,
            explicit=source.mapping,
            table=raw_table,
            workdir=workdir,
        )
        blank_after = sum(1 for line in raw.blank_lines if line > header.line)
        result = type_rows(
            con,
            raw_table,
            header,
            mapping,
            ctx,
            out_table,
            blank_lines_after_header=blank_after,
            malformed=raw.malformed,
        )
        con.execute(f"DROP TABLE IF EXISTS {raw_table}")
        details = {
            "file": str(path),
            "encoding": raw.encoding.label if raw.encoding else None,
            "encoding_reason": raw.encoding.reason if raw.encoding else None,
            "delimiter": raw.delimiter,
            "sheet": raw.sheet,
            "sheets": raw.sheets,
            "header_row": header.line,
            "mapping": mapping.as_dict(),
            "unmapped_columns": mapping.unmapped,
            "columns": [c for c in header.cells if c],
            "date_rules": result.date_rules,
            "exact_lines": raw.exact_lines,
        }
        return Extract(result, details)


register(FileConnector())
