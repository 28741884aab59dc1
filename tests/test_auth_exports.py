"""Exports go through the app's own buttons: scoped, audited on click, safe to open in a spreadsheet; the audit
page shows them and filters by action and user."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook
from streamlit.testing.v1 import AppTest

from auth import clock
from auth.users import load_users
from cockpit_ui.export import csv_bytes, excel_bytes
from core.appstate import AppState
from core.config import settings

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = pd.DataFrame(
    {
        "customer": ['=HYPERLINK("http://evil.example","点我")', "+SUM(1,2)", "-2+3", "@cmd", "上海华联"],
        "revenue": [1234.5, -500.0, 0.0, 1e9, 3.25],
    }
)


def _app(user: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = user
    at.session_state["_auth_issued_at"] = clock.now()
    return at


def test_csv_export_keeps_formula_like_names_as_text():
    data = csv_bytes(HOSTILE)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese as UTF-8
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back["customer"].tolist() == [
        '\'=HYPERLINK("http://evil.example","点我")',
        "'+SUM(1,2)",
        "'-2+3",
        "'@cmd",
        "上海华联",
    ]
    assert back["revenue"].tolist() == [1234.5, -500.0, 0.0, 1e9, 3.25]  # numbers stay numbers, signs included


def test_excel_export_writes_text_never_formulas(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(excel_bytes(HOSTILE, "teams"))
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("teams").to_python()
    assert sheet[0] == ["customer", "revenue"]
    assert [row[0] for row in sheet[1:]] == HOSTILE["customer"].tolist()  # the text itself, not a computed value
    assert [row[1] for row in sheet[1:]] == HOSTILE["revenue"].tolist()
    with zipfile.ZipFile(path) as book:
        xml = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml  # no formula cell at all
    assert "hyperlink" not in xml.lower()


def test_overview_export_is_scoped_and_audited_on_click(demo_env):
    cfg = settings()
    scope = load_users(cfg).get("regional").scope
    state = AppState(cfg.data_dir)
    before = [e["id"] for e in state.audit_entries(limit=10_000) if e["action"] == "export"]
    at = _app("regional").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert sorted(table["team"]) == ["华东一组", "华东二组"]
    buttons = {b.label: b for b in at.download_button}
    assert set(buttons) == {"导出 CSV", "导出 Excel"}
    # Drawing the buttons audits nothing; a click does.
    assert [e["id"] for e in state.audit_entries(limit=10_000) if e["action"] == "export"] == before
    buttons["导出 CSV"].click().run()
    assert not at.exception
    new = [e for e in state.audit_entries(limit=10_000) if e["action"] == "export" and e["id"] not in before]
    assert len(new) == 1
    assert new[0]["username"] == "regional"
    assert new[0]["detail"] == {"what": "overview_teams", "format": "csv", "rows": 2, "scope": scope.label}
    at.download_button(key="team_table_xlsx").click().run()
    formats = [e["detail"]["format"] for e in state.audit_entries(limit=10_000) if e["action"] == "export"]
    assert formats[:2] == ["xlsx", "csv"]


def test_audit_page_filters_by_action_and_user(demo_env):
    cfg = settings()
    state = AppState(cfg.data_dir)
    state.audit("analyst", "export", what="probe", format="csv", rows=1, scope="all")
    state.audit("director", "login_failed", method="password")
    at = _app("admin").run()
    at.switch_page("pages/audit_log.py").run()
    assert not at.exception, at.exception
    everything = at.dataframe[0].value
    assert {"导出", "登录失败"} <= set(everything["action"])  # actions in words, filtered by their codes
    at.multiselect(key="audit_action").select("export").run()
    shown = at.dataframe[0].value
    assert set(shown["action"]) == {"导出"} and len(shown) < len(everything)
    at.multiselect(key="audit_user").select("analyst").run()
    shown = at.dataframe[0].value
    assert set(shown["username"]) == {"analyst"} and set(shown["action"]) == {"导出"}
    assert "what=probe" in shown["detail"].tolist()[0]


def test_audit_times_are_on_the_business_clock_not_utc(demo_env):
    """The audit log showed its UTC times unlabelled beside Shanghai times everywhere else."""
    cfg = settings()
    state = AppState(cfg.data_dir)
    state.audit("analyst", "export", what="clock-probe", format="csv", rows=1, scope="all")
    stored = next(e for e in state.audit_entries(limit=50) if (e["detail"] or {}).get("what") == "clock-probe")["at"]
    at = _app("admin").run()
    at.switch_page("pages/audit_log.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    shown = table[table["detail"].str.contains("what=clock-probe")]["at"].iloc[0]
    assert cfg.business.timezone == "Asia/Shanghai"
    assert shown.to_pydatetime() == stored + dt.timedelta(hours=8)  # Shanghai keeps UTC+8 all year
