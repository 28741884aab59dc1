"""The overview in a real browser: sign in, read the KPI cards, compare with `python -m metrics query`.

The expected text is the CLI's JSON for the same period, written by the documented number rule (README,
"Number formats") implemented again here — not by calling the app's own formatting or metric functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.appstate import AppState
from tests.e2e.conftest import ROOT, login, settled, sign_in

pytestmark = pytest.mark.e2e

KPI_LABELS = {
    "revenue": "销售额",
    "gross_margin": "毛利",
    "gross_margin_rate": "毛利率",
    "orders": "订单数",
    "new_customers": "新客户数",
    "win_rate": "赢单率",
    "deal_cycle_days": "成交周期（天）",
    "target_attainment": "目标达成率",
}


def documented_format(value: float | None, fmt: str) -> str:
    """README 'Number formats', zh: money in 万/亿 with two decimals, counts with separators, 1-decimal %."""
    if value is None:
        return "—"

    def r(x: float, places: int) -> Decimal:
        return Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)

    if fmt == "money":
        sign = "-" if value < 0 else ""
        v = abs(value)
        if v >= 1e8:
            return f"{sign}¥{r(v / 1e8, 2):,}亿"
        if v >= 1e4:
            return f"{sign}¥{r(v / 1e4, 2):,}万"
        return f"{sign}¥{r(v, 2):,}"
    if fmt == "count":
        return f"{int(r(value, 0)):,}"
    if fmt == "percent":
        return f"{r(value * 100, 1)}%"
    if fmt == "days":
        return f"{r(value, 1)} 天"
    raise AssertionError(fmt)


def cli_totals(data_dir: Path, start: str, end: str, user: str) -> dict:
    env = {**os.environ, "COCKPIT_CONFIG": str(ROOT / "examples" / "demo.yml"), "COCKPIT_DATA_DIR": str(data_dir)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "metrics",
            "query",
            ",".join(KPI_LABELS),
            "--from",
            start,
            "--to",
            end,
            "--as-user",
            user,
            "--format",
            "json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = json.loads(proc.stdout)
    formats = {c["name"]: c["format"] for c in out["columns"]}
    return {name: (out["rows"][0][name], formats[name]) for name in KPI_LABELS}


@pytest.mark.parametrize("user", ["director", "regional"])
def test_overview_cards_match_the_metric_cli(page, app_server, demo_data_dir, user):
    login(page, app_server, user)
    expect(page.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)
    cards = page.locator('[data-testid="stMetric"]')
    expect(cards).to_have_count(len(KPI_LABELS), timeout=60_000)
    shown = {}
    for i in range(cards.count()):
        card = cards.nth(i)
        label = card.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        shown[label] = card.locator('[data-testid="stMetricValue"]').inner_text().strip()
    # The demo pins business.today to 2026-11-30, and the default period is month to date.
    expected = cli_totals(demo_data_dir, "2026-11-01", "2026-11-30", user)
    for name, label in KPI_LABELS.items():
        value, fmt = expected[name]
        assert shown[label] == documented_format(value, fmt), (user, name, shown[label], value)
    page.screenshot(path=str(demo_data_dir / f"overview-{user}.png"), full_page=True)


def test_signed_out_deep_link_shows_no_numbers(page, app_server):
    page.goto(f"{app_server}/overview")
    expect(page.get_by_label("用户名")).to_be_visible(timeout=30_000)
    assert page.locator('[data-testid="stMetric"]').count() == 0


@pytest.mark.parametrize(("path", "heading"), [("overview", "经营总览"), ("data_health", "数据健康")])
def test_bookmarked_page_opens_after_sign_in_without_page_not_found(page, app_server, path, heading):
    """Regression: a bookmarked page address (say from a pushed alert) answered "Page not found" when signed out.

    Signed out, every page's address shows the sign-in form; after signing in the same address shows the page,
    and a reload keeps it. The default page (overview) may be shown at the root or at its own name.
    """
    page.goto(f"{app_server}/{path}")
    username = page.get_by_label("用户名")
    expect(username).to_be_visible(timeout=30_000)
    assert page.get_by_text("Page not found").count() == 0
    page.wait_for_load_state("networkidle")
    username.fill("director")
    page.get_by_label("密码").fill("demo-director")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=60_000)
    allowed = {f"{app_server}/{path}"} | ({app_server, f"{app_server}/"} if path == "overview" else set())
    assert page.url.rstrip("/") in {u.rstrip("/") for u in allowed}, page.url
    page.reload()
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=60_000)
    assert page.get_by_text("Page not found").count() == 0
    # Signed in, the address opened afresh (a bookmark, a link in a pushed alert) shows the page, never
    # "Page not found" — the overview once answered only at the root.
    tab = page.context.new_page()
    tab.goto(f"{app_server}/{path}")
    expect(tab.get_by_role("heading", name=heading)).to_be_visible(timeout=60_000)
    settled(tab)
    assert tab.get_by_text("Page not found").count() == 0
    assert tab.url.rstrip("/") == f"{app_server}/{path}"
    tab.goto(app_server)  # the root opens the first page under its own address
    expect(tab.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)
    settled(tab)
    assert tab.url.rstrip("/") == f"{app_server}/overview" and tab.get_by_text("Page not found").count() == 0
    tab.close()


def test_a_link_with_a_period_keeps_it_through_sign_in_and_in_a_new_tab(page, browser, app_server):
    """Regression: `/overview?period=ytd` (a bookmark or an alert link) opened on month to date after sign-in,
    and so did a new tab with the sign-in cookie: the period control's query binding was dropped when the
    signed-in page took over the sign-in page's address."""
    link = f"{app_server}/overview?period=ytd"
    sign_in(page, link, "director")
    expect(page.get_by_text("2026-01-01 — 2026-11-30")).to_be_visible(timeout=60_000)
    settled(page)
    assert page.url.endswith("/overview?period=ytd")
    tab = browser.new_context(storage_state=page.context.storage_state()).new_page()
    tab.goto(link)
    expect(tab.get_by_text("2026-01-01 — 2026-11-30")).to_be_visible(timeout=60_000)
    tab.get_by_text("上月", exact=True).click()  # choosing another period writes it into the address
    expect(tab.get_by_text("2026-10-01 — 2026-10-31")).to_be_visible(timeout=60_000)
    expect(tab).to_have_url(f"{app_server}/overview?period=last_month", timeout=30_000)
    tab.context.close()


def test_a_page_the_user_may_not_open_says_so_in_their_language(page, app_server):
    """Regression: a rep opening /data_health (a bookmark, a forwarded link) saw Streamlit's English "Page not
    found"; now the address says the page is not theirs, links to their first page and shows nothing of it."""
    sign_in(page, f"{app_server}/overview", "rep")
    expect(page.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)
    page.goto(f"{app_server}/data_health")
    expect(page.get_by_text("你没有权限查看此页面。")).to_be_visible(timeout=60_000)
    settled(page)
    assert page.get_by_text("Page not found").count() == 0
    assert page.get_by_role("heading", name="数据健康").count() == 0
    page.get_by_role("link", name="经营总览").click()
    expect(page.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)


def test_the_language_a_user_chose_is_the_one_a_new_tab_opens_in(page, browser, app_server, demo_data_dir):
    """Regression: the language lived only in the address, so a bookmark or a new tab opened in Chinese again."""
    sign_in(page, f"{app_server}/overview", "admin")
    expect(page.get_by_role("heading", name="经营总览")).to_be_visible(timeout=60_000)
    settled(page)
    page.get_by_role("radio", name="English").first.click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=60_000)
    tab = browser.new_context(storage_state=page.context.storage_state()).new_page()
    tab.goto(f"{app_server}/data_health")  # no ?lang= in the address
    expect(tab.get_by_role("heading", name="Data health")).to_be_visible(timeout=60_000)
    settled(tab)
    assert tab.url.endswith("/data_health?lang=en")
    tab.get_by_role("radio", name="中文").first.click()  # and back: the choice is remembered either way
    expect(tab.get_by_role("heading", name="数据健康")).to_be_visible(timeout=60_000)
    tab.context.close()
    assert AppState(demo_data_dir).language("admin") == "zh"
