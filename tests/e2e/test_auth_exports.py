"""Exports in a real browser: tables offer no download of their own (client.disableDataExport); the app's own
buttons download exactly the signed-in user's rows — equal to `python -m metrics query --as-user` — and each
click leaves an audit entry."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from playwright.sync_api import expect
from python_calamine import CalamineWorkbook

from core.appstate import AppState
from tests.e2e.conftest import ROOT, settled, sign_in

pytestmark = pytest.mark.e2e


def cli_teams(data_dir, user: str) -> dict[str, tuple[float, float, float]]:
    env = {**os.environ, "COCKPIT_CONFIG": str(ROOT / "examples" / "demo.yml"), "COCKPIT_DATA_DIR": str(data_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "metrics", "query", "revenue,revenue_target,target_attainment", "--by", "team"]
        + ["--from", "2026-11-01", "--to", "2026-11-30", "--as-user", user, "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows = json.loads(proc.stdout)["rows"]
    return {r["team"]: (r["revenue"], r["revenue_target"], r["target_attainment"]) for r in rows if r["team"]}


def test_tables_have_no_download_button_of_their_own(page, app_server):
    sign_in(page, app_server, "regional")
    tables = page.locator('[data-testid="stDataFrame"]')
    expect(tables).to_have_count(2, timeout=60_000)
    for i in range(tables.count()):
        tables.nth(i).hover()
        toolbar = page.locator('[data-testid="stElementToolbar"]').filter(has=page.get_by_role("button", name="Search"))
        expect(toolbar.first).to_be_visible()
    labels = [b.get_attribute("aria-label") for b in page.locator('[data-testid="stElementToolbar"] button').all()]
    assert "Search" in labels and "Fullscreen" in labels  # the toolbars are there ...
    assert "Download as CSV" not in labels  # ... without their CSV download


def test_export_buttons_download_the_users_rows_and_audit_each_click(page, app_server, demo_data_dir):
    expected = cli_teams(demo_data_dir, "regional")
    assert sorted(expected) == ["华东一组", "华东二组"]
    state = AppState(demo_data_dir)
    seen = {e["id"] for e in state.audit_entries(limit=10_000)}
    sign_in(page, app_server, "regional")
    button = page.get_by_role("button", name="导出 CSV")
    expect(button).to_be_visible(timeout=60_000)
    settled(page)

    with page.expect_download() as info:
        button.click()
    csv = pd.read_csv(io.BytesIO(open(info.value.path(), "rb").read()), encoding="utf-8-sig")
    assert info.value.suggested_filename == "overview_teams.csv"
    got = {r.team: (r.revenue, r.revenue_target, r.target_attainment) for r in csv.itertuples()}
    assert got.keys() == expected.keys()
    for team, values in expected.items():
        assert got[team] == pytest.approx(values, rel=1e-9), team

    # The click reruns the app (its audit callback). Wait for that run to have started — its audit entry is
    # written first — and then to end, so that the next click lands on the new run's button.
    for _ in range(150):
        if any(e["id"] not in seen and e["action"] == "export" for e in state.audit_entries(limit=10_000)):
            break
        page.wait_for_timeout(200)
    settled(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="导出 Excel").click()
    sheet = CalamineWorkbook.from_path(info.value.path()).get_sheet_by_name("overview_teams").to_python()
    assert sheet[0] == ["team", "revenue", "revenue_target", "target_attainment"]
    book = {row[0]: tuple(row[1:]) for row in sheet[1:]}
    assert book.keys() == expected.keys()
    for team, values in expected.items():
        assert book[team] == pytest.approx(values, rel=1e-9), team

    page.wait_for_load_state("networkidle")
    for _ in range(50):
        new = [e for e in state.audit_entries(limit=10_000) if e["id"] not in seen and e["action"] == "export"]
        if len(new) == 2:
            break
        page.wait_for_timeout(200)
    assert [(e["username"], e["detail"]["format"], e["detail"]["rows"]) for e in new] == [
        ("regional", "xlsx", 2),
        ("regional", "csv", 2),
    ]
    assert {e["detail"]["scope"] for e in new} == {"regions=华东"}
