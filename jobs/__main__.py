"""`python -m jobs worker|run|status` (CONTRACTS.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import sys

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.blocking import BlockingScheduler

from core.appstate import AppState
from core.config import ConfigError, settings
from jobs.scheduler import JOB_DEFAULTS, WorkerRunningError, add_jobs, record_next_runs, scheduler_lock
from sources.sync import run_sync


def _worker() -> int:
    cfg = settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # APScheduler logs every run of every job at INFO (the inbox job runs every 10 s); keep its warnings only.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        with scheduler_lock(cfg.data_dir):
            scheduler = BlockingScheduler(job_defaults=JOB_DEFAULTS, timezone=cfg.business.timezone)
            ids = add_jobs(scheduler, cfg)
            scheduler.add_listener(lambda _e: record_next_runs(scheduler, cfg), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
            print(f"worker: {len(ids)} job(s) for {cfg.config_path.name}: {', '.join(ids) or 'none'}", flush=True)
            signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
            scheduler.start()
    except WorkerRunningError as exc:
        print(f"error: {exc}; not starting a second scheduler", file=sys.stderr)
        return 1
    return 0


def _run(what: str) -> int:
    cfg = settings()
    if what == "sync":
        report = run_sync(cfg)
        json.dump(report.as_dict(), sys.stdout, ensure_ascii=False, indent=2, default=str)
        print()
        return 0 if report.ok else 1
    if what == "inbox":
        from sources.inbox import process_inbox

        handled = process_inbox(cfg)
        json.dump({"items": handled}, sys.stdout, ensure_ascii=False, indent=2, default=str)
        print()
        return 0 if all(h["status"] == "published" for h in handled) else 1
    print(f"error: unknown job {what!r}; jobs: sync, inbox", file=sys.stderr)
    return 2


def _status(fmt: str) -> int:
    cfg = settings()
    rows = AppState(cfg.data_dir).jobs()

    def iso(value: dt.datetime | None) -> str | None:
        return value.replace(tzinfo=dt.UTC).isoformat() if value else None

    jobs = [
        {"id": r["id"], "next_run": iso(r["next_run"]), "last_run": iso(r["last_run"]), "last_status": r["last_status"]}
        for r in rows
    ]
    if fmt == "json":
        json.dump({"jobs": jobs}, sys.stdout, indent=2)
        print()
    else:
        for job in jobs:
            print(
                f"{job['id']:<28} next {job['next_run'] or '-':<34} last {job['last_run'] or '-'} "
                f"{job['last_status'] or ''}"
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("worker", help="run the scheduler (one per data directory)")
    p_run = sub.add_parser("run", help="run one job now")
    p_run.add_argument("what", choices=["sync", "inbox"])
    p_status = sub.add_parser("status", help="scheduled jobs, next and last runs")
    p_status.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    try:
        if args.command == "worker":
            return _worker()
        if args.command == "run":
            return _run(args.what)
        return _status(args.format)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    from core.cli import run_main

    run_main(main)
