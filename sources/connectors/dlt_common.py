"""What the database and API connectors share: one dlt pipeline per source, and its replica made canonical.

dlt does the extraction machinery — the incremental cursor (`dlt.sources.incremental`, kept in the pipeline's
state), the merge on the primary key (write disposition `merge`), schema evolution. It writes to its OWN DuckDB
file, `<COCKPIT_DATA_DIR>/dlt/<source>.duckdb`, with its pipeline state under `<COCKPIT_DATA_DIR>/dlt/pipelines`
— never the staging database the sync holds, never the home folder. That replica holds the latest version of
every row the source has sent, rows the source marks deleted included.

When dlt has finished, the replica is attached read-only to the staging connection, turned into text cells and
typed by the same code as files (`sources.load.type_rows`), so a database or API row follows the file rules.
The load table gets the source's whole current state, and the accounting covers that state, as a file's does
(the sync's reject threshold judges the data users would see, not the size of the last change):

- `rows_read` = the current rows (re-read from the replica) + rows dlt merged away because the same key came
  twice in one sync (`rows_superseded`); a rejected row stays rejected, and reported, until the source fixes it;
- rows the source marks deleted (`options.deleted_flag`) that came this sync leave the published data and are
  counted apart, in `rows_deleted`;
- what came through the cursor this sync is the issue `fetched` and `rows_fetched` in the run's details, with the
  cursor's position (`cursor`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from core.config import Source
from sources.canonical import BOOL, DATE, ENTITIES, MONEY, NUMBER, TIMESTAMP, normalise_header
from sources.connectors.base import Extract
from sources.files.structure import Header
from sources.load import Issue, LoadContext, LoadResult, type_rows
from sources.mapping import MappingError, map_headers
from sources.parse import bool_sql

DLT_TABLE = "source_rows"
DATASET = "src"
_VARIANT = re.compile(r"^(.+)__v_[a-z0-9_]+$")
_ISO_Z = r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?Z$"
_ISO_OFFSET = r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?([+-]\d{2}):?(\d{2})$"


class SourceError(Exception):
    """A source cannot be read; the message starts with the source's name and says what to fix."""


@dataclass
class DltRun:
    """What one dlt run did: its load packages, how many rows it extracted, where the cursor stands."""

    load_ids: list[str]
    fetched: int
    cursor: Any = None  # where the cursor stands after the run
    start: Any = None  # where it stood before
    replaced: bool = False  # a whole re-read that replaced the replica (no cursor): rows not sent are gone


@dataclass
class Replica:
    """How to read a source's replica: column display names, key and delete-flag columns (dlt's names)."""

    label: str  # `source_row` prefix: the table or endpoint
    key_columns: list[str]
    cursor: str | None = None  # the source's cursor column or field, as configured
    deleted_flag: str | None = None
    display: dict[str, str] = field(default_factory=dict)  # dlt column name → the source's own name
    absent_is_empty: bool = False  # API records may leave a key out: a mapped column never seen reads as empty
    dotted: bool = False  # nested JSON fields, which dlt flattens to `owner__name`, read as `owner.name`

    def name_of(self, column: str) -> str:
        """The column as users know it (the header shown in mappings, rejects and the schema)."""
        if column in self.display:
            return self.display[column]
        return column.replace("__", ".") if self.dotted else column


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def hide(text: str, *secrets: str | None) -> str:
    """`text` with every secret (password, token) replaced by ***."""
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text


# ---- the pipeline -----------------------------------------------------------------------------------------
def dlt_home(workdir: Path) -> Path:
    """`<COCKPIT_DATA_DIR>/dlt` (the sync's work folder is `<COCKPIT_DATA_DIR>/work`)."""
    return workdir.parent / "dlt"


def pipeline_for(source: Source, workdir: Path, identity: dict[str, Any]) -> tuple[Any, Path]:
    """The source's dlt pipeline and replica path; both start afresh when what is extracted changes.

    `identity` is what makes the replica's rows (and the cursor) mean something: the table or endpoint, the key,
    the cursor. A new identity (or a replica file that has gone) drops the old state, so the next run reads
    everything again instead of resuming a cursor that belongs to other data.
    """
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # no calls home from a self-hosted box
    import dlt

    home = dlt_home(workdir)
    pipelines = home / "pipelines"
    pipelines.mkdir(parents=True, exist_ok=True)
    name = f"cockpit_{source.name}"
    replica = home / f"{source.name}.duckdb"
    stamp = home / f"{source.name}.identity.json"
    wanted = json.dumps(identity, sort_keys=True, default=str)
    if not replica.exists() or not stamp.exists() or stamp.read_text(encoding="utf-8") != wanted:
        shutil.rmtree(pipelines / name, ignore_errors=True)
        for path in (replica, Path(str(replica) + ".wal")):
            path.unlink(missing_ok=True)
        stamp.write_text(wanted, encoding="utf-8")
    pipeline = dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(pipelines),
        destination=dlt.destinations.duckdb(str(replica)),
        dataset_name=DATASET,
    )
    if pipeline.has_pending_data:
        # A run that died between extracting and loading: dlt drops its packages and puts the cursor back where
        # it was, so this run reads those rows again rather than loading a half-finished package.
        pipeline.abort_packages()
    return pipeline, replica


def run_pipeline(pipeline: Any, data: Any, *, replaced: bool = False) -> DltRun:
    """Run dlt (extract → normalize → load into the replica) and report what it did."""
    start = cursor_position(pipeline)
    info = pipeline.run(data)
    normalize = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    fetched = normalize.row_counts.get(DLT_TABLE, 0) if normalize else 0
    return DltRun(list(info.loads_ids), fetched, cursor_position(pipeline), start, replaced)


def remember_keys(con: duckdb.DuckDBPyConnection, source: Source, replica_path: Path, spec: Replica) -> None:
    """Before a whole re-read replaces the replica: keep the keys of its live rows, to count the rows gone after."""
    table = f"previous_keys__{source.name}"
    con.execute(f"DROP TABLE IF EXISTS {table}")
    if not replica_path.exists():
        return
    alias = f"dlt_{source.name}"
    con.execute(f"ATTACH '{_sql_path(replica_path)}' AS {alias} (READ_ONLY)")
    try:
        types = dict(_replica_columns(con, alias))
        if not types or any(k not in types for k in spec.key_columns):
            return
        key_sql = "concat_ws('|', " + ", ".join(_text_sql(k, types[k]) for k in spec.key_columns) + ")"
        flag = spec.deleted_flag if spec.deleted_flag in types else None
        live = f"NOT coalesce({bool_sql(_text_sql(flag, types[flag]))}, FALSE)" if flag else "TRUE"
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT {key_sql} AS _source_key "
            f"FROM {alias}.{DATASET}.{DLT_TABLE} WHERE {live}"
        )
    finally:
        con.execute(f"DETACH {alias}")


def cursor_position(pipeline: Any) -> Any:
    """The incremental cursor's last value in the pipeline state (None without a cursor)."""
    for source_state in (pipeline.state.get("sources") or {}).values():
        resource = (source_state.get("resources") or {}).get(DLT_TABLE) or {}
        for cursor in (resource.get("incremental") or {}).values():
            return cursor.get("last_value")
    return None


def unwrap(exc: BaseException) -> BaseException:
    """The root cause of a dlt pipeline failure (dlt wraps it in PipelineStepFailed and step exceptions)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "exception", None) or exc.__cause__
        if inner is None:
            break
        exc = inner
    return exc


# ---- replica → canonical rows ---------------------------------------------------------------------------
def _text_sql(col: str, data_type: str) -> str:
    """One replica column as text in the forms `sources.parse` reads (never a float's exponent, times explicit)."""
    c = _q(col)
    kind = data_type.upper()
    if kind == "VARCHAR":
        # ISO times with `Z` or an offset (common in JSON) become `YYYY-MM-DD HH:MM:SS+hh:mm`, read as instants.
        return (
            f"CASE WHEN regexp_matches({c}, '{_ISO_Z}') THEN regexp_replace({c}, '{_ISO_Z}', '\\1 \\2+00:00') "
            f"WHEN regexp_matches({c}, '{_ISO_OFFSET}') THEN regexp_replace({c}, '{_ISO_OFFSET}', '\\1 \\2\\4:\\5') "
            f"ELSE {c} END"
        )
    if kind in ("DOUBLE", "FLOAT", "REAL"):
        return f"printf('%.12f', {c})"
    if kind.startswith("TIMESTAMP WITH TIME ZONE") or kind == "TIMESTAMPTZ":
        return f"strftime(timezone('UTC', {c}), '%Y-%m-%d %H:%M:%S') || '+00:00'"
    if kind.startswith("TIMESTAMP"):
        # Naive times stay naive: they are read in the source's time zone, as the configuration says.
        return f"strftime(CAST({c} AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%f')"
    if kind == "DATE":
        return f"strftime({c}, '%Y-%m-%d')"
    return f"CAST({c} AS VARCHAR)"


def _sql_path(path: Path) -> str:
    """A path under COCKPIT_DATA_DIR as the body of a SQL string literal (ATTACH takes no parameters)."""
    return str(path).replace("'", "''")


def _replica_columns(con: duckdb.DuckDBPyConnection, alias: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
        "AND table_name = ? ORDER BY column_index",
        [alias, DATASET, DLT_TABLE],
    ).fetchall()


_SQL_TYPES = {NUMBER: "DOUBLE", MONEY: "DOUBLE", DATE: "DATE", TIMESTAMP: "TIMESTAMP", BOOL: "BOOLEAN"}


def _empty_canonical(con: duckdb.DuckDBPyConnection, entity: str, out_table: str) -> None:
    """A typed, empty load table: the source has no rows yet."""
    cols = ", ".join(
        f"CAST(NULL AS {_SQL_TYPES.get(f.type, 'VARCHAR')}) AS {_q(f.name)}" for f in ENTITIES[entity].fields
    )
    con.execute(f"DROP TABLE IF EXISTS {out_table}")
    con.execute(
        f"CREATE TABLE {out_table} AS SELECT {cols}, CAST(NULL AS VARCHAR) AS _key, CAST(NULL AS VARCHAR) AS source, "
        "CAST(NULL AS VARCHAR) AS source_row, CAST(NULL AS TIMESTAMP) AS synced_at, CAST(NULL AS BIGINT) AS _line "
        "WHERE FALSE"
    )


def replica_to_canonical(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    ctx: LoadContext,
    out_table: str,
    replica_path: Path,
    run: DltRun,
    spec: Replica,
) -> Extract:
    """Type the replica's current rows into `out_table` and account for the rows this sync read."""
    alias = f"dlt_{source.name}"
    attached = False
    if replica_path.exists():
        con.execute(f"ATTACH '{_sql_path(replica_path)}' AS {alias} (READ_ONLY)")
        attached = True
    try:
        columns = _replica_columns(con, alias) if attached else []
        if not columns:
            _empty_canonical(con, source.entity, out_table)
            result = LoadResult(out_table)
            return Extract(result, _details(spec, run, [], {}, 0))
        return _type_replica(con, source, ctx, out_table, f"{alias}.{DATASET}.{DLT_TABLE}", columns, run, spec)
    finally:
        if attached:
            con.execute(f"DETACH {alias}")


def _type_replica(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    ctx: LoadContext,
    out_table: str,
    replica_table: str,
    columns: list[tuple[str, str]],
    run: DltRun,
    spec: Replica,
) -> Extract:
    types = dict(columns)
    groups: dict[str, list[str]] = {}
    for name, _ in columns:
        if name.startswith("_dlt_"):
            continue
        match = _VARIANT.match(name)
        base = match.group(1) if match and match.group(1) in types else name
        groups.setdefault(base, []).append(name)  # a variant column (`amount__v_text`) fills its base column
    missing = [k for k in spec.key_columns if k not in groups]
    if missing:
        raise SourceError(f"{source.name}: the key column(s) {', '.join(missing)} are not in the data read")
    # Key columns first: the loader's total-row test looks at the first cells, and a key is never a total.
    order = spec.key_columns + [c for c in groups if c not in spec.key_columns]
    cells = [
        "coalesce(" + ", ".join(_text_sql(v, types[v]) for v in groups[base]) + ")"
        if len(groups[base]) > 1
        else _text_sql(base, types[base])
        for base in order
    ]
    text_of = dict(zip(order, cells, strict=True))
    if spec.absent_is_empty:
        seen = {normalise_header(spec.name_of(c)) for c in order}
        for wanted in source.mapping.values():
            if normalise_header(wanted) not in seen:
                order.append(wanted)
                cells.append("CAST(NULL AS VARCHAR)")
                seen.add(normalise_header(wanted))
    key_sql = "concat_ws('|', " + ", ".join(text_of[k] for k in spec.key_columns) + ")"
    flag = text_of.get(spec.deleted_flag or "")
    deleted_sql = f"coalesce({bool_sql(flag)}, FALSE)" if flag else "FALSE"
    everything = f"replica__{source.name}"
    raw = f"raw__{source.name}"
    con.execute(f"DROP TABLE IF EXISTS {everything}")
    con.execute(
        f"CREATE TEMP TABLE {everything} AS SELECT "
        f"row_number() OVER (ORDER BY {', '.join(_q(k) for k in spec.key_columns)}) AS _line, "
        + ", ".join(f"{cell} AS c{i}" for i, cell in enumerate(cells))
        + f", list_contains($loads, _dlt_load_id) AS _batch, {deleted_sql} AS _deleted, {key_sql} AS _source_key "
        f"FROM {replica_table}",
        {"loads": run.load_ids},
    )
    batch_rows, deleted = con.execute(
        f"SELECT count(*) FILTER (WHERE _batch), count(*) FILTER (WHERE _batch AND _deleted) FROM {everything}"
    ).fetchall()[0]
    previous = f"previous_keys__{source.name}"
    if (
        run.replaced
        and con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [previous]).fetchone()[0]
    ):
        # A whole re-read: deleted = rows live before that are now flagged, or not sent at all (deleted outright).
        deleted = con.execute(
            f"SELECT count(*) FROM {previous} WHERE _source_key NOT IN "
            f"(SELECT _source_key FROM {everything} WHERE NOT _deleted)"
        ).fetchone()[0]
        con.execute(f"DROP TABLE {previous}")
    con.execute(f"DROP TABLE IF EXISTS {raw}")
    con.execute(f"CREATE TABLE {raw} AS SELECT * FROM {everything} WHERE NOT _deleted")
    con.execute(f"DROP TABLE {everything}")
    headers = tuple(spec.name_of(c) for c in order)
    try:
        mapping = map_headers(headers, source.entity, source.mapping)
    except MappingError as exc:
        raise SourceError(f"{source.name}: {str(exc).replace('this file', spec.label)}") from None
    try:
        result = type_rows(con, raw, Header(0, 0, headers, len(headers)), mapping, ctx, out_table)
        rejected_lines = [r["line"] for r in result.rejects]
        keys = dict(
            con.execute(
                f"SELECT _line, _source_key FROM {raw} WHERE list_contains($lines, _line)", {"lines": rejected_lines}
            ).fetchall()
        )
        # Rows are known by their key, not by a line: `source_row` is `<table>:<key>`, and so is `_key` when the
        # entity has no primary key of its own (a line number moves as rows come and go).
        keyed = ENTITIES[source.entity].primary_key in mapping.columns
        con.execute(
            f"UPDATE {out_table} SET source_row = $label || ':' || r._source_key"
            + ("" if keyed else ", _key = r._source_key")
            + f" FROM {raw} r WHERE {out_table}._line = r._line",
            {"label": spec.label},
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {raw}")
    _account(result, keys, run, batch_rows, deleted, spec)
    details = _details(spec, run, list(headers), mapping.as_dict(), result.rows_loaded)
    details["unmapped_columns"] = mapping.unmapped
    return Extract(result, details)


def _account(
    result: LoadResult, keys: dict[int, str], run: DltRun, batch_rows: int, deleted: int, spec: Replica
) -> None:
    """Add what dlt did this sync to the accounting of the current state (rows merged away, rows deleted)."""
    merged_away = max(run.fetched - batch_rows, 0)  # the same key twice in one batch: dlt kept the newest
    if merged_away:
        result.rows_read += merged_away
        result.rows_superseded += merged_away
        result.issues.append(
            Issue("superseded", "rows sent twice in one sync (changed while being read): the newest kept", merged_away)
        )
    result.rows_deleted = deleted
    if deleted:
        how = [f"marked in {spec.deleted_flag}"] if spec.deleted_flag else []
        how += ["no longer sent"] if run.replaced else []
        result.issues.append(
            Issue("deleted", f"rows deleted in the source ({' or '.join(how)}) left the published data", deleted)
        )
    result.rejects = [
        {"file": f"{spec.label}:{keys.get(r['line'], '?')}", "line": None, "reason": r["reason"], "raw": r["raw"]}
        for r in result.rejects
    ]
    if run.replaced:
        what = "rows read from the source this sync (all of them: no cursor)"
    else:
        since = f" since {spec.cursor} {run.start}" if spec.cursor and run.start is not None else ""
        what = f"rows new or changed{since}, read from the source this sync"
    result.issues.insert(0, Issue("fetched", what, run.fetched))


def _details(spec: Replica, run: DltRun, columns: list[str], mapping: dict[str, str], current: int) -> dict[str, Any]:
    return {
        "table": spec.label,
        "columns": columns,
        "mapping": mapping,
        "rows_fetched": run.fetched,
        "rows_current": current,
        "cursor": run.cursor,
        "dlt_loads": run.load_ids,
    }


def fingerprint_of(*parts: Any) -> str:
    """A short stable hash of what identifies a source's content (see the connectors' `fingerprint`)."""
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]
