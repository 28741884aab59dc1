"""Sales Cockpit — the router: authenticate, build the Principal, show only the pages its roles allow.

Run with `streamlit run app.py` (the README's first command does everything). Every page file in `pages/`
also starts with a guard, because Streamlit serves `pages/*.py` by URL before this router has run.
"""

from __future__ import annotations

import streamlit as st

from auth.login import AuthConfigError, check_startup, login, logout, sign_in_page
from auth.roles import PAGES
from cockpit_ui.data import app_settings
from cockpit_ui.i18n import lang, t
from cockpit_ui.layout import language_picker, sidebar
from cockpit_ui.vocabulary import ROLE, word
from core.appstate import AppState
from jobs.inprocess import ensure_worker

# Tables and charts never offer their own CSV download: exports go through cockpit_ui.export, which audits
# them (also set in .streamlit/config.toml so that the very first run of a session has it).
st.set_option("client.disableDataExport", True)
st.set_page_config(page_title="销售驾驶舱 Sales Cockpit", page_icon=":material/speed:", layout="wide")
st.session_state["_router_ran"] = True

cfg = app_settings()
try:
    users = check_startup(cfg)
except AuthConfigError as exc:
    st.error(f"**{t('startup_refused')}**: {exc}")
    st.navigation([st.Page(lambda: None, title=t("startup_refused"), url_path="refused")], position="hidden").run()
    st.stop()

ensure_worker(cfg)
principal = login(cfg, users, lang=lang())
if principal is not None and "lang" not in st.query_params:
    # An address without ?lang= (a bookmark, a new tab) opens in the language the user chose last.
    if (saved := AppState(cfg.data_dir).language(principal.username)) and saved != lang():
        st.query_params["lang"] = saved
if cfg.demo:
    st.info(t("demo_banner"), icon=":material/science:")

if principal is None:

    def login_page() -> None:
        language_picker("login_lang_pick")
        sign_in_page(cfg, users, lang=lang())
        if cfg.demo and cfg.auth.method == "password":
            with st.expander(t("demo_accounts"), expanded=True):
                st.table(
                    {
                        "用户 / user": list(users.users),
                        "角色 / role": [
                            ", ".join(word(ROLE, r, lang()) for r in u.roles) for u in users.users.values()
                        ],
                        "范围 / scope": [u.scope.label for u in users.users.values()],
                    }
                )

    # Every page's address shows the sign-in form (no "page not found"), and keeps the address: a link from a
    # pushed alert to /overview lands there once the user has signed in.
    deep_links = [st.Page(login_page, title=t("please_login"), url_path=key, visibility="hidden") for key in PAGES]
    st.navigation(
        [st.Page(login_page, title=t("please_login"), url_path="login", default=True), *deep_links],
        position="hidden",
    ).run()
    st.stop()

if sidebar(cfg, principal):
    logout(cfg, principal)

# Each page answers at its own address (/overview, /data_health), bookmarks and alert links included. The root
# is a hidden page that moves to the user's first page: a default page would own "/" and leave its own name
# ("/overview") answering "Page not found".
allowed = principal.pages()
first = next((p for p in allowed if p.key == "overview"), allowed[0])


def home() -> None:
    st.switch_page(f"pages/{first.key}.py", query_params=st.query_params.to_dict())


def not_allowed() -> None:
    st.error(t("not_allowed"), icon=":material/block:")
    st.page_link(f"pages/{first.key}.py", label=first.title(lang()), icon=first.icon)


# The address of a page this user may not open says so in the user's language (not Streamlit's "Page not
# found"), and runs none of that page's code.
forbidden = [
    st.Page(not_allowed, title=t("not_allowed"), url_path=key, visibility="hidden")
    for key in PAGES
    if key not in {p.key for p in allowed}
]
sections: dict[str, list[st.Page]] = {
    "": [st.Page(home, title=first.title(lang()), url_path="home", default=True, visibility="hidden"), *forbidden]
}
section_titles = {"business": ("经营", "Business"), "data": ("数据", "Data"), "admin": ("管理", "Admin")}
for page in allowed:
    title = section_titles[page.section][0 if lang() == "zh" else 1]
    sections.setdefault(title, []).append(
        st.Page(f"pages/{page.key}.py", title=page.title(lang()), icon=page.icon, url_path=page.key)
    )
st.navigation(sections).run()
