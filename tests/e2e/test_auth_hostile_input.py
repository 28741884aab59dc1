"""Hostile input in a real browser: names carrying HTML and script tags (customers, a rep, a team, a user) and
SQL or script in the URL's parameters. Nothing executes — no dialog ever opens, no element is injected — and
the names show literally, in the tables, in a chart tooltip and in the sidebar."""

from __future__ import annotations

import hashlib
import os
import urllib.parse

import pytest
from playwright.sync_api import expect

from tests.conftest import run_cli
from tests.e2e.conftest import serve_app, settled, sign_in
from tests.test_hostile_input import CUSTOMERS, HOSTILE_QUERY, NAME_X, PASSWORDS, TEAM_X, write_hostile_company

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-e2e")
    env = {
        **os.environ,
        "COCKPIT_CONFIG": str(write_hostile_company(folder)),
        "COCKPIT_DATA_DIR": str(folder / "data"),
        "COCKPIT_COOKIE_KEY": hashlib.sha256(b"hostile-e2e-key").hexdigest(),
        "COCKPIT_SECRETS_FILE": str(folder / "no-secrets.toml"),
    }
    env.pop("COCKPIT_TODAY", None)
    run_cli("sources", "sync", env=env)
    with serve_app(env, folder / "streamlit.log") as url:
        yield url


@pytest.fixture
def dialogs(page) -> list[str]:
    """Every JavaScript dialog the page opens (alert, confirm, prompt): there must be none."""
    opened: list[str] = []

    def record(dialog) -> None:  # noqa: ANN001 - playwright Dialog
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return opened


def _no_injected_elements(page) -> None:
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("script", has_text="alert(").count() == 0


def _hover_until_tooltip(page, chart, text: str) -> str:
    """Move over the chart's bars until the tooltip shows `text`; returns the tooltip's text."""
    box = chart.bounding_box()
    tooltip = page.locator("#vg-tooltip-element")
    for fy in range(5, 100, 5):
        for fx in (0.3, 0.5):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy / 100)
            if tooltip.count() and text in (tooltip.inner_text() or ""):
                return tooltip.inner_text()
    raise AssertionError(f"no tooltip showing {text!r}")


def test_names_with_markup_show_literally_and_nothing_runs(page, dialogs, hostile_server):
    frames: list[bytes] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda p: frames.append(p if isinstance(p, bytes) else p.encode())),
    )
    query = urllib.parse.urlencode(HOSTILE_QUERY)
    sign_in(page, f"{hostile_server}/?{query}", "boss", PASSWORDS["boss"])
    expect(page.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)
    settled(page)
    expect(page.get_by_text("2026-11-01 — 2026-11-30")).to_be_visible()  # the hostile period fell back to MTD

    # The team's name in the attainment chart's tooltip (an HTML element), as text.
    chart = page.get_by_test_id("stVegaLiteChart").nth(1)
    chart.scroll_into_view_if_needed()
    assert TEAM_X in _hover_until_tooltip(page, chart, TEAM_X)
    # The tables draw their cells on a canvas, which cannot run markup: their cells arrive as the exact text.
    expect(page.get_by_test_id("stDataFrame")).to_have_count(2)
    wire = b"".join(frames)
    for name in [TEAM_X, *CUSTOMERS]:
        assert name.encode() in wire, name
    _no_injected_elements(page)
    assert dialogs == []


def test_a_user_with_a_markup_name_and_scope_sees_them_as_text(page, dialogs, hostile_server):
    sign_in(page, hostile_server, "mgr", PASSWORDS["mgr"])
    expect(page.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)
    settled(page)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text(f"{NAME_X} · 团队经理")  # the role in words
    expect(sidebar).to_contain_text(f"团队 {TEAM_X}")  # the scope in words
    _no_injected_elements(page)
    assert dialogs == []
