"""How long a sign-in holds: lockout after failed logins, the session lifetime, and logout.

All three live in the app-state database (shared by every session and process of a data directory), never
in a session or in the authentication library, whose counters reset on every run:
- `MAX_FAILURES` failed logins within `LOCK_WINDOW` lock the account for the rest of the window, even with
  the right password;
- a sign-in (cookie or OpenID identity) lasts `SESSION_HOURS` at most;
- a sign-in issued before the user's last logout is refused, so signing out holds after a refresh and in
  every other tab.
"""

from __future__ import annotations

import datetime as dt

from auth import clock
from core.appstate import AppState

MAX_FAILURES = 5
LOCK_WINDOW = dt.timedelta(minutes=15)
SESSION_HOURS = 12


def is_locked(state: AppState, username: str) -> bool:
    """True while `username` has MAX_FAILURES failed logins in the last LOCK_WINDOW (after its last success)."""
    return state.failures_since_success(username, LOCK_WINDOW, now=clock.utcnow()) >= MAX_FAILURES


def record_attempt(state: AppState, username: str, ok: bool) -> None:
    """Count one password check, and audit it (a lockout is audited when the last allowed failure happens)."""
    state.record_login(username, ok, at=clock.utcnow())
    state.audit(username, "login" if ok else "login_failed", method="password")
    if not ok and is_locked(state, username):
        state.audit(username, "locked_out", failures=MAX_FAILURES, minutes=LOCK_WINDOW.total_seconds() / 60)


def still_valid(state: AppState, username: str, issued_at: float | None) -> bool:
    """Whether a sign-in issued at `issued_at` (epoch seconds) may still be used."""
    if issued_at is None or clock.now() - issued_at > SESSION_HOURS * 3600:
        return False
    last = state.last_logout(username)
    return last is None or issued_at > last


def record_logout(state: AppState, username: str, **detail: object) -> None:
    """From now on every sign-in of `username` issued before this moment is refused."""
    state.record_logout(username, clock.now())
    state.audit(username, "logout", **detail)
