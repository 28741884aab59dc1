"""Publishing: build a new snapshot file, close it, then flip `CURRENT` — the only commit point.

A crash at any moment leaves `CURRENT` naming a complete snapshot: the new file is written under a `.tmp` name,
checkpointed and closed, renamed, and only then is the pointer replaced atomically (`os.replace`). Old snapshots
are kept for a while (readers may still hold them) and then deleted.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from core.config import Settings
from core.warehouse import current_pointer, current_snapshot_id, release, snapshots_dir
from sources.conform import Conformer, PublishReport

KEEP_SNAPSHOTS = 5
GRACE_SECONDS = 15 * 60
CRASH_ENV = "COCKPIT_CRASH_AT"
TRACE_ENV = "COCKPIT_CRASH_TRACE"


def crash_point(label: str, detail: str | None = None) -> None:
    """A named point on the write path where the crash-safety tests kill the process.

    `COCKPIT_CRASH_AT=label` (or `label:detail`, e.g. `after_staging_commit:orders`) sends SIGKILL to this process
    when it gets there — no cleanup, no `finally`, exactly like a power cut or the OOM killer. With
    `COCKPIT_CRASH_TRACE=FILE` every point passed is appended to FILE with the wall time, so a test can sample
    kill times across a real run. Unset, it costs two environment lookups.
    """
    full = f"{label}:{detail}" if detail else label
    trace = os.environ.get(TRACE_ENV)
    if trace:
        with open(trace, "a", encoding="utf-8") as fh:
            fh.write(f"{time.time():.6f} {full}\n")
    target = os.environ.get(CRASH_ENV)
    if target and target in (label, full):
        os.kill(os.getpid(), signal.SIGKILL)


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
    crash_point("current_tmp_written")
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
        crash_point("snapshot_tables_written")
        con.execute("CHECKPOINT snap")
    finally:
        con.execute("DETACH snap")
    crash_point("snapshot_tmp_closed")
    os.replace(tmp, final)
    _fsync_dir(folder)
    crash_point("snapshot_renamed")
    flip_current(data_dir, snapshot_id)
    crash_point("current_flipped")
    prune(data_dir)
    crash_point("pruned")
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


def recover(data_dir: Path) -> list[Path]:
    """Clean up what a killed sync left behind; called under the writer lock before a sync does anything else.

    - `snapshots/*.tmp*`: a snapshot being written (and its WAL) when the process died — never named by CURRENT;
    - `CURRENT.tmp`: a pointer written but never moved into place;
    - a complete snapshot renamed into place after CURRENT last moved but never named by it (killed between the
      rename and the flip). Readers only open what CURRENT names or named, so none of these is in use.
    Staging needs nothing here: its own write-ahead log restores it, and `needs_publish` makes this sync publish
    what an interrupted one staged.
    """
    folder = snapshots_dir(data_dir)
    pointer = current_pointer(data_dir)
    removed: list[Path] = []
    stray = [pointer.with_suffix(".tmp"), *folder.glob("*.tmp*")] if folder.exists() else [pointer.with_suffix(".tmp")]
    live = current_snapshot_id(data_dir)
    if live and folder.exists():
        flipped_at = pointer.stat().st_mtime
        for path in folder.glob("*.duckdb"):
            if path.stem != live and path.stat().st_mtime > flipped_at:
                stray += [path, Path(str(path) + ".wal")]
    for path in stray:
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed
