"""Publishing: build a new snapshot file, close it, then flip `CURRENT` — the only commit point.

A crash at any moment leaves `CURRENT` naming a complete snapshot: the new file is written under a `.tmp` name,
checkpointed and closed, renamed, and only then is the pointer replaced atomically (`os.replace`). Old snapshots
are kept for a while (readers may still hold them) and then deleted.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from core.config import Settings
from core.warehouse import current_pointer, current_snapshot_id, release, snapshots_dir
from sources.conform import Conformer, PublishReport

KEEP_SNAPSHOTS = 5
GRACE_SECONDS = 15 * 60


def new_snapshot_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def flip_current(data_dir: Path, snapshot_id: str) -> None:
    """Point CURRENT at `snapshot_id` atomically."""
    pointer = current_pointer(data_dir)
    tmp = pointer.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(snapshot_id + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, pointer)
    _fsync_dir(pointer.parent)


def build_snapshot(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    source_tables: dict[str, list[str]],
    source_of_table: dict[str, str],
    sources_status: list[dict],
) -> tuple[str, PublishReport]:
    """Write a complete snapshot from the staging tables and make it current. Returns its id and the report."""
    data_dir = settings.data_dir
    folder = snapshots_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    snapshot_id = new_snapshot_id()
    tmp = folder / f"{snapshot_id}.duckdb.tmp"
    final = folder / f"{snapshot_id}.duckdb"
    # The path is generated here (a timestamp and hex), never user input.
    con.execute(f"ATTACH '{tmp}' AS snap")
    try:
        report = Conformer(con, settings, source_tables, source_of_table).run()
        published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        con.execute(
            "CREATE TABLE snap._snapshot AS SELECT $id AS snapshot_id, CAST($at AS TIMESTAMP) AS published_at, "
            "$currency AS currency, $tz AS timezone",
            {
                "id": snapshot_id,
                "at": published_at,
                "currency": settings.business.currency,
                "tz": settings.business.timezone,
            },
        )
        status = pa.Table.from_pylist(
            sources_status,
            schema=pa.schema(
                [
                    ("name", pa.string()),
                    ("entity", pa.string()),
                    ("status", pa.string()),
                    ("stale", pa.bool_()),
                    ("last_success_at", pa.timestamp("us")),
                    ("rows", pa.int64()),
                    ("error", pa.string()),
                ]
            ),
        )
        con.register("sources_status_arrow", status)
        con.execute("CREATE TABLE snap._sources AS SELECT * FROM sources_status_arrow")
        con.unregister("sources_status_arrow")
        con.execute("CHECKPOINT snap")
    finally:
        con.execute("DETACH snap")
    os.replace(tmp, final)
    _fsync_dir(folder)
    flip_current(data_dir, snapshot_id)
    prune(data_dir)
    return snapshot_id, report


def prune(data_dir: Path, keep: int = KEEP_SNAPSHOTS, grace: float = GRACE_SECONDS) -> list[Path]:
    """Delete snapshots beyond the newest `keep` that are older than `grace` seconds, and stray temp files."""
    folder = snapshots_dir(data_dir)
    live = current_snapshot_id(data_dir)
    now = time.time()
    removed = []
    files = sorted(folder.glob("*.duckdb"), reverse=True)
    for path in files[keep:]:
        if path.stem == live or now - path.stat().st_mtime < grace:
            continue
        release(path)
        path.unlink(missing_ok=True)
        Path(str(path) + ".wal").unlink(missing_ok=True)
        removed.append(path)
    for tmp in folder.glob("*.tmp*"):  # left by a crashed sync; we hold the writer lock, so none is in use
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed
