"""Lockout after repeated failed sign-ins: counted in the app-state database across sessions and processes,
holding even against the right password, ending after the window (the auth clock is moved, never slept on),
and lifted early by an admin — every step audited."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from auth import clock, sessions
from auth.users import hash_password
from core import secrets as core_secrets
from core.appstate import AppState
from core.config import settings

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-42"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def company(cockpit_env, tmp_path, monkeypatch, password_hash) -> Path:
    """A company of two users and no data yet, with its own app-state database; returns its data directory."""
    users = {
        "li": {"name": "李娜", "email": "li@acme.example", "password": password_hash, "roles": ["director"]},
        "root": {"name": "管理员", "email": "root@acme.example", "password": password_hash, "roles": ["admin"]},
    }
    (tmp_path / "users.yml").write_text(yaml.safe_dump({"users": users}, allow_unicode=True), encoding="utf-8")
    cockpit_env({"users_file": "users.yml", "business": {"today": "2026-11-30"}})
    monkeypatch.setenv("COCKPIT_COOKIE_KEY", secrets.token_hex(32))
    monkeypatch.setenv("COCKPIT_SECRETS_FILE", str(tmp_path / "none.toml"))
    core_secrets._secrets_file.cache_clear()
    clock.reset()
    yield settings().data_dir
    clock.reset()
    core_secrets._secrets_file.cache_clear()


def sign_in(user: str, password: str) -> AppTest:
    """One attempt through the real sign-in form, in a new session."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.text_input[0].input(user)
    at.text_input[1].input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    if at.session_state["authentication_status"]:
        at.run()  # in a browser the component that writes the login cookie reruns the app
    return at


def _locked_message(at: AppTest) -> bool:
    return any("锁定" in e.value for e in at.error)


def _actions(data_dir: Path, username: str) -> list[str]:
    return [e["action"] for e in reversed(AppState(data_dir).audit_entries(limit=1000)) if e["username"] == username]


FAIL_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    from streamlit.testing.v1 import AppTest
    for _ in range({n}):
        at = AppTest.from_file("app.py", default_timeout=60).run()
        at.text_input[0].input("li")
        at.text_input[1].input("wrong-password")
        at.button[0].click().run()
        assert at.session_state["authentication_status"] is False
    """
)


def test_five_failures_across_processes_and_sessions_lock_out_the_right_password(company):
    # Three failures in another process (its own interpreter, same app-state database) ...
    proc = subprocess.run(
        [sys.executable, "-c", FAIL_IN_ANOTHER_PROCESS.format(n=3)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    state = AppState(company)
    assert state.failures_since_success("li", sessions.LOCK_WINDOW) == 3
    assert not sessions.is_locked(state, "li")
    # ... and two here, each in a new session: five in the window.
    for _ in range(2):
        at = sign_in("li", "still-wrong")
        assert at.session_state["authentication_status"] is False
    assert sessions.is_locked(state, "li")
    assert _locked_message(at)

    at = sign_in("li", PASSWORD)
    assert at.session_state["authentication_status"] is False
    assert _locked_message(at)
    assert len(at.metric) == 0 and len(at.get("vega_lite_chart")) == 0
    assert _actions(company, "li") == ["login_failed"] * 5 + ["locked_out", "login_locked"]
    # Another user is not affected.
    assert sign_in("root", PASSWORD).session_state["authentication_status"] is True


def test_lockout_ends_after_the_window(company):
    for _ in range(sessions.MAX_FAILURES):
        sign_in("li", "wrong-password")
    clock.advance(sessions.LOCK_WINDOW.total_seconds() - 60)
    assert _locked_message(sign_in("li", PASSWORD))  # 14 minutes later: still locked
    clock.advance(61)
    at = sign_in("li", PASSWORD)  # just over 15 minutes after the first failure
    assert at.session_state["authentication_status"] is True
    assert at.title[0].value == "经营总览"
    assert _actions(company, "li")[-1] == "login"


def test_a_successful_sign_in_resets_the_count(company):
    for _ in range(sessions.MAX_FAILURES - 1):
        sign_in("li", "wrong-password")
    assert sign_in("li", PASSWORD).session_state["authentication_status"] is True
    for _ in range(sessions.MAX_FAILURES - 1):
        sign_in("li", "wrong-password")
    assert not sessions.is_locked(AppState(company), "li")


def test_unknown_user_never_signs_in_and_locks_no_one(company):
    for _ in range(sessions.MAX_FAILURES + 1):
        at = sign_in("nobody", PASSWORD)
        assert at.session_state["authentication_status"] is False
        assert any("用户名或密码错误" in e.value for e in at.error)
    assert not sessions.is_locked(AppState(company), "li")


def test_admin_unlocks_a_locked_account_and_it_is_audited(company):
    for _ in range(sessions.MAX_FAILURES):
        sign_in("li", "wrong-password")
    state = AppState(company)
    assert sessions.is_locked(state, "li")
    admin = sign_in("root", PASSWORD)
    admin.switch_page("pages/users.py").run()
    assert not admin.exception, admin.exception
    table = admin.dataframe[0].value
    assert table.set_index("user").loc["li", "locked"]
    admin.selectbox(key="unlock_user").select("li")
    admin.button(key="unlock_button").click().run()
    assert not sessions.is_locked(state, "li")
    entry = next(e for e in state.audit_entries() if e["action"] == "admin_unlock")
    assert entry["username"] == "root" and entry["detail"] == {"user": "li", "failures_cleared": 5}
    assert sign_in("li", PASSWORD).session_state["authentication_status"] is True


def test_a_session_ends_after_its_lifetime_and_at_a_logout_elsewhere(company):
    at = sign_in("li", PASSWORD)
    assert at.title[0].value == "经营总览"
    clock.advance(sessions.SESSION_HOURS * 3600 - 60)
    at.run()
    assert at.title[0].value == "经营总览"  # a minute before the end of the session
    clock.advance(61)
    at.run()
    assert at.session_state["principal"] is None
    assert len(at.metric) == 0 and not at.title

    clock.reset()
    other = sign_in("li", PASSWORD)
    assert other.title[0].value == "经营总览"
    sessions.record_logout(AppState(company), "li")  # li signs out in another session
    other.run()
    assert other.session_state["principal"] is None and len(other.metric) == 0 and not other.title
