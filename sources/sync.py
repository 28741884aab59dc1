"""One sync: load each source into staging, then publish one complete snapshot (or change nothing).

- One writer at a time: a lock file under COCKPIT_DATA_DIR; a second sync waits and says so.
- Per source: unchanged content is skipped; a load that fails or rejects more than the source's threshold
  is not taken, and the source keeps its last good rows (marked stale in the snapshot). Every load's row
  accounting, rejected rows and schema drift are recorded in the app state as soon as the file is read.
- Publishing is the commit point (see `sources.publish`). A staged load is committed to staging together
  with a `pending_run:<source>` marker; if publishing fails or the process is killed, the next sync cleans up
  (`publish.recover`), marks the dead runs interrupted and publishes what staging already holds — no hand
  is needed. The markers let it finish the interrupted load's run as published, so its accounting is not lost.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import duckdb

from core.appstate import AppState
from core.config import Settings, Source
from core.locks import file_lock
from core.warehouse import current_snapshot_id
from sources.connectors import connector_for
from sources.drift import column_schema, drift_issues, schema_drift, schema_of_run
from sources.load import Issue, LoadContext
from sources.publish import build_snapshot, crash_point, recover
from sources.staging import (
    commit_load,
    config_hash,
    mark_published,
    must_publish,
    open_staging,
    pending_runs,
    stale_sources,
    table_name,
)


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

    def run_values(self) -> dict[str, Any]:
        """What the app-state run record keeps of this outcome (accounting, issues, details)."""
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rows_superseded": self.rows_superseded,
            "rows_skipped": self.rows_skipped,
            "rows_deleted": self.rows_deleted,
            "issues": [i.as_dict() for i in self.issues],
            "content_hash": self.details.get("fingerprint"),
            "details": _jsonable(self.details),
        }

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

    def wait(holder: str) -> bool:
        print(
            f"another sync is writing to {data_dir} ({holder}); waiting for it to finish…",
            file=out or sys.stderr,
            flush=True,
        )
        return True

    with file_lock(data_dir / "writer.lock", on_busy=wait):
        yield


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
        crash_point("lock_acquired")
        recover(data_dir)
        con = open_staging(data_dir)
        try:
            state.interrupt_running(keep=set(pending_runs(con).values()))
            return _sync_locked(con, settings, sources, only, state)
        finally:
            con.close()


def _sync_locked(
    con: duckdb.DuckDBPyConnection, settings: Settings, sources: list[Source], only: list[str] | None, state: AppState
) -> SyncReport:
    data_dir = settings.data_dir
    workdir = data_dir / "work"
    outcomes: list[SourceOutcome] = []
    runs: dict[str, int] = {}
    staged_before = pending_runs(con)
    for source in sources:
        if only and source.name not in only:
            continue
        outcome = SourceOutcome(source.name, source.entity)
        run_id = runs[source.name] = state.start_run(source.name, source.entity)
        crash_point("source_started", source.name)
        try:
            if _extract(con, settings, source, outcome, workdir):
                _note_drift(state, source, outcome)
                _record_load(state, run_id, outcome)
                _take(con, source, outcome, run_id)
        except Exception as exc:  # noqa: BLE001 - any failure of one source must not stop the others
            outcome.status = "failed"
            outcome.error = f"{type(exc).__name__}: {exc}" if not str(exc).startswith(source.name) else str(exc)
            con.execute(f"DROP TABLE IF EXISTS load__{source.name}")
        earlier = staged_before.get(source.name)
        if outcome.status == "published" and earlier is not None:
            # An interrupted sync staged this source and died before publishing; this load replaces it.
            state.finish_run(earlier, status="failed", error=f"interrupted; its load was replaced by run {run_id}")
        elif earlier is not None:
            outcome.issues.append(
                Issue("recovered", f"publishing the load of run {earlier}, staged by a sync that was interrupted")
            )
        outcomes.append(outcome)

    crash_point("sources_loaded")
    pending = pending_runs(con)
    stale = stale_sources(con, sources, {o.name: (o.status, o.error) for o in outcomes})
    snapshot_id = current_snapshot_id(data_dir)
    published = False
    if must_publish(con, data_dir, snapshot_id, stale):
        try:
            snapshot_id = _publish(con, settings, sources, outcomes, stale)
            published = True
        except Exception as exc:  # noqa: BLE001 - reported per source; CURRENT is untouched
            for outcome in outcomes:
                if outcome.status == "published":
                    outcome.status = "failed"
                    outcome.error = f"publish failed, last good snapshot kept: {type(exc).__name__}: {exc}"
    # App state first, the staging markers last: killed in between, the next sync publishes again and
    # finishes the same runs again; killed before, the runs are still pending and will be finished then.
    for outcome in outcomes:
        outcome.details.pop("_rejects", None)
        state.finish_run(
            runs[outcome.name],
            status=outcome.status,
            error=outcome.error,
            snapshot_id=snapshot_id,
            **outcome.run_values(),
        )
    if published:
        for run_id in pending.values():
            if run_id not in runs.values():
                state.finish_run(run_id, status="published", error=None, snapshot_id=snapshot_id)
        crash_point("runs_recorded")
        mark_published(con, stale)
    return SyncReport(snapshot_id, outcomes)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _record_load(state: AppState, run_id: int, outcome: SourceOutcome) -> None:
    """Keep a load's accounting, rejected rows and details as soon as the file is read, before anything is taken."""
    state.add_rejects(run_id, outcome.name, outcome.details.pop("_rejects", []))
    state.update_run(run_id, **outcome.run_values())


def _note_drift(state: AppState, source: Source, outcome: SourceOutcome) -> None:
    """Compare the columns just read with those of the source's previous successful load."""
    schema = outcome.details.get("schema")
    previous = state.last_published(source.name)
    if not schema or previous is None:
        return
    changes = schema_drift(schema_of_run(previous), schema)
    outcome.details["drift"] = changes
    outcome.issues.extend(drift_issues(changes))


def _load_one(
    con: duckdb.DuckDBPyConnection, settings: Settings, source: Source, outcome: SourceOutcome, workdir: Path
) -> None:
    """Load one source into `con` (also what `python -m sources check` runs in a throw-away staging database)."""
    if _extract(con, settings, source, outcome, workdir):
        _take(con, source, outcome, None)


def _extract(
    con: duckdb.DuckDBPyConnection, settings: Settings, source: Source, outcome: SourceOutcome, workdir: Path
) -> bool:
    """Read the source into `load__<name>` and fill `outcome`; False when its content is unchanged."""
    connector = connector_for(source.kind)
    fingerprint = connector.fingerprint(source)
    settings_hash = config_hash(source)
    outcome.details["fingerprint"] = fingerprint
    previous = con.execute(
        "SELECT fingerprint, config_hash, rows FROM _source_state WHERE name = ?", [source.name]
    ).fetchall()
    previous = previous[0] if previous else None
    table_exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table_name(source.name)]
    ).fetchall()[0][0]
    if fingerprint and previous and table_exists and previous[0] == fingerprint and previous[1] == settings_hash:
        outcome.status = "unchanged"
        outcome.rows_loaded = previous[2] or 0
        return False
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
    extract = connector.extract(con, source, ctx, f"load__{source.name}", workdir)
    result = extract.result
    outcome.details.update(extract.details)
    outcome.rows_read, outcome.rows_loaded = result.rows_read, result.rows_loaded
    outcome.rows_rejected, outcome.rows_superseded = result.rows_rejected, result.rows_superseded
    outcome.rows_skipped, outcome.rows_deleted = result.rows_skipped, result.rows_deleted
    outcome.issues = list(result.issues)
    outcome.rejected_sample = result.rejects[:20]
    outcome.details["_rejects"] = result.rejects
    outcome.details["date_rules"] = result.date_rules
    considered = result.rows_read - result.rows_skipped
    outcome.details["schema"] = column_schema(source.entity, outcome.details, result.rejects, considered)
    accounted = result.rows_loaded + result.rows_rejected + result.rows_superseded + result.rows_skipped
    if accounted != result.rows_read:
        raise ValueError(
            f"{source.name}: row accounting does not add up ({result.rows_read:,} read, but {result.rows_loaded:,} "
            f"loaded + {result.rows_rejected:,} rejected + {result.rows_superseded:,} superseded + "
            f"{result.rows_skipped:,} skipped = {accounted:,}); nothing from this load is taken"
        )
    return True


def _take(con: duckdb.DuckDBPyConnection, source: Source, outcome: SourceOutcome, run_id: int | None) -> None:
    """Swap the load into staging — or block it when it rejects more than the source's threshold."""
    load_table = f"load__{source.name}"
    considered = outcome.rows_read - outcome.rows_skipped
    share = outcome.rows_rejected / considered if considered else 0.0
    if share > source.reject_threshold:
        _block(
            con,
            load_table,
            outcome,
            f"{outcome.rows_rejected:,} of {considered:,} rows rejected ({share:.1%}, threshold "
            f"{source.reject_threshold:.1%}); not published, the last good data is kept",
        )
        return
    if outcome.rows_loaded == 0:
        previous = con.execute("SELECT rows FROM _source_state WHERE name = ?", [source.name]).fetchall()
        had = (previous[0][0] or 0) if previous else 0
        if had and not source.allow_empty:
            # A header-only or empty export is far more often a broken export than a business with no rows.
            _block(
                con,
                load_table,
                outcome,
                f"the load has no data rows ({outcome.rows_read:,} read) where the last good load had {had:,}; "
                "not published, the last good data is kept (set allow_empty: true on the source if empty is right)",
            )
            return
        outcome.issues.append(Issue("empty", "the load has no data rows"))
    commit_load(con, source, load_table, outcome.details.get("fingerprint"), outcome.rows_loaded, run_id)
    outcome.status = "published"


def _block(con: duckdb.DuckDBPyConnection, load_table: str, outcome: SourceOutcome, why: str) -> None:
    """Drop a load that must not be published; the source keeps its last good rows (stale in the snapshot)."""
    con.execute(f"DROP TABLE IF EXISTS {load_table}")
    outcome.status = "blocked"
    outcome.error = why


def _publish(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    sources: list[Source],
    outcomes: list[SourceOutcome],
    stale: dict[str, str],
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
        table = table_name(source.name)
        outcome = by_name.get(source.name)
        if table in existing and source.name in state_rows:
            tables.setdefault(source.entity, []).append(table)
            owner[table] = source.name
        status_rows.append(
            {
                "name": source.name,
                "entity": source.entity,
                "status": outcome.status if outcome else "not_synced",
                "stale": source.name in stale,
                "last_success_at": state_rows[source.name][2] if source.name in state_rows else None,
                "rows": state_rows[source.name][3] if source.name in state_rows else 0,
                "error": stale.get(source.name) or (outcome.error if outcome else None),
            }
        )
    snapshot_id, report = build_snapshot(con, settings, tables, owner, status_rows)
    for name, issues in report.issues.items():
        if name in by_name:
            by_name[name].issues.extend(issues)
    return snapshot_id
