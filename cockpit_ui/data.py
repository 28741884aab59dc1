"""Numbers for pages: the metric layer behind Streamlit's cache, keyed by snapshot id and scope.

Streamlit's data cache is global across users, so every cached call takes the snapshot id and the caller's
scope as arguments: a result computed for one scope is never served to another, and a new snapshot is a new
key (no cache clearing needed — the worker cannot reach the app's cache anyway).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from core.calendar import BusinessCalendar
from core.config import ConfigError, Settings, settings
from core.warehouse import NoSnapshotError, Snapshot, current_snapshot, snapshot_by_id
from metrics.query import query
from metrics.scope import Scope
from metrics.spec import load_catalog
from sources.gaps import Gap, missing_days


@dataclass(frozen=True)
class Answer:
    """A query result as pages use it (picklable for the cache)."""

    frame: pd.DataFrame
    formats: dict[str, str]
    as_of: dt.datetime
    snapshot_id: str
    scope_label: str


def app_settings() -> Settings:
    try:
        return settings()
    except ConfigError as exc:
        st.error(str(exc))
        st.stop()
        raise


def live_snapshot(cfg: Settings) -> Snapshot | None:
    try:
        return current_snapshot(cfg.data_dir)
    except NoSnapshotError:
        return None


@st.cache_data(ttl="1h", max_entries=2000, show_spinner=False)
def _cached_query(
    names: tuple[str, ...],
    scope: Scope,
    snapshot_id: str,
    config_path: str,
    by: tuple[str, ...],
    grain: str | None,
    start: dt.date | None,
    end: dt.date | None,
    where: tuple[tuple[str, tuple[str, ...]], ...],
    compare: tuple[str, ...],
) -> Answer:
    cfg = settings()
    snapshot = snapshot_by_id(cfg.data_dir, snapshot_id)
    result = query(
        list(names),
        scope,
        by=list(by),
        grain=grain,
        start=start,
        end=end,
        where={k: list(v) for k, v in where},
        compare=compare,
        settings=cfg,
        snapshot=snapshot,
    )
    formats = {c["name"]: c["format"] for c in result.columns() if c["format"]}
    return Answer(result.frame, formats, result.as_of, result.snapshot_id, result.scope.label)


def metric_answer(
    names: list[str] | tuple[str, ...],
    scope: Scope,
    snapshot: Snapshot,
    *,
    by: list[str] | tuple[str, ...] = (),
    grain: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    where: dict[str, list[str]] | None = None,
    compare: tuple[str, ...] = (),
) -> Answer:
    """Cached metric query for one scope on one snapshot (the only way pages get numbers)."""
    where_key = tuple(sorted((k, tuple(v)) for k, v in (where or {}).items()))
    return _cached_query(
        tuple(names),
        scope,
        snapshot.id,
        str(settings().config_path),
        tuple(by),
        grain,
        start,
        end,
        where_key,
        tuple(compare),
    )


@st.cache_data(ttl="1h", max_entries=50, show_spinner=False)
def sources_status(snapshot_id: str, config_path: str) -> pd.DataFrame:
    """The `_sources` table of a snapshot: which sources are stale and when they last succeeded."""
    cur = snapshot_by_id(settings().data_dir, snapshot_id).cursor()
    try:
        return cur.execute("SELECT * FROM _sources ORDER BY name").df()
    finally:
        cur.close()


@st.cache_data(ttl="1h", max_entries=50, show_spinner=False)
def day_gaps(snapshot_id: str, config_path: str, today: dt.date) -> list[Gap]:
    """Days in the last 90 on which a daily feed of the snapshot has no rows (`sources.gaps`)."""
    cfg = settings()
    cur = snapshot_by_id(cfg.data_dir, snapshot_id).cursor()
    try:
        return missing_days(cur, BusinessCalendar.from_settings(cfg.business), today)
    finally:
        cur.close()


def metric_labels(lang: str) -> dict[str, Any]:
    catalog = load_catalog()
    return {name: m.text(lang) for name, m in catalog.metrics.items()}
