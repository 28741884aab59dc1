from cockpit_ui.guard import require

principal = require("data_health")

# 数据健康 Data health — per source: last run and last success, rows read / loaded / rejected / superseded /
# skipped, what the loader noticed (keys matched by normalisation, duplicates, missing FX rates) and the
# rejected rows with their reason, file and line.

import pandas as pd
import streamlit as st

from cockpit_ui.data import app_settings
from cockpit_ui.i18n import lang
from core.appstate import AppState
from sources.sync import all_sources

cfg = app_settings()
zh = lang() == "zh"
state = AppState(cfg.data_dir)
st.title("数据健康" if zh else "Data health")
rows = []
latest = {}
for source in all_sources(cfg):
    runs = state.runs(source.name, limit=1)
    last = runs[0] if runs else None
    latest[source.name] = last
    good = state.last_success(source.name)
    rows.append(
        {
            "source": source.name,
            "entity": source.entity,
            "schedule": source.schedule,
            "status": last["status"] if last else "never run",
            "last run": last["finished_at"] if last else None,
            "last success": good["finished_at"] if good else None,
            "read": last["rows_read"] if last else 0,
            "loaded": last["rows_loaded"] if last else 0,
            "rejected": last["rows_rejected"] if last else 0,
            "superseded": last["rows_superseded"] if last else 0,
            "skipped": last["rows_skipped"] if last else 0,
            "error": (last or {}).get("error") or "",
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="sources_table")

name = st.selectbox("数据源" if zh else "Source", [r["source"] for r in rows])
run = latest.get(name)
if run:
    issues = pd.DataFrame(run.get("issues") or [])
    st.subheader("发现的问题" if zh else "What the loader noticed")
    if issues.empty:
        st.caption("无" if zh else "Nothing")
    else:
        st.dataframe(issues, hide_index=True, width="stretch")
    rejects = state.rejects(run["id"], limit=1000)
    st.subheader(("被拒绝的行" if zh else "Rejected rows") + f" ({run['rows_rejected']:,})")
    if rejects:
        frame = pd.DataFrame(
            [{"line": r["line"], "reason": r["reason"], "file": r["file"], "raw": str(r["raw"])} for r in rejects]
        )
        st.dataframe(frame, hide_index=True, width="stretch")
