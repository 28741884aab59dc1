"""Sign-in for the router: `login()` returns the signed-in user's Principal; `sign_in_page()` is the sign-in page.

Two methods, chosen by `auth.method` in the configuration:
- `password` (default): streamlit-authenticator draws the form and keeps the cookie (a JWT signed with the
  cookie key, lasting `SESSION_HOURS`); lockout, session lifetime and logout are ours (`auth.sessions`).
- `oidc`: Streamlit's own `st.login` against an OpenID Connect provider (`auth.oidc`).
Either way roles and scope come from the users file, and `logout()` holds after a refresh.
"""

from __future__ import annotations

import jwt
import streamlit as st

from auth import clock, oidc, sessions
from auth.principal import Principal
from auth.startup import AuthConfigError, check_startup, cookie_key
from auth.users import Users, UsersFileError, check_password, load_users
from core.appstate import AppState
from core.config import Settings

__all__ = ["AuthConfigError", "check_startup", "login", "logout", "sign_in_page", "still_signed_in"]

COOKIE_NAME = "cockpit_auth"
COOKIE_EXPIRY_DAYS = sessions.SESSION_HOURS / 24
FORM_KEY = "cockpit_login"
_NO_SUCH_USER_HASH = "$2b$12$Sj7iotEyGIn4eWwi5NFcJeILGC5P4SP2bor4RQF8ZJMN8ufoII4qu"  # of a random text
_SESSION_KEYS = (
    "name",
    "username",
    "authentication_status",
    "email",
    "roles",
    "principal",
    "_auth_form_login",
    "_auth_issued_at",
)


def _fields(lang: str) -> dict[str, str]:
    if lang == "zh":
        return {"Form name": "登录 销售驾驶舱", "Username": "用户名", "Password": "密码", "Login": "登录"}
    return {"Form name": "Sign in to Sales Cockpit", "Username": "Username", "Password": "Password", "Login": "Sign in"}


def _authenticator(settings: Settings, users: Users, state: AppState):  # noqa: ANN202 - library type
    import streamlit_authenticator as stauth

    auth = stauth.Authenticate(
        users.credentials(),
        cookie_name=COOKIE_NAME,
        cookie_key=cookie_key(settings),
        cookie_expiry_days=COOKIE_EXPIRY_DAYS,
        auto_hash=False,
        login_sleep_time=0,
    )
    model = auth.authentication_controller.authentication_model
    original = model.check_credentials

    def checked(username: str, password: str) -> bool:
        # Lockout is counted in the app-state database: the library's own counter resets every run.
        if username in users.users and sessions.is_locked(state, username):
            st.session_state["_auth_locked"] = username
            state.audit(username, "login_locked")
            return False
        if username in model.credentials["usernames"]:
            ok = bool(original(username, password))
        else:
            # As slow as a real check, so response times do not tell which usernames exist.
            check_password(password or "", _NO_SUCH_USER_HASH)
            ok = False
        sessions.record_attempt(state, username, ok)
        st.session_state["_auth_form_login"] = ok
        if ok:
            st.session_state["_auth_issued_at"] = clock.now()
        elif username in users.users and sessions.is_locked(state, username):
            st.session_state["_auth_locked"] = username
        return ok

    model.check_credentials = checked
    return auth


def _cookie_issued_at(settings: Settings) -> float | None:
    """When the login cookie this session arrived with was issued (its expiry minus its lifetime)."""
    token = st.context.cookies.get(COOKIE_NAME)
    if not token:
        return None
    try:
        claims = jwt.decode(token, cookie_key(settings), algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    return float(claims.get("exp_date", 0)) - COOKIE_EXPIRY_DAYS * 86400


def _clear_session() -> None:
    for key in _SESSION_KEYS:
        st.session_state[key] = None


def _password_login(settings: Settings, users: Users) -> Principal | None:
    """The password sign-in from this session or its cookie; draws nothing (the form is on the login page)."""
    state = AppState(settings.data_dir)
    auth = _authenticator(settings, users, state)
    st.session_state["_authenticator"] = auth
    try:
        auth.login(location="unrendered", key=FORM_KEY)
    except Exception as exc:  # noqa: BLE001 - the library raises LoginError for a cookie of an unknown user
        _clear_session()
        st.session_state["logout"] = True
        st.session_state["_auth_error"] = str(exc)
        return None
    if not st.session_state.get("authentication_status"):
        return None
    username = st.session_state.get("username")
    issued = st.session_state.get("_auth_issued_at")
    if issued is None:
        # Signed in from the cookie in this session: refuse a locked account and a cookie issued before the
        # user's last logout (the library cannot revoke its own JWT).
        issued = _cookie_issued_at(settings)
        if username in users.users and sessions.is_locked(state, username):
            issued = None
        st.session_state["_auth_issued_at"] = issued
    if username not in users.users or not sessions.still_valid(state, username, issued):
        # Checked on every run, so a logout elsewhere ends this session too.
        _clear_session()
        st.session_state["logout"] = True  # the library ignores the cookie from now on in this session
        auth.cookie_controller.delete_cookie()
        return None
    return Principal.from_user(users.get(username))


def _password_form(lang: str) -> None:
    """The form; a successful submit writes the cookie, whose component then reruns the app signed in."""
    auth = st.session_state["_authenticator"]
    error = st.session_state.pop("_auth_error", None)
    if error:
        st.error(error)
    auth.login(location="main", fields=_fields(lang), key=FORM_KEY)
    status = st.session_state.get("authentication_status")
    if status:
        # Not st.rerun(): it would drop the component writing the cookie. That component reruns the app.
        st.success("已登录，正在打开驾驶舱…" if lang == "zh" else "Signed in; opening the cockpit…")
        st.button("进入驾驶舱" if lang == "zh" else "Open the cockpit", key="open_cockpit")  # if no rerun comes
    elif status is False:
        if st.session_state.pop("_auth_locked", None):
            st.error(
                "该账号因多次登录失败已被暂时锁定，请 15 分钟后再试。"
                if lang == "zh"
                else "This account is locked after repeated failed logins; try again in 15 minutes."
            )
        else:
            st.error("用户名或密码错误。" if lang == "zh" else "Wrong username or password.")


def login(settings: Settings, users: Users, *, lang: str = "zh") -> Principal | None:
    """The Principal of the signed-in user, or None (then the router runs `sign_in_page`). Draws nothing.

    Called on every run before the navigation is built, so a logout, an expired session, a lockout or a user
    removed from the users file ends the session at the next interaction.
    """
    if settings.auth.method == "oidc":
        principal = oidc.current(settings, users)
    else:
        principal = _password_login(settings, users)
    st.session_state["principal"] = principal
    return principal


def sign_in_page(settings: Settings, users: Users, *, lang: str = "zh") -> None:
    """The sign-in page — the password form, or "Sign in with <provider>" — run as the router's login page.

    It runs inside the navigation's page, so its widgets keep their identity from the first run of a fresh
    server on: widgets drawn before `st.navigation` change identity when the legacy pages/ mode ends, which
    loses the first click and briefly shows the form twice.
    """
    if settings.auth.method == "oidc":
        oidc.sign_in_page(settings, users, lang=lang)
    else:
        _password_form(lang)


def still_signed_in(settings: Settings, principal: Principal) -> Principal | None:
    """`principal` as the users file describes it now, if its sign-in still holds in this session; else None.

    Pages' guards call it on every run, so a page never relies on a Principal left in the session by an
    earlier run: a logout elsewhere, the end of the session's lifetime or a user removed from the users file
    stops the page, and changed roles or scope apply at once.

    A Principal without a sign-in time did not come from `login()` (it always records one) and is refused.
    """
    try:
        users = load_users(settings)
    except UsersFileError:
        return None
    user = users.users.get(principal.username)
    issued = st.session_state.get("_auth_issued_at")
    if user is None or not sessions.still_valid(AppState(settings.data_dir), user.username, issued):
        _clear_session()
        return None
    return Principal.from_user(user)


def logout(settings: Settings, principal: Principal) -> None:
    """Sign out for good: every sign-in issued before now is refused from here on; ends this run."""
    state = AppState(settings.data_dir)
    sessions.record_logout(state, principal.username, method=settings.auth.method)
    if settings.auth.method == "oidc":
        oidc.sign_out()
    auth = st.session_state.get("_authenticator")
    if auth is not None:
        try:
            auth.logout(location="unrendered")
        except Exception:  # noqa: BLE001 - already signed out in the library's eyes
            pass
    _clear_session()
    st.session_state["logout"] = True
    st.rerun()
