"""Sign-in through an OpenID Connect provider with Streamlit's own `st.login` (`auth.method: oidc`).

The provider proves who someone is; the users file still says what they may see. The identity's `email`
(or `sub`, with `auth.match: sub`) must name exactly one user of the users file, or the sign-in is refused
and audited. An identity issued before the user's last logout, or more than `SESSION_HOURS` ago, is not
accepted (Streamlit's own identity cookie lasts 30 days); the user signs in again at the provider.

Secrets live in `.streamlit/secrets.toml` (README, "Sign-in"):

```toml
[auth]
redirect_uri = "https://cockpit.example.com/oauth2callback"
cookie_secret = "<at least 32 random bytes>"
client_id = "..."
client_secret = "..."
server_metadata_url = "https://idp.example.com/.well-known/openid-configuration"
```
With `auth.provider: NAME` the last three go in an `[auth.NAME]` block instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from auth import clock, sessions
from auth.principal import Principal
from auth.users import User, Users
from core.appstate import AppState
from core.config import Settings


def provider_label(settings: Settings) -> str:
    """The name on the sign-in button."""
    return settings.auth.provider_label or settings.auth.provider or "SSO"


def identity_of(settings: Settings, claims: dict[str, Any]) -> str | None:
    """The claim that finds the user: `email` (refused when the provider says it is unverified) or `sub`."""
    if settings.auth.match == "sub":
        value = claims.get("sub")
    else:
        if claims.get("email_verified") is False:
            return None
        value = claims.get("email")
    return str(value) if value else None


def _sign_in_button(settings: Settings, lang: str) -> None:
    label = provider_label(settings)
    st.subheader("登录 销售驾驶舱" if lang == "zh" else "Sign in to Sales Cockpit")
    text = f"使用 {label} 登录" if lang == "zh" else f"Sign in with {label}"
    if st.button(text, key="oidc_sign_in", type="primary", icon=":material/login:"):
        st.login(settings.auth.provider)


def _refuse(state: AppState, identity: str | None, claims: dict[str, Any], lang: str) -> None:
    if st.session_state.get("_oidc_refused") != identity:
        state.audit(None, "login_refused", method="oidc", identity=identity, subject=claims.get("sub"))
        st.session_state["_oidc_refused"] = identity
    shown = identity or claims.get("sub") or "?"
    st.error(
        f"{shown} 不是本驾驶舱的用户，请联系管理员把你加入用户文件。"
        if lang == "zh"
        else f"{shown} is not a user of this cockpit; ask an admin to add you to the users file."
    )
    if st.button("退出登录" if lang == "zh" else "Sign out", key="oidc_refused_sign_out"):
        st.logout()


@dataclass(frozen=True)
class _Identity:
    """What Streamlit's identity cookie says, judged against the users file and the app-state database."""

    claims: dict[str, Any]
    identity: str | None = None
    user: User | None = None
    valid: bool = False

    @property
    def signed_in(self) -> bool:
        return bool(self.claims.get("is_logged_in"))


def _identity(settings: Settings, users: Users, state: AppState) -> _Identity:
    claims = st.user.to_dict()
    if not claims.get("is_logged_in"):
        return _Identity(claims)
    identity = identity_of(settings, claims)
    user = users.by_identity(settings.auth.match, identity)
    if user is None:
        return _Identity(claims, identity)
    issued = claims.get("iat")
    valid = sessions.still_valid(state, user.username, float(issued) if issued is not None else None)
    return _Identity(claims, identity, user, valid)


def current(settings: Settings, users: Users) -> Principal | None:
    """The Principal of the identity Streamlit holds for this browser, or None. Draws nothing."""
    state = AppState(settings.data_dir)
    found = _identity(settings, users, state)
    if found.user is None or not found.valid:
        return None
    seen = (found.user.username, found.claims.get("iat"))
    if st.session_state.get("_oidc_login") != seen:
        state.record_login(found.user.username, True, at=clock.utcnow())
        state.audit(
            found.user.username, "login", method="oidc", identity=found.identity, subject=found.claims.get("sub")
        )
        st.session_state["_oidc_login"] = seen
    st.session_state["authentication_status"] = True
    st.session_state["username"] = found.user.username
    st.session_state["_auth_issued_at"] = float(found.claims["iat"])
    return Principal.from_user(found.user)


def sign_in_page(settings: Settings, users: Users, *, lang: str) -> None:
    """ "Sign in with <provider>"; or why an identity the provider vouched for is not let in."""
    state = AppState(settings.data_dir)
    found = _identity(settings, users, state)
    if found.signed_in and found.user is None:
        _refuse(state, found.identity, found.claims, lang)
        return
    if found.signed_in and not found.valid:
        # Signed out since the provider issued this identity, or it is older than a session: sign in again.
        st.info("请重新登录。" if lang == "zh" else "Please sign in again.")
    _sign_in_button(settings, lang)


def sign_out() -> None:
    """End Streamlit's identity cookie and this run (the browser is sent to the provider's logout, then home)."""
    st.session_state["_oidc_login"] = None
    st.logout()
    st.stop()
