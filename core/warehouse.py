"""Reading published snapshots: `data/CURRENT` names the live snapshot file, opened read-only.

The writer (a sync) builds `snapshots/<id>.duckdb`, checkpoints and closes it, then replaces CURRENT
atomically. Readers open the file CURRENT names with `read_only=True`, one cached connection per snapshot
path and one `.cursor()` per query — never a shared connection across threads, never module-level duckdb.sql().
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb


class NoSnapshotError(RuntimeError):
    """Nothing has been published yet under this data directory."""


@dataclass(frozen=True)
class Snapshot:
    """A published, immutable snapshot."""

    id: str
    path: Path
    published_at: dt.datetime

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A fresh cursor on the shared read-only connection of this snapshot (one per query or script run)."""
        return _connection(str(self.path)).cursor()


_lock = threading.Lock()
_connections: dict[str, duckdb.DuckDBPyConnection] = {}


def _connection(path: str) -> duckdb.DuckDBPyConnection:
    with _lock:
        con = _connections.get(path)
        if con is None:
            con = duckdb.connect(path, read_only=True)
            _connections[path] = con
        return con


def release(path: Path) -> None:
    """Close a cached connection (used before old snapshots are deleted)."""
    with _lock:
        con = _connections.pop(str(path), None)
    if con is not None:
        con.close()


def current_pointer(data_dir: Path) -> Path:
    return Path(data_dir) / "CURRENT"


def snapshots_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "snapshots"


def current_snapshot(data_dir: Path) -> Snapshot:
    """The snapshot CURRENT names. Raises NoSnapshotError with what to run when there is none."""
    pointer = current_pointer(data_dir)
    if not pointer.exists():
        raise NoSnapshotError(
            f"no data has been published under {data_dir} yet; run `python -m sources sync` (or start the worker) first"
        )
    return snapshot_by_id(data_dir, pointer.read_text(encoding="utf-8").strip())


def snapshot_by_id(data_dir: Path, snapshot_id: str) -> Snapshot:
    """A published snapshot by id (a page keeps answering from the snapshot it started with)."""
    path = snapshots_dir(data_dir) / f"{snapshot_id}.duckdb"
    if not path.exists():
        raise NoSnapshotError(f"snapshot {snapshot_id!r} is missing ({path}); run a sync")
    published = dt.datetime.strptime(snapshot_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    return Snapshot(snapshot_id, path, published)


def current_snapshot_id(data_dir: Path) -> str | None:
    """The live snapshot id, or None; cheap enough to call on every page run."""
    pointer = current_pointer(data_dir)
    try:
        return pointer.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
