"""Signing out holds: after a reload, against the old login cookie put back into the browser (as if the
library's JavaScript cookie deletion had failed), and in another tab that was open at the time."""

from __future__ import annotations

import contextlib

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from core.appstate import AppState
from tests.e2e.conftest import settled, sign_in

pytestmark = pytest.mark.e2e

COOKIE = "cockpit_auth"


def wait_for_cookie(page, name: str = COOKIE) -> dict:
    """The cookie once the library's component has written it (it is set by JavaScript after sign-in)."""
    for _ in range(150):
        found = [c for c in page.context.cookies() if c["name"] == name]
        if found:
            return found[0]
        page.wait_for_timeout(200)
    raise AssertionError(f"no {name} cookie was set")


def signed_out(page) -> None:
    expect(page.get_by_label("用户名")).to_have_count(1, timeout=60_000)
    settled(page)
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    assert page.get_by_role("heading", name="经营总览").count() == 0


def test_sign_out_holds_after_reload_old_cookie_and_in_other_tabs(page, app_server, demo_data_dir):
    heading = page.get_by_role("heading", name="经营总览")
    sign_in(page, app_server, "analyst")
    expect(heading).to_be_visible(timeout=60_000)
    old = wait_for_cookie(page)

    # The cookie signs in on its own: a reload and a second tab open the overview without the form.
    page.reload()
    expect(heading).to_be_visible(timeout=60_000)
    other = page.context.new_page()
    other.goto(app_server)
    expect(other.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)

    page.get_by_test_id("stSidebar").get_by_role("button", name="退出登录").click()
    signed_out(page)
    logouts = [e for e in AppState(demo_data_dir).audit_entries(limit=5000) if e["action"] == "logout"]
    assert logouts and logouts[0]["username"] == "analyst"

    page.reload()
    signed_out(page)

    # The cookie from before the sign-out, put back: refused.
    page.context.add_cookies([old])
    page.goto(f"{app_server}/overview")
    signed_out(page)

    # The tab that was open: its next interaction ends its session. It may already have noticed the sign-out on
    # its own (its cookie component reruns it) and show the sign-in form, with no period to click.
    period = other.get_by_text("本年至今")
    if period.count():
        with contextlib.suppress(PlaywrightTimeoutError):
            period.click(timeout=10_000)
    signed_out(other)

    # Signing in again issues a new cookie, which works after a reload.
    sign_in(page, app_server, "analyst")
    expect(heading).to_be_visible(timeout=60_000)
    fresh = wait_for_cookie(page)
    for _ in range(150):
        fresh = wait_for_cookie(page)
        if fresh["value"] != old["value"]:
            break
        page.wait_for_timeout(200)
    assert fresh["value"] != old["value"]
    page.reload()
    expect(heading).to_be_visible(timeout=60_000)
