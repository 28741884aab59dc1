"""Login in the app: streamlit-authenticator draws the form and keeps the cookie; the rest is ours.

- The cookie is a JWT signed with the cookie key. Outside demo mode the app refuses to start when that key is
  missing, is the library's default or is shorter than 32 bytes (anyone could forge a login otherwise). Demo
  mode generates a key once per data directory.
- Failed logins are counted in the app-state database; after `MAX_FAILURES` within `LOCK_WINDOW` the user is
  locked out for the rest of the window, even with the right password.
- Logout is recorded with its time; a cookie issued before the user's last logout is refused, so logging out
  holds after a refresh (the library alone cannot revoke its JWT).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from pathlib import Path

import jwt
import streamlit as st

from auth.principal import Principal
from auth.users import Users, UsersFileError, demo_passwords_in_use, load_users
from core.appstate import AppState
from core.config import Settings
from core.secrets import secret

COOKIE_NAME = "cockpit_auth"
COOKIE_EXPIRY_DAYS = 0.5
MAX_FAILURES = 5
LOCK_WINDOW = dt.timedelta(minutes=15)
LIBRARY_DEFAULT_KEY = "some_key"


class AuthConfigError(RuntimeError):
    """The app must not start as configured; the message says what to set."""


def cookie_key(settings: Settings) -> str:
    """The cookie signing key: COCKPIT_COOKIE_KEY (env or secrets.toml); generated once in demo mode."""
    key = secret("COCKPIT_COOKIE_KEY")
    if key is None and settings.demo:
        path = Path(settings.data_dir) / "demo_cookie_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()
    if key is None:
        raise AuthConfigError(
            'COCKPIT_COOKIE_KEY is not set. Set it (at least 32 random bytes, e.g. `python -c "import secrets; '
            'print(secrets.token_hex(32))"`) in the environment or .streamlit/secrets.toml; the app will not start '
            "without it."
        )
    if key == LIBRARY_DEFAULT_KEY:
        raise AuthConfigError(
            "COCKPIT_COOKIE_KEY is streamlit-authenticator's default; anyone could forge a login. "
            "Set a random key of at least 32 bytes."
        )
    if len(key.encode()) < 32:
        raise AuthConfigError(f"COCKPIT_COOKIE_KEY is {len(key.encode())} bytes; use at least 32 random bytes.")
    return key


def check_startup(settings: Settings) -> Users:
    """Everything that must hold before the app serves anyone; raises AuthConfigError with what to fix."""
    cookie_key(settings)
    try:
        users = load_users(settings)
    except UsersFileError as exc:
        raise AuthConfigError(str(exc)) from exc
    if not settings.demo:
        path = Path(users.path)
        stale = demo_passwords_in_use(str(path), path.stat().st_mtime)
        if stale:
            raise AuthConfigError(
                f"users with the demo password outside demo mode: {', '.join(stale)}. Give them real passwords "
                "(`python -m auth hash`) in the users file."
            )
    return users


def is_locked(state: AppState, username: str) -> bool:
    return state.failures_since_success(username, LOCK_WINDOW) >= MAX_FAILURES


def _authenticator(settings: Settings, users: Users, state: AppState):  # noqa: ANN202
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
        if username in users.users and is_locked(state, username):
            st.session_state["_auth_locked"] = username
            state.audit(username, "login_locked")
            return False
        ok = bool(original(username, password))
        state.record_login(username, ok)
        state.audit(username, "login" if ok else "login_failed")
        st.session_state["_auth_form_login"] = ok
        if not ok:
            st.session_state["_auth_failed"] = username
            if username in users.users and is_locked(state, username):
                state.audit(username, "locked_out", failures=MAX_FAILURES)
        return ok

    model.check_credentials = checked
    return auth


def _revoked(settings: Settings, state: AppState, username: str) -> bool:
    """True when the cookie that logged this session in was issued before the user's last logout."""
    token = st.context.cookies.get(COOKIE_NAME) if hasattr(st, "context") else None
    last = state.last_logout(username)
    if last is None:
        return False
    if not token:
        return True
    try:
        claims = jwt.decode(token, cookie_key(settings), algorithms=["HS256"])
    except jwt.PyJWTError:
        return True
    issued = float(claims.get("exp_date", 0)) - COOKIE_EXPIRY_DAYS * 86400
    return issued < last


def _clear_session() -> None:
    for key in (
        "name",
        "username",
        "authentication_status",
        "email",
        "roles",
        "principal",
        "_auth_form_login",
        "_auth_verified",
    ):
        st.session_state[key] = None


def login(settings: Settings, users: Users, *, lang: str = "zh") -> Principal | None:
    """Draw the login form when needed; return the Principal of the logged-in user, or None."""
    state = AppState(settings.data_dir)
    auth = _authenticator(settings, users, state)
    st.session_state["_authenticator"] = auth
    fields = (
        {"Form name": "登录 销售驾驶舱", "Username": "用户名", "Password": "密码", "Login": "登录"}
        if lang == "zh"
        else {
            "Form name": "Sign in to Sales Cockpit",
            "Username": "Username",
            "Password": "Password",
            "Login": "Sign in",
        }
    )
    try:
        auth.login(location="main", fields=fields, key="cockpit_login")
    except Exception as exc:  # noqa: BLE001 - the library raises LoginError for unknown cookie users
        _clear_session()
        st.error(str(exc))
        return None
    status = st.session_state.get("authentication_status")
    if status is False:
        locked = st.session_state.pop("_auth_locked", None)
        if locked:
            st.error(
                "该账号因多次登录失败已被暂时锁定，请 15 分钟后再试。"
                if lang == "zh"
                else "This account is locked after repeated failed logins; try again in 15 minutes."
            )
        else:
            st.error("用户名或密码错误。" if lang == "zh" else "Wrong username or password.")
        return None
    if not status:
        return None
    username = st.session_state.get("username")
    if username not in users.users:
        _clear_session()
        return None
    if not st.session_state.get("_auth_form_login") and not st.session_state.get("_auth_verified"):
        # Logged in from the cookie: refuse a cookie issued before the last logout, and a locked account.
        if _revoked(settings, state, username) or is_locked(state, username):
            auth.cookie_controller.delete_cookie()
            _clear_session()
            st.session_state["logout"] = None
            st.rerun()
        st.session_state["_auth_verified"] = True
    principal = Principal.from_user(users.get(username))
    st.session_state["principal"] = principal
    return principal


def logout(settings: Settings, principal: Principal) -> None:
    """Log out for good: record the time (older cookies are refused from now on) and clear the session."""
    state = AppState(settings.data_dir)
    state.record_logout(principal.username, time.time())
    state.audit(principal.username, "logout")
    auth = st.session_state.get("_authenticator")
    if auth is not None:
        try:
            auth.logout(location="unrendered")
        except Exception:  # noqa: BLE001 - already logged out in the library's eyes
            pass
    _clear_session()
