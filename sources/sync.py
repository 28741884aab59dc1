"""One sync: load each source into staging, then publish one complete snapshot (or change nothing).

- One writer at a time: a lock file under COCKPIT_DATA_DIR; a second sync waits and says so.
- Per source: unchanged content is skipped; a load that fails or rejects more than the source's threshold
  is not taken, and the source keeps its last good rows (marked stale in the snapshot).
- Publishing is the commit point (see `sources.publish`); if it fails, or the process is killed, the next
  sync publishes what staging already holds (`needs_publish`), so no hand is needed to recover.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import duckdb

from core.appstate import AppState
from core.config import Settings, Source
from core.warehouse import current_snapshot_id
from sources.connectors import connector_for
from sources.load import Issue, LoadContext
from sources.publish import build_snapshot

STAGING_FILE = "staging.duckdb"


@dataclass
class SourceOutcome:
    """One source's line in the sync JSON (CONTRACTS.md)."""

    name: str
    entity: str
    status: str = "failed"
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_superseded: int = 0
    rows_skipped: int = 0
    rows_deleted: int = 0
    issues: list[Issue] = field(default_factory=list)
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    rejected_sample: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self, with_details: bool = False) -> dict[str, Any]:
        out = {
            "name": self.name,
            "entity": self.entity,
            "status": self.status,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rows_superseded": self.rows_superseded,
            "rows_skipped": self.rows_skipped,
            "rows_deleted": self.rows_deleted,
            "issues": [i.as_dict() for i in self.issues],
            "error": self.error,
        }
        if with_details:
            out.update({k: self.details.get(k) for k in ("encoding", "delimiter", "header_row", "mapping")})
            out["details"] = self.details
            out["rejected_sample"] = self.rejected_sample
        return out


@dataclass
class SyncReport:
    snapshot_id: str | None
    sources: list[SourceOutcome]

    @property
    def ok(self) -> bool:
        return all(s.status in ("published", "unchanged") for s in self.sources)

    def as_dict(self, with_details: bool = False) -> dict[str, Any]:
        return {"snapshot_id": self.snapshot_id, "sources": [s.as_dict(with_details) for s in self.sources]}


@contextmanager
def writer_lock(data_dir: Path, out: TextIO | None = None) -> Iterator[None]:
    """Hold the one-writer lock of a data directory; if another process holds it, say so and wait."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "writer.lock"
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            print(
                f"another sync is writing to {data_dir} ({holder}); waiting for it to finish…",
                file=out or sys.stderr,
                flush=True,
            )
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _staging(data_dir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(data_dir / STAGING_FILE))
    con.execute(
        "CREATE TABLE IF NOT EXISTS _source_state (name VARCHAR PRIMARY KEY, entity VARCHAR, kind VARCHAR, "
        "fingerprint VARCHAR, config_hash VARCHAR, last_success_at TIMESTAMP, rows BIGINT)"
    )
    con.execute("CREATE TABLE IF NOT EXISTS _state (key VARCHAR PRIMARY KEY, value VARCHAR)")
    return con


def _config_hash(source: Source) -> str:
    return hashlib.sha256(source.model_dump_json().encode()).hexdigest()[:16]


def _table(name: str) -> str:
    return f"src__{name}"


def all_sources(settings: Settings) -> list[Source]:
    """Configured sources plus the ad-hoc ones created by `sources import` (kept in the app-state database)."""
    configured = list(settings.sources)
    names = {s.name for s in configured}
    for row in AppState(settings.data_dir).ad_hoc_sources():
        if row["name"] not in names:
            configured.append(Source(**row["spec"]))
    return configured


def run_sync(
    settings: Settings, only: list[str] | None = None, *, extra: list[Source] | None = None, out: TextIO | None = None
) -> SyncReport:
    """Sync the configured sources (or `only` those), publish, and return the report.

    `extra` sources replace configured ones of the same name (an import of a new file under a configured name).
    """
    data_dir = settings.data_dir
    overrides = {s.name: s for s in extra or []}
    sources = [overrides.pop(s.name, s) for s in all_sources(settings)] + list(overrides.values())
    if only:
        unknown = sorted(set(only) - {s.name for s in sources})
        if unknown:
            known = ", ".join(s.name for s in sources) or "none"
            raise KeyError(f"no source named {', '.join(unknown)} (configured: {known})")
    state = AppState(data_dir)
    with writer_lock(data_dir, out):
        _mark_interrupted(state)
        con = _staging(data_dir)
        try:
            return _sync_locked(con, settings, sources, only, state)
        finally:
            con.close()


def _mark_interrupted(state: AppState) -> None:
    """Runs left 'running' by a killed process are failed runs; we hold the lock, so none is alive."""
    for run in state.runs(limit=50):
        if run["status"] == "running":
            state.finish_run(run["id"], status="failed", error="interrupted (the process stopped before finishing)")


def _sync_locked(
    con: duckdb.DuckDBPyConnection, settings: Settings, sources: list[Source], only: list[str] | None, state: AppState
) -> SyncReport:
    data_dir = settings.data_dir
    workdir = data_dir / "work"
    outcomes: list[SourceOutcome] = []
    runs: dict[str, int] = {}
    for source in sources:
        if only and source.name not in only:
            continue
        outcome = SourceOutcome(source.name, source.entity)
        runs[source.name] = state.start_run(source.name, source.entity)
        try:
            _load_one(con, settings, source, outcome, workdir)
        except Exception as exc:  # noqa: BLE001 - any failure of one source must not stop the others
            outcome.status = "failed"
            outcome.error = f"{type(exc).__name__}: {exc}" if not str(exc).startswith(source.name) else str(exc)
            con.execute(f"DROP TABLE IF EXISTS load__{source.name}")
        outcomes.append(outcome)

    needs_publish = con.execute("SELECT value FROM _state WHERE key = 'needs_publish'").fetchall()
    snapshot_id = current_snapshot_id(data_dir)
    if needs_publish:
        try:
            snapshot_id = _publish(con, settings, sources, outcomes)
            con.execute("DELETE FROM _state WHERE key = 'needs_publish'")
        except Exception as exc:  # noqa: BLE001 - reported per source; CURRENT is untouched
            for outcome in outcomes:
                if outcome.status == "published":
                    outcome.status = "failed"
                    outcome.error = f"publish failed, last good snapshot kept: {type(exc).__name__}: {exc}"
    for outcome in outcomes:
        run_id = runs[outcome.name]
        state.add_rejects(run_id, outcome.name, outcome.details.pop("_rejects", []))
        state.finish_run(
            run_id,
            status=outcome.status,
            rows_read=outcome.rows_read,
            rows_loaded=outcome.rows_loaded,
            rows_rejected=outcome.rows_rejected,
            rows_superseded=outcome.rows_superseded,
            rows_skipped=outcome.rows_skipped,
            rows_deleted=outcome.rows_deleted,
            issues=[i.as_dict() for i in outcome.issues],
            error=outcome.error,
            snapshot_id=snapshot_id,
            content_hash=outcome.details.get("fingerprint"),
            details=json.loads(json.dumps(outcome.details, default=str)),
        )
    return SyncReport(snapshot_id, outcomes)


def _load_one(
    con: duckdb.DuckDBPyConnection, settings: Settings, source: Source, outcome: SourceOutcome, workdir: Path
) -> None:
    connector = connector_for(source.kind)
    fingerprint = connector.fingerprint(source)
    config_hash = _config_hash(source)
    outcome.details["fingerprint"] = fingerprint
    previous = con.execute(
        "SELECT fingerprint, config_hash, rows FROM _source_state WHERE name = ?", [source.name]
    ).fetchall()
    previous = previous[0] if previous else None
    table_exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [_table(source.name)]
    ).fetchall()[0][0]
    if fingerprint and previous and table_exists and previous[0] == fingerprint and previous[1] == config_hash:
        outcome.status = "unchanged"
        outcome.rows_loaded = previous[2] or 0
        return
    ctx = LoadContext(
        source=source.name,
        entity=source.entity,
        file_label=Path(source.path).name if source.path else source.name,
        business_tz=settings.business.timezone,
        source_tz=source.timezone,
        default_currency=source.currency or settings.business.currency,
        date_order=source.options.get("date_order"),
        values=source.values,
    )
    load_table = f"load__{source.name}"
    extract = connector.extract(con, source, ctx, load_table, workdir)
    result = extract.result
    outcome.details.update(extract.details)
    outcome.rows_read, outcome.rows_loaded = result.rows_read, result.rows_loaded
    outcome.rows_rejected, outcome.rows_superseded = result.rows_rejected, result.rows_superseded
    outcome.rows_skipped, outcome.rows_deleted = result.rows_skipped, result.rows_deleted
    outcome.issues = list(result.issues)
    outcome.rejected_sample = result.rejects[:20]
    outcome.details["_rejects"] = result.rejects
    outcome.details["date_rules"] = result.date_rules
    if result.reject_share > source.reject_threshold:
        con.execute(f"DROP TABLE IF EXISTS {load_table}")
        outcome.status = "blocked"
        outcome.error = (
            f"{result.rows_rejected:,} of {result.rows_read - result.rows_skipped:,} rows rejected "
            f"({result.reject_share:.1%}, threshold {source.reject_threshold:.1%}); not published, the last good "
            "data is kept"
        )
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DROP TABLE IF EXISTS {_table(source.name)}")
        con.execute(f"ALTER TABLE {load_table} RENAME TO {_table(source.name)}")
        con.execute(
            "INSERT OR REPLACE INTO _source_state VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                source.name,
                source.entity,
                source.kind,
                fingerprint,
                config_hash,
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
                result.rows_loaded,
            ],
        )
        con.execute("INSERT OR REPLACE INTO _state VALUES ('needs_publish', 'yes')")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    outcome.status = "published"


def _publish(
    con: duckdb.DuckDBPyConnection, settings: Settings, sources: list[Source], outcomes: list[SourceOutcome]
) -> str:
    by_name = {o.name: o for o in outcomes}
    tables: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    status_rows = []
    state_rows = {
        r[0]: r for r in con.execute("SELECT name, entity, last_success_at, rows FROM _source_state").fetchall()
    }
    existing = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    for source in sources:
        table = _table(source.name)
        outcome = by_name.get(source.name)
        has_data = table in existing and source.name in state_rows
        if has_data:
            tables.setdefault(source.entity, []).append(table)
            owner[table] = source.name
        status = outcome.status if outcome else "not_synced"
        status_rows.append(
            {
                "name": source.name,
                "entity": source.entity,
                "status": status,
                "stale": status in ("failed", "blocked") or not has_data,
                "last_success_at": state_rows[source.name][2] if source.name in state_rows else None,
                "rows": state_rows[source.name][3] if source.name in state_rows else 0,
                "error": outcome.error if outcome else None,
            }
        )
    snapshot_id, report = build_snapshot(con, settings, tables, owner, status_rows)
    for name, issues in report.issues.items():
        if name in by_name:
            by_name[name].issues.extend(issues)
    return snapshot_id
