"""The one scheduler: each source's sync on its schedule (sync → publish; detect and notify come later), and the
inbox job that loads files uploaded on the data-health page (every INBOX_SECONDS).

APScheduler 3 runs in one process only (`python -m jobs worker`); a lock file under COCKPIT_DATA_DIR makes a
second worker refuse to start. Job ids are explicit, `replace_existing=True`, `coalesce=True`,
`max_instances=1` and a real `misfire_grace_time` (the library's default is one second). Sources that share a
schedule are synced together, so they publish one snapshot.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.appstate import AppState
from core.config import Settings
from core.locks import file_lock
from core.schedule import parse_schedule
from sources.sync import all_sources, run_sync

log = logging.getLogger("cockpit.jobs")
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 900}
INBOX_JOB = "inbox"
INBOX_SECONDS = 10


class WorkerRunningError(RuntimeError):
    """Another worker already schedules this data directory."""


@contextmanager
def scheduler_lock(data_dir: Path) -> Iterator[None]:
    """Held for the worker's lifetime: one scheduler per data directory."""

    def refuse(holder: str) -> bool:
        raise WorkerRunningError(f"a worker already runs for {data_dir} ({holder})")

    with file_lock(data_dir / "scheduler.lock", on_busy=refuse):
        yield


def job_id(schedule_text: str) -> str:
    return "sync:" + re.sub(r"[^a-z0-9*/,-]+", "-", schedule_text.lower()).strip("-")


def sync_job(config_path: str, names: list[str], job: str) -> None:
    """One scheduled sync (a module-level callable, as APScheduler wants)."""
    from core.config import load_settings

    cfg = load_settings(Path(config_path))
    state = AppState(cfg.data_dir)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        report = run_sync(cfg, names)
        status = "ok" if report.ok else "partial"
        error = "; ".join(f"{s.name}: {s.error}" for s in report.sources if s.error) or None
    except Exception as exc:  # noqa: BLE001 - recorded, the scheduler keeps running
        log.exception("sync job %s failed", job)
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    state.save_job(job, last_run=started, last_status=status, last_error=error)


def inbox_job(config_path: str) -> None:
    """Import the files confirmed on the data-health page (a module-level callable, as APScheduler wants)."""
    from core.config import load_settings
    from sources.inbox import process_inbox

    cfg = load_settings(Path(config_path))
    state = AppState(cfg.data_dir)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        handled = process_inbox(cfg)
    except Exception as exc:  # noqa: BLE001 - recorded, the scheduler keeps running
        log.exception("inbox job failed")
        state.save_job(INBOX_JOB, last_run=started, last_status="failed", last_error=f"{type(exc).__name__}: {exc}")
        return
    bad = [f"{h['file']}: {h['error'] or h['status']}" for h in handled if h["status"] != "published"]
    state.save_job(
        INBOX_JOB, last_run=started, last_status="partial" if bad else "ok", last_error="; ".join(bad) or None
    )


def plan(cfg: Settings) -> dict[str, tuple[str, list[str]]]:
    """job id → (schedule text, source names) for every scheduled source."""
    groups: dict[str, tuple[str, list[str]]] = {}
    for source in all_sources(cfg):
        schedule = parse_schedule(source.schedule)
        if schedule.manual:
            continue
        groups.setdefault(job_id(source.schedule), (source.schedule, []))[1].append(source.name)
    return groups


def add_jobs(scheduler: BaseScheduler, cfg: Settings) -> list[str]:
    """Register one job per distinct schedule; returns the job ids."""
    ids = []
    for job, (text, names) in plan(cfg).items():
        schedule = parse_schedule(text)
        trigger = (
            IntervalTrigger(seconds=schedule.interval_seconds, timezone=cfg.business.timezone)
            if schedule.interval_seconds
            else CronTrigger.from_crontab(schedule.cron, timezone=cfg.business.timezone)
        )
        scheduler.add_job(
            sync_job,
            trigger,
            id=job,
            name=f"sync {', '.join(names)}",
            args=[str(cfg.config_path), names, job],
            replace_existing=True,
            next_run_time=dt.datetime.now(dt.UTC),
        )
        ids.append(job)
    scheduler.add_job(
        inbox_job,
        IntervalTrigger(seconds=INBOX_SECONDS, timezone=cfg.business.timezone),
        id=INBOX_JOB,
        name="load files uploaded on the data-health page",
        args=[str(cfg.config_path)],
        replace_existing=True,
        misfire_grace_time=60,
    )
    ids.append(INBOX_JOB)
    return ids


def record_next_runs(scheduler: BaseScheduler, cfg: Settings) -> None:
    state = AppState(cfg.data_dir)
    for job in scheduler.get_jobs():
        next_run = job.next_run_time.astimezone(dt.UTC).replace(tzinfo=None) if job.next_run_time else None
        state.save_job(job.id, next_run=next_run)
