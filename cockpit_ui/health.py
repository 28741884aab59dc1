"""What the data-health page shows, as frames and charts: per-source health, runs over time, drift, rejected rows,
join keys that match nothing, and the inbox's progress. Everything comes from the app-state database (runs,
rejects, inbox) and the live snapshot's `_sources` and `_key_matches` tables — never from a page's own SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from auth.principal import Principal
from cockpit_ui.data import sources_status
from cockpit_ui.export import csv_bytes
from cockpit_ui.vocabulary import ENTITY, STATUS, schedule_words, word
from core.appstate import AppState
from core.config import Settings, Source
from core.warehouse import Snapshot, snapshot_by_id
from sources.freshness import format_lag, freshness

MEASURES = ("rows_read", "rows_loaded", "rows_rejected", "rows_superseded")
MEASURE_LABELS = {
    "zh": {"rows_read": "读取", "rows_loaded": "载入", "rows_rejected": "拒绝", "rows_superseded": "被替代"},
    "en": {"rows_read": "read", "rows_loaded": "loaded", "rows_rejected": "rejected", "rows_superseded": "superseded"},
}
REJECTS_PAGE = 50
PROGRESS = ("queued", "loading", "published", "blocked", "failed")
INBOX_LABELS = {
    "file": ("文件", "file"),
    "source": ("数据源", "source"),
    "status": ("进度", "progress"),
    "uploaded_by": ("上传人", "uploaded by"),
    "updated": ("更新时间", "updated"),
    "loaded": ("载入", "loaded"),
    "rejected": ("拒绝", "rejected"),
    "error": ("错误", "error"),
}


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """Text from a file or a user, escaped so that st.markdown / st.error show it as typed (no links, no HTML)."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def _local(value: dt.datetime | None, cfg: Settings) -> dt.datetime | None:
    """A naive UTC time from the app state, in the business time zone (naive, for display)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(cfg.business.timezone)).replace(tzinfo=None)


def source_summary(cfg: Settings, state: AppState, sources: list[Source], snapshot: Snapshot | None) -> pd.DataFrame:
    """One row per source: status of the last run, last success, lag against the schedule, row counts, stale."""
    stale = {}
    if snapshot is not None:
        status = sources_status(snapshot.id, str(cfg.config_path))
        stale = dict(zip(status["name"], status["stale"], strict=True)) if not status.empty else {}
    rows = []
    for source in sources:
        runs = state.runs(source.name, limit=1)
        last = runs[0] if runs else None
        good = state.last_success(source.name)
        # The row counts are those of the last load that read the file: an unchanged run reads nothing.
        counted = state.last_published(source.name) if last and last["status"] == "unchanged" else last
        fresh = freshness(source.schedule, good["finished_at"] if good else None, cfg)
        rows.append(
            {
                "source": source.name,
                "entity": source.entity,
                "schedule": source.schedule,
                "status": last["status"] if last else "never run",
                "stale": bool(stale.get(source.name, False)),
                "late": fresh.late,
                "last_success": _local(good["finished_at"], cfg) if good else None,
                "lag": fresh.lag,
                "last_run": _local(last["finished_at"] or last["started_at"], cfg) if last else None,
                **{m: (counted or {}).get(m) or 0 for m in (*MEASURES, "rows_skipped")},
                "error": (last or {}).get("error") or "",
            }
        )
    return pd.DataFrame(rows)


SUMMARY_LABELS = {
    "source": ("数据源", "source"),
    "entity": ("实体", "entity"),
    "schedule": ("计划", "schedule"),
    "status": ("最近状态", "last status"),
    "stale": ("沿用旧数据", "last good data"),
    "late": ("同步逾期", "late"),
    "last_success": ("上次成功", "last success"),
    "lag": ("距上次成功", "lag"),
    "last_run": ("上次运行", "last run"),
    "rows_read": ("读取", "read"),
    "rows_loaded": ("载入", "loaded"),
    "rows_rejected": ("拒绝", "rejected"),
    "rows_superseded": ("被替代", "superseded"),
    "rows_skipped": ("跳过", "skipped"),
    "error": ("错误", "error"),
}


def summary_for_display(summary: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The summary with the lag in words (the column names stay; the page labels them)."""
    shown = summary.copy()
    shown["lag"] = [format_lag(v if isinstance(v, dt.timedelta) else None, lang) for v in summary["lag"]]
    shown["status"] = [word(STATUS, v, lang) for v in summary["status"]]
    shown["entity"] = [word(ENTITY, v, lang) for v in summary["entity"]]
    shown["schedule"] = [schedule_words(v, lang) for v in summary["schedule"]]
    return shown


def inbox_for_display(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The inbox table with its progress in words."""
    return frame.assign(status=[word(STATUS, v, lang) for v in frame["status"]])


def summary_columns(lang: str) -> dict:
    """Column labels and kinds of the summary table for `st.dataframe(column_config=...)`."""
    pick = 0 if lang == "zh" else 1
    config: dict = {k: st.column_config.Column(v[pick]) for k, v in SUMMARY_LABELS.items()}
    config["stale"] = st.column_config.CheckboxColumn(
        SUMMARY_LABELS["stale"][pick],
        help=(
            "最近一次同步没有成功，页面显示的是上次成功的数据"
            if lang == "zh"
            else "The last sync did not succeed; pages show the last good data"
        ),
    )
    config["late"] = st.column_config.CheckboxColumn(
        SUMMARY_LABELS["late"][pick],
        help=(
            "距上次成功同步的时间超过了计划间隔"
            if lang == "zh"
            else "Longer since the last good sync than its schedule allows"
        ),
    )
    for key in ("last_success", "last_run"):
        config[key] = st.column_config.DatetimeColumn(SUMMARY_LABELS[key][pick], format="YYYY-MM-DD HH:mm")
    for key in (*MEASURES, "rows_skipped"):
        config[key] = st.column_config.NumberColumn(SUMMARY_LABELS[key][pick], format="localized")
    return config


def runs_over_time(cfg: Settings, state: AppState, source: str, limit: int = 200) -> pd.DataFrame:
    """Rows read / loaded / rejected / superseded per load of `source` (published and blocked runs), long form."""
    runs = [r for r in state.runs(source, limit=limit) if r["status"] in ("published", "blocked") and r["rows_read"]]
    records = [
        {
            "run": r["id"],
            "finished": _local(r["finished_at"] or r["started_at"], cfg),
            "status": r["status"],
            "measure": m,
            "rows": int(r[m] or 0),
        }
        for r in runs
        for m in MEASURES
    ]
    return pd.DataFrame(records, columns=["run", "finished", "status", "measure", "rows"])


def rows_chart(frame: pd.DataFrame, lang: str) -> alt.Chart:
    """One line per measure across the source's loads; a blocked load's points are crosses."""
    labels = MEASURE_LABELS[lang]
    data = frame.assign(label=frame["measure"].map(labels), status=[word(STATUS, v, lang) for v in frame["status"]])
    shapes = [word(STATUS, v, lang) for v in ("published", "blocked")]
    order = [labels[m] for m in MEASURES]
    base = alt.Chart(data).encode(
        x=alt.X(
            "finished:T",
            title="同步时间" if lang == "zh" else "Synced at",
            axis=alt.Axis(format="%m-%d %H:%M", labelAngle=-30, tickCount=8),
        ),
        y=alt.Y("rows:Q", title="行数" if lang == "zh" else "Rows"),
        color=alt.Color("label:N", sort=order, title=None, scale=alt.Scale(domain=order)),
    )
    points = base.mark_point(filled=True, size=60).encode(
        shape=alt.Shape("status:N", title=None, scale=alt.Scale(domain=shapes, range=["circle", "cross"])),
        tooltip=["run:Q", "status:N", "label:N", alt.Tooltip("rows:Q", format=",")],
    )
    return (base.mark_line() + points).properties(height=260)


def drift_frame(state: AppState, source: str) -> pd.DataFrame:
    """Schema drift of the source's latest load against the load before it that succeeded."""
    run = state.latest_load(source)
    changes = ((run or {}).get("details") or {}).get("drift") or []
    return pd.DataFrame(changes, columns=["change", "column", "before", "after"])


def issues_frame(state: AppState, source: str) -> pd.DataFrame:
    """What the loader noticed in the source's latest load (skipped rows, rejects, drift, keys, duplicates)."""
    run = state.latest_load(source)
    return pd.DataFrame((run or {}).get("issues") or [], columns=["kind", "detail", "count"])


def _rejects_frame(rows: list[dict]) -> pd.DataFrame:
    """Rejected rows with their raw values as columns (a raw header that clashes gets ' (raw)')."""
    fixed = ["file", "line", "reason"]
    records = []
    for r in rows:
        record = {"file": r["file"], "line": r["line"], "reason": r["reason"]}
        for column, value in (r["raw"] or {}).items():
            record[f"{column} (raw)" if column in fixed else column] = value
        records.append(record)
    return pd.DataFrame(records, columns=None if records else fixed)


def rejects_page(state: AppState, run_id: int, page: int, size: int = REJECTS_PAGE) -> pd.DataFrame:
    """One page (1-based) of a run's rejected rows, in file order."""
    return _rejects_frame(state.rejects(run_id, limit=size, offset=(page - 1) * size))


def rejects_csv(data_dir: str, run_id: int) -> bytes:
    """All kept rejected rows of a run as CSV (built only when the download button is clicked)."""
    state = AppState(data_dir)
    return csv_bytes(_rejects_frame(state.rejects(run_id, limit=state.count_rejects(run_id) or 1)))


def audit_rejects_export(data_dir: str, principal: Principal, source: str, run_id: int, rows: int) -> None:
    """The download button's on_click: an `export` entry in the audit log."""
    AppState(data_dir).audit(
        principal.username,
        "export",
        what=f"rejected_rows:{source}",
        run=run_id,
        rows=rows,
        format="csv",
        scope=principal.scope.label,
    )


@st.cache_data(ttl="1h", max_entries=50, show_spinner=False)
def key_matches(snapshot_id: str, config_path: str) -> pd.DataFrame:
    """The live snapshot's `_key_matches`: per source, entity and dimension, how fact keys found their members."""
    from core.config import settings

    cur = snapshot_by_id(settings().data_dir, snapshot_id).cursor()
    try:
        return cur.execute("SELECT * FROM _key_matches ORDER BY source, entity, dimension").df()
    finally:
        cur.close()


def unmatched_keys(cfg: Settings, state: AppState, snapshot: Snapshot | None, source: str) -> pd.DataFrame:
    """Join keys of `source` that match nothing (or more than one member): counts, and the examples from issues."""
    if snapshot is None:
        return pd.DataFrame(columns=["entity", "dimension", "unmatched", "ambiguous", "examples"])
    # The examples come from the issues of the source's latest run that reported keys (an unchanged run has none).
    reported = next(
        (r for r in state.runs(source, limit=50) if any(i["kind"].startswith("key_") for i in r["issues"] or [])),
        None,
    )
    details = [
        i["detail"] for i in (reported or {}).get("issues") or [] if i["kind"] in ("key_unmatched", "key_ambiguous")
    ]
    matches = key_matches(snapshot.id, str(cfg.config_path))
    mine = matches[(matches["source"] == source) & ((matches["unmatched"] > 0) | (matches["ambiguous"] > 0))]
    out = mine[["entity", "dimension", "unmatched", "ambiguous"]].copy()
    out["examples"] = [
        "; ".join(d.split(": ", 1)[1] for d in details if d.startswith(f"{row.entity}.{row.dimension}: "))
        for row in mine.itertuples()
    ]
    return out.reset_index(drop=True)


def inbox_columns(lang: str) -> dict:
    pick = 0 if lang == "zh" else 1
    config: dict = {k: st.column_config.Column(v[pick]) for k, v in INBOX_LABELS.items()}
    config["updated"] = st.column_config.DatetimeColumn(INBOX_LABELS["updated"][pick], format="YYYY-MM-DD HH:mm:ss")
    return config


def inbox_frame(cfg: Settings, state: AppState, limit: int = 20) -> pd.DataFrame:
    """The latest confirmed uploads and where they are: queued → loading → published | blocked | failed."""
    rows = []
    for item in state.inbox_items(limit=limit, statuses=PROGRESS):
        report = item.get("report") or {}
        rows.append(
            {
                "file": item["file_name"],
                "source": item["source"],
                "status": item["status"],
                "uploaded_by": item["uploaded_by"],
                "updated": _local(item["updated_at"], cfg),
                "loaded": report.get("rows_loaded"),
                "rejected": report.get("rows_rejected"),
                "error": item["error"] or "",
            }
        )
    return pd.DataFrame(
        rows, columns=["file", "source", "status", "uploaded_by", "updated", "loaded", "rejected", "error"]
    )
