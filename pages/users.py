from cockpit_ui.guard import require

principal = require("users")

# 用户与权限 Users (admins) — who can sign in, how (password, OpenID Connect), with which roles, pages and
# rows, and whether the account is locked after failed sign-ins. Users are kept in the users file named by the
# configuration; passwords are bcrypt hashes (`python -m auth hash`). Unlocking an account is audited.

import pandas as pd
import streamlit as st

from auth.roles import pages_for
from auth.sessions import is_locked
from auth.users import load_users
from cockpit_ui.data import app_settings
from cockpit_ui.i18n import lang
from cockpit_ui.vocabulary import ROLE, SIGN_IN, scope_words, word
from core.appstate import AppState

cfg = app_settings()
zh = lang() == "zh"
state = AppState(cfg.data_dir)
st.title("用户与权限" if zh else "Users and access")
users = load_users(cfg)
st.caption(f"{users.path}")
locked = [u.username for u in users.users.values() if is_locked(state, u.username)]
rows = [
    {
        "user": u.username,
        "name": u.name,
        "email": u.email,
        "roles": ", ".join(word(ROLE, r, lang()) for r in u.roles),
        "scope": scope_words(u.scope, lang()),
        "rep id": u.rep_id or "",
        "sign-in": word(SIGN_IN, cfg.auth.method, lang())
        if (u.password_hash if cfg.auth.method == "password" else u.email or u.oidc_sub)
        else "—",
        "locked": u.username in locked,
        "pages": ", ".join(p.title(lang()) for p in pages_for(u.roles)),
    }
    for u in users.users.values()
]
labels = {
    "user": ("账号", "User"),
    "name": ("姓名", "Name"),
    "email": ("邮箱", "E-mail"),
    "roles": ("角色", "Roles"),
    "scope": ("数据范围", "Scope"),
    "rep id": ("业务员编号", "Rep id"),
    "sign-in": ("登录方式", "Sign-in"),
    "locked": ("已锁定", "Locked"),
    "pages": ("可见页面", "Pages"),
}
st.dataframe(
    pd.DataFrame(rows),
    hide_index=True,
    width="stretch",
    key="users_table",
    column_config={key: st.column_config.Column(pair[0] if zh else pair[1]) for key, pair in labels.items()},
)

if locked:
    st.subheader("解锁账号" if zh else "Unlock an account")
    with st.container(horizontal=True, vertical_alignment="bottom", key="unlock_row"):
        target = st.selectbox("账号" if zh else "Account", locked, key="unlock_user")
        if st.button("解锁" if zh else "Unlock", key="unlock_button", icon=":material/lock_open:"):
            cleared = state.clear_login_failures(target)
            state.audit(principal.username, "admin_unlock", user=target, failures_cleared=cleared)
            st.rerun()
