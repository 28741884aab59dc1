"""Sign-in through OpenID Connect end to end: a real local provider (oidc-provider-mock on loopback), a real
`streamlit run` with `auth.method: oidc`, Chromium completing the provider's form.

The identity's email names the user in the users file (roles and scope stay there); an unknown identity is
refused and audited; signing out holds after a reload and against the old identity cookie put back.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

import oidc_provider_mock
import pytest
import werkzeug.serving
import yaml
from playwright.sync_api import expect

from core.appstate import AppState
from tests.e2e.conftest import ROOT, _free_port, serve_app

pytestmark = pytest.mark.e2e

LABEL = "华信 SSO"
DIRECTOR_EMAIL = "zhou.sso@huaxin.example"
REP_EMAIL = "sun.sso@huaxin.example"


@pytest.fixture(scope="module")
def provider():
    """The OpenID provider on 127.0.0.1 (its own helper binds "localhost", which Chromium may take for ::1).

    It accepts any client id and secret and signs in whatever subject is typed, with that text as its email.
    """
    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def oidc_app(provider, demo_data_dir, tmp_path_factory):
    """The cockpit on the demo company's snapshot, signing in through the provider; yields (url, data_dir)."""
    folder = tmp_path_factory.mktemp("oidc")
    users = {
        "sso-director": {"name": "周敏", "email": DIRECTOR_EMAIL, "roles": ["director"]},
        "sso-rep": {"name": "孙浩然", "email": REP_EMAIL, "roles": ["rep"], "rep_id": "S001"},
    }
    (folder / "users.yml").write_text(yaml.safe_dump({"users": users}, allow_unicode=True), encoding="utf-8")
    config = yaml.safe_load((ROOT / "examples" / "demo.yml").read_text(encoding="utf-8"))
    config.update(
        demo=False,
        users_file=str(folder / "users.yml"),
        auth={"method": "oidc", "provider": "huaxin", "provider_label": LABEL, "match": "email"},
    )
    (folder / "oidc.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    (folder / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "{base}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        "[auth.huaxin]\n"
        'client_id = "sales-cockpit"\n'
        f'client_secret = "{secrets.token_hex(16)}"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "COCKPIT_CONFIG": str(folder / "oidc.yml"), "COCKPIT_DATA_DIR": str(demo_data_dir)}
    env.pop("COCKPIT_TODAY", None)
    env.pop("COCKPIT_COOKIE_KEY", None)
    with serve_app(
        env, folder / "streamlit.log", port=port, extra_args=(f"--secrets.files={folder / 'secrets.toml'}",)
    ):
        yield base, demo_data_dir


def _sign_in(page, base: str, who: str) -> None:
    page.goto(base)
    page.get_by_role("button", name=f"使用 {LABEL} 登录").click(timeout=60_000)
    # The provider's own form: type the subject (it becomes the identity's email) and authorize.
    page.locator('input[name="sub"]').fill(who)
    page.get_by_role("button", name="Authorize").click()


def _audit(data_dir: Path, action: str, username: str | None) -> list[dict]:
    return [
        e for e in AppState(data_dir).audit_entries(limit=5000) if e["action"] == action and e["username"] == username
    ]


def test_sign_in_with_the_provider_maps_the_identity_to_the_users_file(page, oidc_app):
    base, data_dir = oidc_app
    before = len(_audit(data_dir, "login", "sso-rep"))
    _sign_in(page, base, REP_EMAIL)
    expect(page.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("孙浩然")
    expect(sidebar).to_contain_text("业务员 S001")  # the scope comes from the users file, not the provider
    entries = _audit(data_dir, "login", "sso-rep")
    assert len(entries) == before + 1
    assert entries[0]["detail"]["method"] == "oidc" and entries[0]["detail"]["identity"] == REP_EMAIL


def test_unknown_identity_is_refused_and_audited(page, oidc_app):
    base, data_dir = oidc_app
    stranger = f"stranger-{secrets.token_hex(3)}@elsewhere.example"
    _sign_in(page, base, stranger)
    expect(page.get_by_text(f"{stranger} 不是本驾驶舱的用户")).to_be_visible(timeout=60_000)
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.get_by_role("heading", name="经营总览").count() == 0
    refused = [e for e in _audit(data_dir, "login_refused", None) if e["detail"].get("identity") == stranger]
    assert len(refused) == 1


def test_sign_out_holds_after_reload_and_against_the_old_identity_cookie(page, oidc_app):
    base, data_dir = oidc_app
    _sign_in(page, base, DIRECTOR_EMAIL)
    expect(page.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)
    old = [c for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]
    assert old, "Streamlit keeps the identity in a _streamlit_user cookie"

    page.get_by_test_id("stSidebar").get_by_role("button", name="退出登录").click()
    # Streamlit sends the browser to the provider's end-session page, then home.
    page.get_by_role("button", name="End session").click(timeout=60_000)
    sign_in = page.get_by_role("button", name=f"使用 {LABEL} 登录")
    expect(sign_in).to_be_visible(timeout=60_000)
    assert _audit(data_dir, "logout", "sso-director")

    page.reload()
    expect(sign_in).to_be_visible(timeout=60_000)
    assert page.locator('[data-testid="stMetric"]').count() == 0

    # The identity cookie from before the sign-out, put back: still signed out.
    page.context.add_cookies(old)
    page.goto(base)
    expect(page.get_by_text("请重新登录")).to_be_visible(timeout=60_000)
    expect(sign_in).to_be_visible()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.get_by_role("heading", name="经营总览").count() == 0

    # Signing in again at the provider issues a new identity, which is accepted.
    sign_in.click()
    page.locator('input[name="sub"]').fill(DIRECTOR_EMAIL)
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)
