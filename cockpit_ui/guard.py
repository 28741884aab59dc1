"""The guard every page file calls on its first line: `principal = require("overview")`.

Because a folder named `pages/` sits beside `app.py`, Streamlit serves any `pages/*.py` by URL before the
router has run in a fresh server. The guard re-checks the login and the role on every run: without a
Principal set by the router in this session, or when that sign-in no longer holds (logged out elsewhere,
session over, user removed), it sends the browser to the router (the login page) or stops; with a Principal
that may not open the page it says so and stops. Nothing below the guard runs.
"""

from __future__ import annotations

import streamlit as st

from auth.login import still_signed_in
from auth.principal import Principal
from cockpit_ui.data import app_settings
from cockpit_ui.i18n import t


def require(page_key: str) -> Principal:
    """The logged-in Principal if it may open `page_key`; otherwise stop the page here."""
    principal = st.session_state.get("principal")
    if isinstance(principal, Principal) and st.session_state.get("authentication_status"):
        # Re-checked here too, not only by the router: the sign-in must still hold and the user still exist.
        principal = still_signed_in(app_settings(), principal)
    else:
        principal = None
    if principal is None:
        if not st.session_state.get("_router_ran"):
            # Opened by URL in the legacy pages/ mode: app.py never ran in this session.
            try:
                st.switch_page("app.py")
            except Exception:  # noqa: BLE001 - under st.navigation app.py is not a page; stop instead
                pass
        st.warning(t("please_login"))
        st.stop()
    if not principal.can_open(page_key):
        st.error(t("not_allowed"))
        st.stop()
    return principal
