"""Fallback for a single-process start: the app runs the scheduler itself, once per server, never per session.

Used only when COCKPIT_INPROCESS_WORKER=1 and no separate worker holds the scheduler lock. It changes nothing
about writing: each job still writes a new snapshot file with its own connection and flips CURRENT.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from core.config import Settings


@st.cache_resource(show_spinner=False)
def _start(config_path: str, data_dir: str):  # noqa: ANN202 - returns the scheduler or None
    from apscheduler.schedulers.background import BackgroundScheduler

    from core.config import load_settings
    from jobs.scheduler import JOB_DEFAULTS, WorkerRunningError, add_jobs, scheduler_lock

    cfg = load_settings(Path(config_path))
    lock = scheduler_lock(cfg.data_dir)
    try:
        lock.__enter__()
    except WorkerRunningError:
        return None  # a separate worker already schedules this data directory
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone=cfg.business.timezone)
    add_jobs(scheduler, cfg)
    scheduler.start()
    return scheduler


def ensure_worker(cfg: Settings) -> None:
    """Start the in-process scheduler once per server when asked to (COCKPIT_INPROCESS_WORKER=1)."""
    if os.environ.get("COCKPIT_INPROCESS_WORKER") == "1":
        _start(str(cfg.config_path), str(cfg.data_dir))
