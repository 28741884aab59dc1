"""Operational state shared by the app and the worker: sync runs, rejected rows, logins, logouts, audit log, inbox.

A small transactional database (SQLite through SQLAlchemy) under COCKPIT_DATA_DIR. Analytical data never
lives here; it lives in snapshots.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)

metadata = MetaData()

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String, nullable=False, index=True),
    Column("entity", String),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String, nullable=False),  # running | published | unchanged | blocked | failed
    Column("rows_read", Integer, default=0),
    Column("rows_loaded", Integer, default=0),
    Column("rows_rejected", Integer, default=0),
    Column("rows_superseded", Integer, default=0),
    Column("rows_skipped", Integer, default=0),
    Column("rows_deleted", Integer, default=0),
    Column("issues", JSON, default=list),
    Column("error", Text),
    Column("snapshot_id", String),
    Column("content_hash", String),
    Column("details", JSON, default=dict),  # encoding, delimiter, header_row, mapping, columns
)

rejected_rows = Table(
    "rejected_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("source", String, nullable=False, index=True),
    Column("file", String),
    Column("line", Integer),
    Column("reason", Text, nullable=False),
    Column("raw", JSON),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String, nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("success", Integer, nullable=False),
)

logouts = Table(
    "logouts",
    metadata,
    Column("username", String, primary_key=True),
    Column("at", Float, nullable=False),  # epoch seconds; cookies issued before this are refused
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("username", String),
    Column("action", String, nullable=False),
    Column("detail", JSON),
)

job_state = Table(
    "job_state",
    metadata,
    Column("id", String, primary_key=True),
    Column("next_run", DateTime),
    Column("last_run", DateTime),
    Column("last_status", String),
    Column("last_error", Text),
    Column("updated_at", DateTime),
)

ad_hoc_sources = Table(
    "ad_hoc_sources",
    metadata,
    Column("name", String, primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
)


inbox_items = Table(
    "inbox_items",
    metadata,
    Column("id", String, primary_key=True),  # the folder name under inbox/<stage>/
    Column("file_name", String, nullable=False),
    Column("sha256", String),
    Column("size", Integer),
    Column("source", String),
    Column("entity", String),
    Column("sheet", String),
    Column("status", String, nullable=False, index=True),  # staged | queued | loading | published | blocked | failed
    Column("uploaded_by", String),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("snapshot_id", String),
    Column("error", Text),
    Column("report", JSON),
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


user_preferences = Table(
    "user_preferences",
    metadata,
    Column("username", String, primary_key=True),
    Column("language", String),  # zh | en: the language a page opens in when its address names none
    Column("updated_at", DateTime, nullable=False),
)


@lru_cache(maxsize=8)
def engine(data_dir: str) -> Engine:
    """The app-state engine for one data directory (created with its tables on first use)."""
    path = Path(data_dir) / "app_state.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    eng = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(eng, "connect")
    def _pragmas(dbapi_con, _record):  # noqa: ANN001
        cur = dbapi_con.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    metadata.create_all(eng)
    return eng


class AppState:
    """Typed access to the app-state database of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.engine = engine(str(Path(data_dir).resolve()))

    # ---- sync runs -----------------------------------------------------------------------------------
    def start_run(self, source: str, entity: str) -> int:
        with self.engine.begin() as con:
            return con.execute(
                insert(sync_runs).values(source=source, entity=entity, started_at=_now(), status="running")
            ).inserted_primary_key[0]

    def finish_run(self, run_id: int, **values: Any) -> None:
        with self.engine.begin() as con:
            con.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(finished_at=_now(), **values))

    def update_run(self, run_id: int, **values: Any) -> None:
        """Record what a run has done so far (counts, issues, details) while it is still running."""
        with self.engine.begin() as con:
            con.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(**values))

    def interrupt_running(self, keep: set[int] | frozenset[int] = frozenset()) -> list[int]:
        """Mark runs left 'running' by a killed process as failed (except `keep`); returns their ids.

        Only call it holding the writer lock: then no run of this data directory can really be running.
        """
        reason = "interrupted: the process stopped before the run finished; the next sync recovered"
        with self.engine.begin() as con:
            ids = [
                r[0]
                for r in con.execute(select(sync_runs.c.id).where(sync_runs.c.status == "running"))
                if r[0] not in keep
            ]
            if ids:
                con.execute(
                    update(sync_runs)
                    .where(sync_runs.c.id.in_(ids))
                    .values(status="failed", error=reason, finished_at=_now())
                )
        return ids

    def run(self, run_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as con:
            row = con.execute(select(sync_runs).where(sync_runs.c.id == run_id)).first()
        return dict(row._mapping) if row else None

    def add_rejects(self, run_id: int, source: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self.engine.begin() as con:
            con.execute(insert(rejected_rows), [{"run_id": run_id, "source": source, **r} for r in rows])

    def runs(self, source: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        query = select(sync_runs).order_by(sync_runs.c.id.desc()).limit(limit)
        if source:
            query = query.where(sync_runs.c.source == source)
        with self.engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(query)]

    def last_success(self, source: str) -> dict[str, Any] | None:
        query = (
            select(sync_runs)
            .where(sync_runs.c.source == source, sync_runs.c.status.in_(("published", "unchanged")))
            .order_by(sync_runs.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as con:
            row = con.execute(query).first()
        return dict(row._mapping) if row else None

    def last_published(self, source: str) -> dict[str, Any] | None:
        query = (
            select(sync_runs)
            .where(sync_runs.c.source == source, sync_runs.c.status == "published")
            .order_by(sync_runs.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as con:
            row = con.execute(query).first()
        return dict(row._mapping) if row else None

    def rejects(self, run_id: int, limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
        """Rejected rows of one run in file order (reason, file, line, raw values), one page at a time."""
        query = (
            select(rejected_rows)
            .where(rejected_rows.c.run_id == run_id)
            .order_by(rejected_rows.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(query)]

    def count_rejects(self, run_id: int) -> int:
        with self.engine.connect() as con:
            return con.execute(
                select(func.count()).select_from(rejected_rows).where(rejected_rows.c.run_id == run_id)
            ).scalar_one()

    def latest_load(self, source: str) -> dict[str, Any] | None:
        """The latest run of `source` that read rows (published, blocked, or interrupted after reading)."""
        query = (
            select(sync_runs)
            .where(sync_runs.c.source == source, sync_runs.c.rows_read > 0)
            .order_by(sync_runs.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as con:
            row = con.execute(query).first()
        return dict(row._mapping) if row else None

    # ---- logins --------------------------------------------------------------------------------------
    def record_login(self, username: str, success: bool, at: dt.datetime | None = None) -> None:
        """One login attempt; `at` (naive UTC) defaults to now (tests pass the auth module's clock)."""
        with self.engine.begin() as con:
            con.execute(insert(login_attempts).values(username=username, at=at or _now(), success=int(success)))

    def failures_since_success(self, username: str, window: dt.timedelta, now: dt.datetime | None = None) -> int:
        """Failed logins of `username` in the window ending `now` (naive UTC), after its last successful login."""
        since = (now or _now()) - window
        with self.engine.connect() as con:
            last_ok = con.execute(
                select(func.max(login_attempts.c.at)).where(
                    login_attempts.c.username == username, login_attempts.c.success == 1
                )
            ).scalar()
            start = max(since, last_ok) if last_ok else since
            return con.execute(
                select(func.count()).where(
                    login_attempts.c.username == username,
                    login_attempts.c.success == 0,
                    login_attempts.c.at > start,
                )
            ).scalar_one()

    def clear_login_failures(self, username: str) -> int:
        """Forget `username`'s failed logins (an admin unlocking the account; the audit log keeps them)."""
        with self.engine.begin() as con:
            result = con.execute(
                delete(login_attempts).where(login_attempts.c.username == username, login_attempts.c.success == 0)
            )
            return result.rowcount

    def record_logout(self, username: str, at: float) -> None:
        with self.engine.begin() as con:
            exists = con.execute(select(logouts.c.username).where(logouts.c.username == username)).first()
            stmt = (
                update(logouts).where(logouts.c.username == username).values(at=at)
                if exists
                else insert(logouts).values(username=username, at=at)
            )
            con.execute(stmt)

    def last_logout(self, username: str) -> float | None:
        with self.engine.connect() as con:
            return con.execute(select(logouts.c.at).where(logouts.c.username == username)).scalar()

    # ---- user preferences ----------------------------------------------------------------------------
    def save_language(self, username: str, language: str) -> None:
        """Remember the language `username` chose last (`zh` or `en`)."""
        if language not in ("zh", "en"):
            raise ValueError(f"language {language!r}; use zh or en")
        with self.engine.begin() as con:
            table = user_preferences
            exists = con.execute(select(table.c.username).where(table.c.username == username)).first()
            values = {"language": language, "updated_at": _now()}
            con.execute(
                update(table).where(table.c.username == username).values(**values)
                if exists
                else insert(table).values(username=username, **values)
            )

    def language(self, username: str) -> str | None:
        """The language `username` chose last, if any."""
        with self.engine.connect() as con:
            table = user_preferences
            return con.execute(select(table.c.language).where(table.c.username == username)).scalar()

    # ---- audit ---------------------------------------------------------------------------------------
    def audit(self, username: str | None, action: str, **detail: Any) -> None:
        """Append one audit entry (logins, failed logins, exports, admin actions)."""
        clean = json.loads(json.dumps(detail, default=str))
        with self.engine.begin() as con:
            con.execute(insert(audit_log).values(at=_now(), username=username, action=action, detail=clean))

    def audit_entries(self, limit: int = 500) -> list[dict[str, Any]]:
        with self.engine.connect() as con:
            query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
            return [dict(r._mapping) for r in con.execute(query)]

    # ---- scheduler jobs ------------------------------------------------------------------------------
    def save_job(self, job_id: str, **values: Any) -> None:
        """Upsert what `python -m jobs status` reports for one job."""
        with self.engine.begin() as con:
            exists = con.execute(select(job_state.c.id).where(job_state.c.id == job_id)).first()
            values["updated_at"] = _now()
            if exists:
                con.execute(update(job_state).where(job_state.c.id == job_id).values(**values))
            else:
                con.execute(insert(job_state).values(id=job_id, **values))

    def jobs(self) -> list[dict[str, Any]]:
        with self.engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(select(job_state).order_by(job_state.c.id))]

    # ---- ad-hoc sources (created by `sources import`) ------------------------------------------------
    def save_ad_hoc_source(self, name: str, spec: dict[str, Any]) -> None:
        with self.engine.begin() as con:
            con.execute(ad_hoc_sources.delete().where(ad_hoc_sources.c.name == name))
            con.execute(insert(ad_hoc_sources).values(name=name, spec=spec, created_at=_now()))

    def ad_hoc_sources(self) -> list[dict[str, Any]]:
        with self.engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(select(ad_hoc_sources).order_by(ad_hoc_sources.c.name))]

    def ad_hoc_source(self, name: str) -> dict[str, Any] | None:
        with self.engine.connect() as con:
            row = con.execute(select(ad_hoc_sources).where(ad_hoc_sources.c.name == name)).first()
        return dict(row._mapping) if row else None

    def drop_ad_hoc_source(self, name: str) -> None:
        with self.engine.begin() as con:
            con.execute(delete(ad_hoc_sources).where(ad_hoc_sources.c.name == name))

    # ---- inbox (files uploaded on the data-health page, loaded by the worker) -----------------------
    def save_inbox_item(self, item_id: str, **values: Any) -> None:
        """Create or update one inbox item; `status` moves staged → queued → loading → published|blocked|failed."""
        with self.engine.begin() as con:
            exists = con.execute(select(inbox_items.c.id).where(inbox_items.c.id == item_id)).first()
            values["updated_at"] = _now()
            if exists:
                con.execute(update(inbox_items).where(inbox_items.c.id == item_id).values(**values))
            else:
                con.execute(insert(inbox_items).values(id=item_id, created_at=values["updated_at"], **values))

    def inbox_item(self, item_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as con:
            row = con.execute(select(inbox_items).where(inbox_items.c.id == item_id)).first()
        return dict(row._mapping) if row else None

    def inbox_items(self, limit: int = 50, statuses: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """Inbox items, newest first (optionally only those in `statuses`)."""
        query = select(inbox_items).order_by(inbox_items.c.created_at.desc(), inbox_items.c.id.desc()).limit(limit)
        if statuses:
            query = query.where(inbox_items.c.status.in_(statuses))
        with self.engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(query)]
