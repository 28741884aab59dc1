"""The staging database of a data directory: each source's last good rows, and the markers that make publishing
recoverable.

Only the process holding the writer lock opens it. Besides `src__<source>` tables it keeps:
- `_source_state`: per source, the fingerprint and configuration of its last good load (unchanged → not reloaded);
- `_state`: `needs_publish` (staged data not yet in a snapshot), `pending_run:<source>` (the app-state run whose
  load is staged but unpublished — committed in the same transaction as the rows, so a killed sync's run can be
  finished as published by the next one) and `stale` (which sources the live snapshot marks stale, and why).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb

from core.config import Source
from core.warehouse import snapshots_dir
from sources.publish import crash_point

STAGING_FILE = "staging.duckdb"


def open_staging(data_dir: Path) -> duckdb.DuckDBPyConnection:
    """The staging database (its write-ahead log replays whatever a killed process committed)."""
    con = duckdb.connect(str(data_dir / STAGING_FILE))
    con.execute(
        "CREATE TABLE IF NOT EXISTS _source_state (name VARCHAR PRIMARY KEY, entity VARCHAR, kind VARCHAR, "
        "fingerprint VARCHAR, config_hash VARCHAR, last_success_at TIMESTAMP, rows BIGINT)"
    )
    con.execute("CREATE TABLE IF NOT EXISTS _state (key VARCHAR PRIMARY KEY, value VARCHAR)")
    return con


def config_hash(source: Source) -> str:
    # allow_empty decides whether a load is taken, not what is read: it leaves the hash (and the skip) alone.
    return hashlib.sha256(source.model_dump_json(exclude={"allow_empty"}).encode()).hexdigest()[:16]


def table_name(source: str) -> str:
    return f"src__{source}"


def commit_load(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    load_table: str,
    fingerprint: str | None,
    rows: int,
    run_id: int | None,
) -> None:
    """Make `load_table` the source's rows, in one transaction with its state and the publish markers."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DROP TABLE IF EXISTS {table_name(source.name)}")
        con.execute(f"ALTER TABLE {load_table} RENAME TO {table_name(source.name)}")
        con.execute(
            "INSERT OR REPLACE INTO _source_state VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                source.name,
                source.entity,
                source.kind,
                fingerprint,
                config_hash(source),
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
                rows,
            ],
        )
        con.execute("INSERT OR REPLACE INTO _state VALUES ('needs_publish', 'yes')")
        if run_id is not None:
            con.execute("INSERT OR REPLACE INTO _state VALUES (?, ?)", [f"pending_run:{source.name}", str(run_id)])
        crash_point("before_staging_commit", source.name)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    crash_point("after_staging_commit", source.name)


def pending_runs(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """source → run id of loads committed to staging but not yet published."""
    rows = con.execute("SELECT key, value FROM _state WHERE key LIKE 'pending_run:%'").fetchall()
    return {key.split(":", 1)[1]: int(value) for key, value in rows}


def published_stale(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """source → why, for the sources the last published snapshot marks stale."""
    row = con.execute("SELECT value FROM _state WHERE key = 'stale'").fetchall()
    return json.loads(row[0][0]) if row else {}


def stale_sources(
    con: duckdb.DuckDBPyConnection, sources: list[Source], results: dict[str, tuple[str, str | None]]
) -> dict[str, str]:
    """source → why, for every source the next snapshot must mark stale (it shows their last good rows, or none).

    `results` is source → (status, error) for the sources of this sync; the others keep their mark.
    """
    loaded = {r[0] for r in con.execute("SELECT name FROM _source_state").fetchall()}
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    before = published_stale(con)
    stale: dict[str, str] = {}
    for source in sources:
        status, error = results.get(source.name, (None, None))
        if source.name not in loaded or table_name(source.name) not in tables:
            stale[source.name] = error or "no data loaded yet"
        elif status is None:
            if source.name in before:
                stale[source.name] = before[source.name]
        elif status in ("failed", "blocked"):
            stale[source.name] = error or status
    return stale


def must_publish(con: duckdb.DuckDBPyConnection, data_dir: Path, live: str | None, stale: dict[str, str]) -> bool:
    """New data staged, a source's staleness changed, or CURRENT names no snapshot while staging holds data."""
    if con.execute("SELECT count(*) FROM _state WHERE key = 'needs_publish'").fetchall()[0][0]:
        return True
    if live is None or not (snapshots_dir(data_dir) / f"{live}.duckdb").exists():
        return con.execute("SELECT count(*) FROM _source_state").fetchall()[0][0] > 0
    return set(stale) != set(published_stale(con))


def mark_published(con: duckdb.DuckDBPyConnection, stale: dict[str, str]) -> None:
    """After a publish (and after its runs are recorded): clear the markers and remember what is stale."""
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM _state WHERE key = 'needs_publish' OR key LIKE 'pending_run:%'")
    con.execute(
        "INSERT OR REPLACE INTO _state VALUES ('stale', ?)", [json.dumps(stale, ensure_ascii=False, sort_keys=True)]
    )
    con.execute("COMMIT")
    crash_point("staging_cleared")
