"""The data-health page through AppTest: late and stale sources, rows over time, drift, rejected rows (paged and
downloaded — audited), keys that match nothing; and the admin's upload → check → confirm → worker → published."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from auth import clock
from auth.principal import Principal
from auth.users import hash_password
from cockpit_ui.health import rejects_csv
from core.appstate import AppState
from core.config import settings
from core.warehouse import current_snapshot
from metrics.scope import Scope
from sources.sync import run_sync
from tests.conftest import run_cli

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "data_health.py")
FIRST = "order id,order date,product id,amount\nO1,2024-01-01,P1,10\nO2,2024-01-02,P2,20\nO3,2024-01-03,P9,30\n"
# A new column, and line 5 with an impossible date (1 of 4 rows: under the 50% threshold). P9 is no product.
SECOND = (
    "order id,order date,product id,amount,region\n"
    "O1,2024-01-01,P1,10,华东\nO2,2024-01-02,P2,20,华北\nO3,2024-01-03,P9,30,华东\nO4,2024-02-30,P1,40,华南\n"
)


@pytest.fixture
def health_env(cockpit_env, tmp_path, monkeypatch):
    orders, products = tmp_path / "orders.csv", tmp_path / "products.csv"
    orders.write_text(FIRST, encoding="utf-8")
    products.write_text("product id,product name\nP1,Pen\nP2,Paper\n", encoding="utf-8")
    cockpit_env(
        {
            "business": {"timezone": "Asia/Shanghai"},
            "sources": [
                {
                    "name": "shop",
                    "entity": "orders",
                    "path": str(orders),
                    "schedule": "every 1h",
                    "reject_threshold": 0.5,
                },
                {"name": "catalog", "entity": "products", "path": str(products), "schedule": "manual"},
            ],
            "users_file": str(_users_file(tmp_path)),
        }
    )
    assert run_sync(settings()).ok
    orders.write_text(SECOND, encoding="utf-8")
    assert run_sync(settings()).ok
    # Three days on by the business clock: the hourly `shop` is late; the manual `catalog` never is.
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    monkeypatch.setenv("COCKPIT_TODAY", (today + dt.timedelta(days=3)).isoformat())
    return settings()


def _users_file(folder: Path) -> Path:
    """A director and an admin, as the guard re-reads them on every run."""
    path = folder / "users.yml"
    secret = hash_password("not-a-demo-password")
    path.write_text(
        "users:\n"
        f"  director: {{name: Director, password: '{secret}', roles: [director], scope: all}}\n"
        f"  admin: {{name: Admin, password: '{secret}', roles: [admin], scope: all}}\n",
        encoding="utf-8",
    )
    return path


def _page(user: str, roles: tuple[str, ...]) -> AppTest:
    """The page as `login()` leaves a session: a Principal and the time of its sign-in."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["principal"] = Principal(user, user, roles, Scope.all())
    at.session_state["authentication_status"] = True
    at.session_state["_auth_issued_at"] = clock.now()
    return at.run()


def _frame(at: AppTest, column: str):
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with a {column!r} column"
    return found[0]


def test_director_sees_late_source_rows_over_time_drift_rejects_and_unmatched_keys(health_env):
    at = _page("director", ("director",))
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    assert any("逾期" in w and "shop" in w and "catalog" not in w for w in warnings)
    summary = _frame(at, "late").set_index("source")
    assert summary.loc["shop", "late"] and not summary.loc["catalog", "late"]
    assert summary.loc["shop", "status"] == "已发布" and summary.loc["shop", "rows_rejected"] == 1
    assert summary.loc["shop", "entity"] == "订单" and summary.loc["shop", "schedule"] == "每 1 小时"
    assert summary.loc["catalog", "schedule"] == "手动"
    assert summary.loc["shop", "lag"].startswith("3天") or summary.loc["shop", "lag"].startswith("2天")
    assert len(at.get("vega_lite_chart")) == 1
    drift = _frame(at, "change")
    assert drift.to_dict("records") == [{"change": "new", "column": "region", "before": None, "after": "region: text"}]
    rejects = _frame(at, "reason")
    assert rejects[["file", "line", "order id", "order date"]].to_dict("records") == [
        {"file": "orders.csv", "line": 5, "order id": "O4", "order date": "2024-02-30"}
    ]
    keys = _frame(at, "dimension")
    assert keys[["entity", "dimension", "unmatched"]].to_dict("records") == [
        {"entity": "orders", "dimension": "product", "unmatched": 1}
    ]
    assert "P9" in keys.loc[0, "examples"]
    assert len(at.file_uploader) == 0  # uploads are for admins

    at.download_button(key="rejects_download").click().run()
    entry = AppState(health_env.data_dir).audit_entries(limit=1)[0]
    assert (entry["username"], entry["action"], entry["detail"]["what"], entry["detail"]["rows"]) == (
        "director",
        "export",
        "rejected_rows:shop",
        1,
    )
    load = AppState(health_env.data_dir).latest_load("shop")
    csv = rejects_csv(str(health_env.data_dir), load["id"]).decode("utf-8-sig").splitlines()
    assert csv[0] == "file,line,reason,order id,order date,product id,amount,region"
    assert csv[1].startswith("orders.csv,5,") and csv[1].endswith(",O4,2024-02-30,P1,40,华南")


def _orders_of(cfg, source: str) -> list[tuple]:
    con = duckdb.connect(str(current_snapshot(cfg.data_dir).path), read_only=True)
    try:
        return con.execute("SELECT order_id, amount FROM orders WHERE source = ? ORDER BY 1", [source]).fetchall()
    finally:
        con.close()


def _upload(at: AppTest, name: str, data: bytes) -> tuple[AppTest, str]:
    at.file_uploader(key="health_uploader").set_value((name, data, "text/csv"))
    at.run()
    assert not at.exception, at.exception
    item_id = at.session_state["health_upload_item"]
    return at, item_id


def test_admin_uploads_checks_confirms_and_the_worker_publishes_then_a_reupload_replaces(health_env):
    cfg = health_env
    at = _page("admin", ("admin",))
    assert not at.exception, at.exception
    first = "order id,order date,amount\nU1,2024-05-01,100\nU2,2024-05-02,200\nU3,2024-05-03,300\n"
    at, item_id = _upload(at, "walk-in.csv", first.encode("utf-8"))
    shown = {m.label: m.value for m in at.metric}
    assert shown["读取"] == "3" and shown["载入"] == "3" and shown["拒绝"] == "0"
    assert any("检查通过" in s.value for s in at.success)
    assert at.text_input(key=f"upload_source_{item_id}").value == "walk_in"
    at.button(key=f"upload_confirm_{item_id}").click().run()
    assert not at.exception, at.exception
    assert AppState(cfg.data_dir).inbox_item(item_id)["status"] == "queued"
    assert _frame(at, "uploaded_by").set_index("file").loc["walk-in.csv", "status"] == "排队中"

    assert run_cli("jobs", "run", "inbox").returncode == 0  # the worker's job, in its own process
    at.run()
    assert _frame(at, "uploaded_by").set_index("file").loc["walk-in.csv", "status"] == "已发布"
    assert _orders_of(cfg, "walk_in") == [("U1", 100.0), ("U2", 200.0), ("U3", 300.0)]

    # The same file name again with other content: a new check of the new bytes, and the rows are replaced.
    at, again = _upload(at, "walk-in.csv", b"order id,order date,amount\nV1,2024-06-01,7\n")
    assert again != item_id
    assert {m.label: m.value for m in at.metric}["读取"] == "1"
    at.button(key=f"upload_confirm_{again}").click().run()
    assert run_cli("jobs", "run", "inbox").returncode == 0
    assert _orders_of(cfg, "walk_in") == [("V1", 7.0)]
    at.run()
    statuses = _frame(at, "uploaded_by")["status"].tolist()
    assert statuses == ["已发布", "已发布"]
    actions = [e["action"] for e in AppState(cfg.data_dir).audit_entries(limit=10)]
    assert actions.count("upload") == 2


def test_uploaded_file_name_is_shown_as_typed_not_as_a_link(health_env):
    at = _page("admin", ("admin",))
    at, item_id = _upload(at, "[点我](http:evil.example).csv", b"order id,order date,amount\nX1,2024-01-01,1\n")
    shown = [m.value for m in at.markdown if "点我" in m.value]
    assert shown and all("[点我](http:" not in v for v in shown)
    assert r"\[点我\]\(http\:evil\.example\)\.csv" in shown[0]


def test_unchanged_source_shows_the_rows_of_its_last_load_not_zero(health_env):
    """A source whose file had not changed showed read 0 / loaded 0 on the health table."""
    assert AppState(settings().data_dir).runs("catalog", limit=1)[0]["status"] == "unchanged"  # the second sync
    at = _page("director", ("director",))
    row = _frame(at, "late").set_index("source").loc["catalog"]
    # products.csv has two rows (P1 Pen, P2 Paper), both loaded by the first sync.
    assert row["status"] == "无变化" and (row["rows_read"], row["rows_loaded"]) == (2, 2)
