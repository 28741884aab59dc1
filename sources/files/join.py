"""Header file + detail file: an export whose lines lack fields that a second export of the same system has.

Order systems often export the order header (order id, date, customer) and the order lines (order id, product,
amount) as two files. A file source names the second one under `options.join`:

    options:
      join: {path: List of Orders.csv, on: order_id}     # a relative path is beside the main file

The second file is read like any export (encoding, title rows, header, synonyms, its own `mapping:`), reduced to
one row per key (the first; duplicates reported) and its fields that the main file lacks are added to every
main line with the same key. Lines without a match keep those fields empty (and are rejected when one of them is
required); header rows without any line are reported. `rows_read` counts the main file's lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from sources.canonical import ENTITIES
from sources.files.raw import FileReadError, read_raw
from sources.files.structure import Header, find_header
from sources.load import Issue
from sources.mapping import Mapping, MappingError, map_headers


@dataclass
class Joined:
    """What the join did: the file, the key field, the fields it added and its counts."""

    path: Path
    on: str
    fields: dict[str, str]
    rows: int
    matched_lines: int
    unmatched_lines: int
    unused_keys: int
    duplicate_keys: int

    def describe(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "on": self.on,
            "fields": self.fields,
            "rows": self.rows,
            "lines_matched": self.matched_lines,
            "lines_unmatched": self.unmatched_lines,
            "keys_without_lines": self.unused_keys,
            "duplicate_keys": self.duplicate_keys,
        }


def join_file(
    con: duckdb.DuckDBPyConnection,
    main_table: str,
    main_path: Path,
    header: Header,
    mapping: Mapping,
    entity: str,
    spec: dict[str, Any],
    workdir: Path,
) -> tuple[Header, Mapping, Joined, list[Issue]]:
    """Add the join file's fields to `main_table` (as extra cell columns) and to the header and mapping."""
    if not isinstance(spec, dict) or not spec.get("path"):
        raise FileReadError("options.join needs a path: {path: FILE, on: FIELD}")
    # YAML 1.1 reads a bare `on:` key as the boolean True.
    spec = {("on" if key is True else str(key)): value for key, value in spec.items()}
    unknown = set(spec) - {"path", "on", "sheet", "mapping"}
    if unknown:
        raise FileReadError(
            f"options.join: unknown key(s) {', '.join(sorted(unknown))}; known: path, on, sheet, mapping"
        )
    path = Path(spec["path"])
    if not path.is_absolute():
        path = (main_path.parent / path).resolve()
    on = spec.get("on") or ENTITIES[entity].primary_key or "order_id"
    if on not in mapping.columns:
        raise MappingError(f"options.join.on: {on!r} has no column in {main_path.name}; map it under `mapping:`")
    table = f"{main_table}__join"
    read_raw(con, path, table, sheet=spec.get("sheet"), workdir=workdir)
    rows = [
        (list(r[:-1]), r[-1])
        for r in con.execute(f"SELECT * EXCLUDE (_line), _line FROM {table} ORDER BY _line LIMIT 60").fetchall()
    ]
    jheader = find_header(rows, entity)
    jmap = map_headers(jheader.cells, entity, spec.get("mapping"), require=False)
    if on not in jmap.columns:
        raise MappingError(f"options.join.on: {on!r} has no column in {path.name}; map it under join.mapping")
    take = [f for f in jmap.columns if f != on and f not in mapping.columns]
    jkey = f"c{jmap.columns[on]}"
    mkey = f"c{mapping.columns[on]}"
    width = len(header.cells)
    picked = ", ".join(f"c{jmap.columns[f]} AS j{n}" for n, f in enumerate(take))
    dedup = f"{table}__one"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {dedup} AS SELECT trim({jkey}) AS k{', ' if picked else ''}{picked} "
        f"FROM {table} WHERE _line > {int(jheader.line)} AND NULLIF(trim({jkey}), '') IS NOT NULL "
        f"QUALIFY row_number() OVER (PARTITION BY trim({jkey}) ORDER BY _line) = 1"
    )
    jrows, distinct = con.execute(
        f"SELECT count(*), count(DISTINCT trim({jkey})) FROM {table} WHERE _line > {int(jheader.line)} "
        f"AND NULLIF(trim({jkey}), '') IS NOT NULL"
    ).fetchall()[0]
    added = ", ".join(f"j.j{n} AS c{width + n}" for n in range(len(take)))
    con.execute(
        f"CREATE OR REPLACE TABLE {main_table} AS SELECT m.*{', ' if added else ''}{added}, "
        f"(j.k IS NOT NULL) AS _joined FROM {main_table} m LEFT JOIN {dedup} j ON trim(m.{mkey}) = j.k"
    )
    matched, unmatched = con.execute(
        f"SELECT count(*) FILTER (WHERE _joined), count(*) FILTER (WHERE NOT _joined AND "
        f"NULLIF(trim({mkey}), '') IS NOT NULL) FROM {main_table} WHERE _line > {int(header.line)}"
    ).fetchall()[0]
    unused = con.execute(
        f"SELECT count(*) FROM {dedup} j WHERE NOT EXISTS (SELECT 1 FROM {main_table} m WHERE trim(m.{mkey}) = j.k)"
    ).fetchall()[0][0]
    con.execute(f"ALTER TABLE {main_table} DROP COLUMN _joined")
    for name in (dedup, table):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    cells = header.cells + tuple(f"{path.name}:{jheader.cells[jmap.columns[f]]}" for f in take)
    columns = dict(mapping.columns)
    columns.update({f: width + n for n, f in enumerate(take)})
    joined_mapping = Mapping(entity, columns, cells, mapping.unmapped, mapping.duplicates, dict(mapping.derived))
    missing = [
        f.name
        for f in ENTITIES[entity].fields
        if f.required and f.name not in columns and f.name not in mapping.derived
    ]
    if missing:
        raise MappingError(
            f"no column for required {entity} field(s) {', '.join(missing)} in {main_path.name} or {path.name}"
        )
    info = Joined(path, on, {f: cells[columns[f]] for f in take}, jrows, matched, unmatched, unused, jrows - distinct)
    issues = []
    if unmatched:
        issues.append(
            Issue(
                "join_unmatched", f"lines with no row in {path.name} for their {on}; its fields stay empty", unmatched
            )
        )
    if unused:
        issues.append(Issue("join_unused", f"{path.name}: {on} values with no line in {main_path.name}", unused))
    if jrows - distinct:
        issues.append(
            Issue(
                "join_duplicates",
                f"{path.name}: rows repeating an {on} already seen; the first row is used",
                jrows - distinct,
            )
        )
    return Header(header.index, header.line, cells, header.hits), joined_mapping, info, issues
