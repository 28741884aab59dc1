"""The cockpit refuses to start outside demo mode with a forgeable cookie key, a weak OpenID Connect cookie
secret, or users still on their demo password — and says what to fix, before any sign-in form or number."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from auth.startup import AuthConfigError, check_startup, cookie_key
from auth.users import UsersFileError, hash_password, parse_users
from core import secrets as core_secrets
from core.config import settings

ROOT = Path(__file__).resolve().parent.parent
STRONG = secrets.token_hex(32)


@pytest.fixture(scope="module")
def real_hash() -> str:
    return hash_password("a-real-password-7")


@pytest.fixture(scope="module")
def demo_hash() -> str:
    return hash_password("demo-zhou")


@pytest.fixture(autouse=True)
def no_secrets_file(tmp_path, monkeypatch):
    """Secrets come only from what each test sets, never from a developer's own .streamlit/secrets.toml."""
    monkeypatch.setenv("COCKPIT_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))
    monkeypatch.delenv("COCKPIT_COOKIE_KEY", raising=False)
    core_secrets._secrets_file.cache_clear()
    yield
    core_secrets._secrets_file.cache_clear()


def _company(cockpit_env, tmp_path: Path, users: dict, *, demo: bool = False, auth: dict | None = None) -> Path:
    (tmp_path / "users.yml").write_text(yaml.safe_dump({"users": users}, allow_unicode=True), encoding="utf-8")
    config = {"demo": demo, "users_file": "users.yml", "business": {"today": "2026-11-30"}}
    if auth:
        config["auth"] = auth
    return cockpit_env(config)


def _zhou(password_hash: str) -> dict:
    return {"zhou": {"name": "周敏", "email": "zhou@acme.example", "password": password_hash, "roles": ["director"]}}


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def _refused(at: AppTest) -> str:
    """The refusal text; asserts no sign-in form, no number and no page ran."""
    assert not at.exception, at.exception
    assert len(at.text_input) == 0 and len(at.metric) == 0 and len(at.dataframe) == 0
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "驾驶舱无法启动" in errors[0], errors
    return errors[0]


# ---- the rules, unit by unit ------------------------------------------------------------------------------


def test_cookie_key_missing_outside_demo_mode_is_refused(cockpit_env, tmp_path, real_hash):
    _company(cockpit_env, tmp_path, _zhou(real_hash))
    with pytest.raises(AuthConfigError, match="COCKPIT_COOKIE_KEY is not set"):
        cookie_key(settings())


def test_library_default_cookie_key_is_refused(cockpit_env, tmp_path, real_hash, monkeypatch):
    _company(cockpit_env, tmp_path, _zhou(real_hash))
    monkeypatch.setenv("COCKPIT_COOKIE_KEY", "some_key")
    with pytest.raises(AuthConfigError, match="library default"):
        cookie_key(settings())


def test_cookie_key_of_31_bytes_is_refused_and_32_accepted(cockpit_env, tmp_path, real_hash, monkeypatch):
    _company(cockpit_env, tmp_path, _zhou(real_hash))
    monkeypatch.setenv("COCKPIT_COOKIE_KEY", "k" * 31)
    with pytest.raises(AuthConfigError, match="31 bytes"):
        cookie_key(settings())
    # Bytes, not characters: ten Chinese characters are 30 bytes in UTF-8, eleven are 33.
    monkeypatch.setenv("COCKPIT_COOKIE_KEY", "钥" * 10)
    with pytest.raises(AuthConfigError, match="30 bytes"):
        cookie_key(settings())
    monkeypatch.setenv("COCKPIT_COOKIE_KEY", "钥" * 11)
    assert cookie_key(settings()) == "钥" * 11


def test_cookie_key_from_secrets_toml(cockpit_env, tmp_path, real_hash, monkeypatch):
    _company(cockpit_env, tmp_path, _zhou(real_hash))
    path = tmp_path / "secrets.toml"
    path.write_text(f'COCKPIT_COOKIE_KEY = "{STRONG}"\n', encoding="utf-8")
    monkeypatch.setenv("COCKPIT_SECRETS_FILE", str(path))
    core_secrets._secrets_file.cache_clear()
    assert cookie_key(settings()) == STRONG


def test_demo_mode_generates_one_key_per_data_directory(cockpit_env, tmp_path, real_hash):
    _company(cockpit_env, tmp_path, _zhou(real_hash), demo=True)
    cfg = settings()
    first = cookie_key(cfg)
    assert len(first) == 64 and int(first, 16) >= 0
    assert cookie_key(cfg) == first
    key_file = Path(cfg.data_dir) / "demo_cookie_key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_demo_password_outside_demo_mode_is_refused(cockpit_env, tmp_path, demo_hash, monkeypatch):
    _company(cockpit_env, tmp_path, _zhou(demo_hash))
    monkeypatch.setenv("COCKPIT_COOKIE_KEY", STRONG)
    with pytest.raises(AuthConfigError, match="demo password outside demo mode: zhou"):
        check_startup(settings())


def test_users_file_user_without_password_needs_an_identity(tmp_path):
    path = tmp_path / "users.yml"
    path.write_text(yaml.safe_dump({"users": {"wang": {"roles": ["analyst"]}}}), encoding="utf-8")
    with pytest.raises(UsersFileError, match="needs an email or oidc_sub"):
        parse_users(path)
    path.write_text(yaml.safe_dump({"users": {"Wang": {"roles": ["analyst"], "email": "w@x.cn"}}}), encoding="utf-8")
    with pytest.raises(UsersFileError, match="lower-case"):
        parse_users(path)
    path.write_text(yaml.safe_dump({"users": {"wang": {"roles": ["analyst"], "email": "w@x.cn"}}}), encoding="utf-8")
    users = parse_users(path)
    assert users.get("wang").password_hash is None
    assert users.credentials() == {"usernames": {}}  # no password: never checked by the password form
    assert users.by_identity("email", "W@X.CN").username == "wang"


# ---- the app itself, through AppTest ----------------------------------------------------------------------


def test_app_without_cookie_key_refuses_to_start(cockpit_env, tmp_path, real_hash):
    _company(cockpit_env, tmp_path, _zhou(real_hash))
    text = _refused(_app().run())
    assert "COCKPIT_COOKIE_KEY is not set" in text


def test_app_with_the_library_default_key_refuses_to_start(cockpit_env, tmp_path, real_hash, monkeypatch):
    _company(cockpit_env, tmp_path, _zhou(real_hash))
    monkeypatch.setenv("COCKPIT_COOKIE_KEY", "some_key")
    assert "library default" in _refused(_app().run())


def test_app_with_a_short_key_refuses_to_start(cockpit_env, tmp_path, real_hash, monkeypatch):
    _company(cockpit_env, tmp_path, _zhou(real_hash))
    monkeypatch.setenv("COCKPIT_COOKIE_KEY", "0123456789abcdef")
    assert "16 bytes" in _refused(_app().run())


def test_app_with_demo_passwords_outside_demo_mode_refuses_to_start(cockpit_env, tmp_path, demo_hash, monkeypatch):
    _company(cockpit_env, tmp_path, _zhou(demo_hash))
    monkeypatch.setenv("COCKPIT_COOKIE_KEY", STRONG)
    assert "demo password outside demo mode: zhou" in _refused(_app().run())


def test_app_with_a_strong_key_and_real_passwords_shows_the_sign_in_form(cockpit_env, tmp_path, real_hash, monkeypatch):
    _company(cockpit_env, tmp_path, _zhou(real_hash))
    monkeypatch.setenv("COCKPIT_COOKIE_KEY", STRONG)
    at = _app().run()
    assert not at.exception and not at.error
    assert [t.label for t in at.text_input] == ["用户名", "密码"]


def _oidc_secrets(**overrides) -> dict:
    section = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": STRONG,
        "client_id": "cockpit",
        "client_secret": "s3cret",
        "server_metadata_url": "http://localhost:9/.well-known/openid-configuration",
    }
    section.update(overrides)
    return {k: v for k, v in section.items() if v is not None}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"cookie_secret": None}, "auth.cookie_secret is not set"),
        ({"cookie_secret": "short-secret"}, "auth.cookie_secret is 12 bytes"),
        ({"client_secret": None}, "missing client_secret"),
        ({"redirect_uri": "localhost:8501/oauth2callback"}, "needs redirect_uri"),
    ],
    ids=["no-cookie-secret", "short-cookie-secret", "no-client-secret", "relative-redirect"],
)
def test_app_with_a_weak_or_incomplete_oidc_setup_refuses_to_start(cockpit_env, tmp_path, real_hash, overrides, reason):
    _company(cockpit_env, tmp_path, _zhou(real_hash), auth={"method": "oidc", "provider_label": "ACME SSO"})
    at = _app()
    at.secrets["auth"] = _oidc_secrets(**overrides)
    assert reason in _refused(at.run())


def test_app_with_oidc_shows_sign_in_with_the_provider_and_no_password_form(cockpit_env, tmp_path, real_hash):
    _company(cockpit_env, tmp_path, _zhou(real_hash), auth={"method": "oidc", "provider_label": "ACME SSO"})
    at = _app()
    at.secrets["auth"] = _oidc_secrets()
    at.run()
    assert not at.exception and not at.error
    assert len(at.text_input) == 0
    assert [b.label for b in at.button] == ["使用 ACME SSO 登录"]


def test_auth_check_command_exits_1_with_the_reason(cockpit_env, tmp_path, real_hash):
    _company(cockpit_env, tmp_path, _zhou(real_hash))
    env = {**os.environ}
    proc = subprocess.run(
        [sys.executable, "-m", "auth", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    assert "COCKPIT_COOKIE_KEY is not set" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "auth", "check"],
        cwd=ROOT,
        env={**env, "COCKPIT_COOKIE_KEY": STRONG},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 users" in proc.stdout
