"""Hostile input changes nothing: SQL in filter values and URL parameters, HTML and script tags in customer,
rep and team names. They are data — matched literally, shown as text — and the snapshot stays as it was.

The fixture company is written here: five customers (one named like a script, one like an image with an
onerror handler, one like an SQL injection, one like a spreadsheet formula, one ordinary) buying every day of
November 2026 from two reps, one of whose name and team are markup too; a few orders have no rep.
Customer k (0..4) buys for 1000 + 10·k + day yuan on each day 1..28, so its month is 28,406 + 280·k.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from auth import clock
from auth.users import hash_password
from metrics.__main__ import main as metrics_main
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
TEAM_X = "<script>alert('team')</script>"
REP_X = "<img src=x onerror=alert('rep')>"
CUSTOMERS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    "x'); DROP TABLE orders;--",
    '=HYPERLINK("http://evil.example","点我")',
    "上海华联",
]
NAME_X = "<img src=x onerror=alert('name')>"
PASSWORDS = {"boss": "boss-password-1", "h1": "h1-password-1", "mgr": "mgr-password-1"}
UNASSIGNED = 1047 + 1054 + 1061 + 1068  # customer 4's orders on days 7, 14, 21, 28 have no rep


def customer_month(k: int) -> float:
    return 28 * 1000 + 280 * k + sum(range(1, 29))


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_hostile_company(folder: Path) -> Path:
    """The company's exports, users and configuration in `folder`; returns the configuration file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reps.csv").write_text(
        "工号,姓名,邮箱,经理,团队,大区,生效日期,失效日期\n"
        f"H1,{_quote(REP_X)},h1@x.example,王,{_quote(TEAM_X)},华东,2026-01-01,\n"
        "H2,韩梅,h2@x.example,王,普通一组,华北,2026-01-01,\n",
        encoding="utf-8",
    )
    rows = ["行号,订单编号,订单日期,客户编号,客户名称,产品编号,产品名称,数量,单价,金额,成本,币种,业务员,渠道,订单状态"]
    line = 0
    for day in range(1, 29):
        for k, name in enumerate(CUSTOMERS):
            line += 1
            rep = "" if k == 4 and day % 7 == 0 else ("H1" if k % 2 == 0 else "H2")
            amount = 1000 + 10 * k + day
            rows.append(
                f"L{line:05d},SO{line:05d},2026-11-{day:02d} 10:00:00,C{k:03d},{_quote(name)},P001,打印机,1,"
                f"{amount},{amount},{amount * 0.7:.2f},CNY,{rep},直销,已完成"
            )
    (folder / "orders.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "targets.csv").write_text(
        f"月份,层级,团队,业务员,目标金额\n2026-11,业务员,{_quote(TEAM_X)},{_quote(REP_X)},60000\n"
        "2026-11,业务员,普通一组,韩梅,50000\n",
        encoding="utf-8",
    )
    users = {
        "boss": {"name": "老板", "password": hash_password(PASSWORDS["boss"]), "roles": ["director"]},
        "h1": {"name": "H1", "password": hash_password(PASSWORDS["h1"]), "roles": ["rep"], "rep_id": "H1"},
        "mgr": {
            "name": NAME_X,
            "password": hash_password(PASSWORDS["mgr"]),
            "roles": ["team_manager"],
            "scope": {"teams": [TEAM_X]},
        },
    }
    (folder / "users.yml").write_text(yaml.safe_dump({"users": users}, allow_unicode=True), encoding="utf-8")
    config = {
        "demo": False,
        "title": "<b>Hostile</b> Co",
        "business": {"today": "2026-11-30", "holidays": "none"},
        "users_file": "users.yml",
        "sources": [
            {"name": "orders", "entity": "orders", "path": "orders.csv", "schedule": "manual"},
            {"name": "roster", "entity": "reps", "path": "reps.csv", "schedule": "manual"},
            {
                "name": "targets",
                "entity": "targets",
                "path": "targets.csv",
                "schedule": "manual",
                "values": {"level": {"团队": "team", "业务员": "rep"}},
            },
        ],
    }
    path = folder / "hostile.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, str]:
    """The hostile company synced once; its environment (config, data directory, a strong cookie key)."""
    folder = tmp_path_factory.mktemp("hostile")
    config = write_hostile_company(folder)
    env = {
        "COCKPIT_CONFIG": str(config),
        "COCKPIT_DATA_DIR": str(folder / "data"),
        "COCKPIT_COOKIE_KEY": hashlib.sha256(b"hostile-test-key").hexdigest(),
        "COCKPIT_SECRETS_FILE": str(folder / "no-secrets.toml"),
    }
    run_cli("sources", "sync", env=env)
    return env


@pytest.fixture
def hostile_env(hostile, monkeypatch) -> dict[str, str]:
    for key, value in hostile.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("COCKPIT_TODAY", raising=False)
    from core import secrets as core_secrets

    core_secrets._secrets_file.cache_clear()
    return hostile


def fingerprint(data_dir: str) -> dict[str, str]:
    """CURRENT and a hash of every snapshot file: what "the snapshot is unchanged" means."""
    root = Path(data_dir)
    files = {"CURRENT": (root / "CURRENT").read_text(encoding="utf-8")}
    for path in sorted((root / "snapshots").glob("*.duckdb")):
        files[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def metrics_json(*args: str) -> dict:
    """`python -m metrics query ARGS --format json`, run in this process (the environment names the company)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = metrics_main(["query", *args, "--format", "json"])
    assert code == 0, (args, code)
    return json.loads(out.getvalue())


def test_hostile_customer_names_are_data(hostile_env):
    proc = run_cli(
        "metrics",
        "query",
        "revenue,orders",
        "--by",
        "customer",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--format",
        "json",
        env=hostile_env,
    )
    out = json.loads(proc.stdout)
    got = {r["customer"]: (r["revenue"], r["orders"]) for r in out["rows"]}
    assert got == {name: (customer_month(k), 28) for k, name in enumerate(CUSTOMERS)}
    for k, name in enumerate(CUSTOMERS):
        one = metrics_json("revenue,orders", "--where", f"customer={name}")
        assert one["rows"] == [{"revenue": customer_month(k), "orders": 28}], name


@pytest.mark.parametrize(
    "value",
    [
        "x' OR '1'='1",
        "华东'; DROP TABLE orders;--",
        '") OR 1=1 --',
        "%' OR customer LIKE '%",
        "<script>alert(1)</script>' UNION SELECT * FROM orders --",
    ],
)
def test_sql_in_where_values_matches_nothing_and_changes_nothing(hostile_env, value):
    before = fingerprint(hostile_env["COCKPIT_DATA_DIR"])
    for dim in ("customer", "region", "team", "rep"):
        totals = metrics_json("revenue,orders", "--where", f"{dim}={value}")
        assert totals["rows"] == [{"revenue": 0.0, "orders": 0}], (dim, value)
        by = metrics_json("revenue", "--by", dim, "--where", f"{dim}={value}")
        assert by["rows"] == [], (dim, value)
    assert fingerprint(hostile_env["COCKPIT_DATA_DIR"]) == before
    everything = metrics_json("revenue,orders")
    assert everything["rows"] == [{"revenue": sum(customer_month(k) for k in range(5)), "orders": 140}]


def test_hostile_as_user_name_is_a_usage_error(hostile):
    proc = run_cli("metrics", "query", "revenue", "--as-user", "boss' OR '1'='1", env=hostile, check=False)
    assert proc.returncode == 2
    assert "no user" in proc.stderr and "boss, h1, mgr" in proc.stderr


def test_rep_with_a_markup_name_sees_own_rows_and_unassigned_rows_only_under_all(hostile_env):
    rep = metrics_json("revenue", "--as-user", "h1")
    boss = metrics_json("revenue", "--as-user", "boss")
    h1 = customer_month(0) + customer_month(2) + customer_month(4) - UNASSIGNED
    assert rep["scope"] == "reps=H1" and rep["rows"] == [{"revenue": h1}]
    assert boss["rows"] == [{"revenue": sum(customer_month(k) for k in range(5))}]
    by_rep = {r["rep_id"]: r["revenue"] for r in metrics_json("revenue", "--by", "rep")["rows"]}
    assert by_rep == {"H1": h1, "H2": customer_month(1) + customer_month(3), None: UNASSIGNED}


def _signed_in(user: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.session_state["authentication_status"] = True
    at.session_state["username"] = user
    at.session_state["_auth_issued_at"] = clock.now()
    return at.run()


HOSTILE_QUERY = {
    "period": "mtd'; DROP TABLE orders;--",
    "lang": "<script>alert('lang')</script>",
    "from": "2026-11-01' OR '1'='1",
    "to": "<img src=x onerror=alert(3)>",
}


def test_hostile_url_parameters_fall_back_to_defaults_and_change_nothing(hostile_env):
    before = fingerprint(hostile_env["COCKPIT_DATA_DIR"])
    plain = _signed_in("boss", {})
    at = _signed_in("boss", HOSTILE_QUERY)
    assert not at.exception, at.exception
    assert at.title[0].value == "经营总览"  # lang falls back to Chinese
    assert at.caption[1].value.startswith("2026-11-01 — 2026-11-30")  # period falls back to month to date
    assert [m.value for m in at.metric] == [m.value for m in plain.metric]
    assert fingerprint(hostile_env["COCKPIT_DATA_DIR"]) == before


def test_markup_names_reach_the_page_as_plain_cell_text(hostile_env):
    at = _signed_in("boss", {})
    assert not at.exception, at.exception
    teams = at.dataframe[0].value
    assert sorted(teams["team"]) == sorted([TEAM_X, "普通一组"])
    customers = at.dataframe[1].value
    assert sorted(customers["customer"]) == sorted(CUSTOMERS)
    assert dict(zip(customers["customer"], customers["revenue"], strict=True)) == {
        name: customer_month(k) for k, name in enumerate(CUSTOMERS)
    }
    # No element renders names as markdown or HTML: they only travel as table cells and chart data.
    markup = [m.value for m in at.markdown] + [h.value for h in at.get("html")]
    assert not any("<script" in text or "onerror" in text for text in markup)


def test_rep_sees_own_customers_not_the_others(hostile_env):
    at = _signed_in("h1", {})
    assert not at.exception, at.exception
    assert sorted(at.dataframe[0].value["rep"]) == [REP_X]  # a rep sees their own line, under their own name
    shown = dict(zip(at.dataframe[1].value["customer"], at.dataframe[1].value["revenue"], strict=True))
    assert shown == {
        CUSTOMERS[0]: customer_month(0),
        CUSTOMERS[2]: customer_month(2),
        CUSTOMERS[4]: customer_month(4) - UNASSIGNED,
    }


def test_fixture_company_is_reached_through_env(hostile):
    # Guard: the helpers above really point at the hostile company, not the demo.
    assert Path(hostile["COCKPIT_CONFIG"]).name == "hostile.yml" and os.path.isdir(hostile["COCKPIT_DATA_DIR"])
