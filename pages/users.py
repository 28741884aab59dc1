from cockpit_ui.guard import require

principal = require("users")

# 用户与权限 Users (admins) — who can sign in, with which roles, which pages and which rows. Users are kept in
# the users file named by the configuration; passwords are bcrypt hashes (`python -m auth hash`).

import pandas as pd
import streamlit as st

from auth.roles import pages_for
from auth.users import load_users
from cockpit_ui.data import app_settings
from cockpit_ui.i18n import lang

cfg = app_settings()
zh = lang() == "zh"
st.title("用户与权限" if zh else "Users and access")
users = load_users(cfg)
st.caption(f"{users.path}")
rows = [
    {
        "user": u.username,
        "name": u.name,
        "roles": ", ".join(u.roles),
        "scope": u.scope.label,
        "rep id": u.rep_id or "",
        "pages": ", ".join(p.key for p in pages_for(u.roles)),
    }
    for u in users.users.values()
]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
