from cockpit_ui.guard import require

principal = require("audit_log")

# 审计日志 Audit log (admins) — sign-ins, failed sign-ins, lockouts, sign-outs, refused identities, exports and
# admin actions, newest first, from the app-state database; filtered by action and by user, and exportable
# (the export is itself audited).

import pandas as pd
import streamlit as st

from cockpit_ui.data import app_settings
from cockpit_ui.export import export_buttons
from cockpit_ui.i18n import lang, t
from cockpit_ui.vocabulary import ACTION, word
from core.appstate import AppState

cfg = app_settings()
st.title("审计日志" if lang() == "zh" else "Audit log")
entries = AppState(cfg.data_dir).audit_entries(limit=5000)
if not entries:
    st.info(t("nothing_recorded"))
    st.stop()

frame = pd.DataFrame(entries)[["at", "username", "action", "detail"]]
# Stored in UTC; shown on the business clock, like every other time in the cockpit.
zone = cfg.business.timezone
frame["at"] = pd.to_datetime(frame["at"]).dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)
frame["username"] = frame["username"].fillna("")
frame["detail"] = frame["detail"].map(lambda d: "" if d in (None, {}) else ", ".join(f"{k}={v}" for k, v in d.items()))
with st.container(horizontal=True, key="audit_filters"):
    actions = st.multiselect(
        t("audit_action"),
        sorted(frame["action"].unique()),
        key="audit_action",
        format_func=lambda code: word(ACTION, code, lang()),
    )
    names = st.multiselect(t("audit_user"), sorted(n for n in frame["username"].unique() if n), key="audit_user")
shown = frame
if actions:
    shown = shown[shown["action"].isin(actions)]
if names:
    shown = shown[shown["username"].isin(names)]
shown = shown.reset_index(drop=True)
shown["action"] = [word(ACTION, code, lang()) for code in shown["action"]]
st.caption(f"{len(shown):,} / {len(frame):,}")
zh = lang() == "zh"
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    key="audit_table",
    column_config={
        "at": st.column_config.DatetimeColumn(
            f"时间（{zone}）" if zh else f"Time ({zone})", format="YYYY-MM-DD HH:mm:ss"
        ),
        "username": st.column_config.TextColumn("用户" if zh else "User"),
        "action": st.column_config.TextColumn("操作" if zh else "Action"),
        "detail": st.column_config.TextColumn("详情" if zh else "Detail"),
    },
)
# The file names the zone of its times, as the table's header does.
export_buttons(
    shown.rename(columns={"at": f"at ({zone})"}), what="audit_log", principal=principal, cfg=cfg, key="audit_table"
)
