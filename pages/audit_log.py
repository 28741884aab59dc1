from cockpit_ui.guard import require

principal = require("audit_log")

# 审计日志 Audit log (admins) — logins, failed logins, lockouts, logouts, exports and admin actions, newest
# first, from the app-state database.

import pandas as pd
import streamlit as st

from cockpit_ui.data import app_settings
from cockpit_ui.i18n import lang
from core.appstate import AppState

cfg = app_settings()
st.title("审计日志" if lang() == "zh" else "Audit log")
entries = AppState(cfg.data_dir).audit_entries(limit=1000)
if not entries:
    st.info("暂无记录。" if lang() == "zh" else "Nothing recorded yet.")
else:
    frame = pd.DataFrame(entries)[["at", "username", "action", "detail"]]
    frame["detail"] = frame["detail"].astype(str)
    st.dataframe(frame, hide_index=True, width="stretch")
