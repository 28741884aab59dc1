"""Every page through Streamlit's AppTest: signed out (no data, ever) and signed in per role (scoped numbers)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from auth import clock
from auth.roles import PAGES, pages_for
from auth.users import load_users
from core.config import settings
from core.warehouse import current_snapshot
from metrics.formatting import format_change, format_delta_pct, format_value
from metrics.query import query
from metrics.spec import load_catalog
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
PAGE_FILES = sorted(p for p in (ROOT / "pages").glob("*.py") if p.name != "__init__.py")
TIMEOUT = 120


def _app(user: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if user:
        # The state streamlit-authenticator leaves after a successful login.
        at.session_state["authentication_status"] = True
        at.session_state["username"] = user
        at.session_state["_auth_form_login"] = True
        at.session_state["_auth_issued_at"] = clock.now()
    return at


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [str(m.value) for m in at.metric] + [t.value for t in at.title]
    parts += [str(d.value) for d in at.dataframe]
    return "\n".join(parts)


def test_every_page_file_starts_with_the_guard():
    for path in PAGE_FILES:
        first = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()][:2]
        assert first[0] == "from cockpit_ui.guard import require", path
        assert first[1] == f'principal = require("{path.stem}")', path
        assert path.stem in PAGES, f"{path.stem} is not registered in auth.roles.PAGES"


@pytest.mark.parametrize("page", PAGE_FILES, ids=lambda p: p.stem)
def test_page_opened_without_login_shows_no_data(page, demo_env):
    at = AppTest.from_file(str(page), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.get("vega_lite_chart")) == 0
    assert any("登录" in w.value or "sign in" in w.value.lower() for w in at.warning)


def test_router_without_login_shows_the_login_form_and_no_numbers(demo_env):
    at = _app().run()
    assert not at.exception
    assert len(at.metric) == 0
    assert [t.label for t in at.text_input] == ["用户名", "密码"]


def test_sign_in_page_switches_to_english_before_sign_in(demo_env):
    """The language could only be changed once signed in; the sign-in page was Chinese only."""
    at = _app().run()
    at.button_group(key="login_lang_pick").set_value("en").run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert at.query_params["lang"] == ["en"] or at.query_params["lang"] == "en"


def test_login_form_signs_in_and_shows_the_overview(demo_env):
    at = _app().run()
    at.text_input[0].input("director")
    at.text_input[1].input("demo-director")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["authentication_status"] is True
    assert [s.value for s in at.success] == ["已登录，正在打开驾驶舱…"]
    at.run()  # in a browser the component that writes the login cookie reruns the app
    assert at.title[0].value == "经营总览"
    assert len(at.metric) == 8


def test_wrong_password_is_refused_and_counted(demo_env):
    from core.appstate import AppState

    at = _app().run()
    at.text_input[0].input("analyst")
    at.text_input[1].input("not-the-password")
    at.button[0].click().run()
    assert at.session_state["authentication_status"] is False
    assert any("错误" in e.value for e in at.error)
    assert AppState(demo_env).failures_since_success("analyst", __import__("datetime").timedelta(minutes=15)) >= 1


ROLE_USERS = ["director", "regional", "manager", "rep", "admin", "analyst"]


@pytest.mark.parametrize("user", ROLE_USERS)
def test_overview_numbers_equal_the_metric_layer_for_the_users_scope(user, demo_env):
    cfg = settings()
    principal_user = load_users(cfg).get(user)
    at = _app(user).run()
    assert not at.exception, at.exception
    catalog = load_catalog()
    shown = {m.label: m.value for m in at.metric}
    today = cfg.today
    expected = query(
        ["revenue", "orders", "gross_margin_rate", "target_attainment"],
        principal_user.scope,
        start=today.replace(day=1),
        end=today,
    )
    for name in ("revenue", "orders", "gross_margin_rate", "target_attainment"):
        metric = catalog.metric(name)
        value = expected.total(name)
        assert shown[metric.label.zh] == format_value(value, metric.format, lang="zh"), (user, name)


@pytest.mark.parametrize("user", ROLE_USERS)
def test_navigation_lists_exactly_the_pages_of_the_role(user, demo_env):
    cfg = settings()
    roles = load_users(cfg).get(user).roles
    allowed = {p.key for p in pages_for(roles)}
    at = _app(user).run()
    for path in PAGE_FILES:
        key = path.stem
        if key in allowed:
            at.switch_page(f"pages/{key}.py").run()
            assert not at.exception, (user, key, at.exception)
            assert not any("没有权限" in e.value for e in at.error), (user, key)
        else:
            # Not in this user's navigation; if AppTest still runs the file, its guard stops it before any data.
            try:
                at.switch_page(f"pages/{key}.py").run()
            except ValueError as exc:
                assert "Could not find a navigation page" in str(exc)
                continue
            assert any("没有权限" in e.value for e in at.error), (user, key)
            assert len(at.metric) == 0 and len(at.dataframe) == 0, (user, key)


def test_rep_sees_only_own_numbers(demo_env):
    cfg = settings()
    rep = load_users(cfg).get("rep")
    everyone = query(
        ["revenue"],
        __import__("metrics.scope", fromlist=["Scope"]).Scope.all(),
        start=cfg.today.replace(day=1),
        end=cfg.today,
    ).total("revenue")
    own = query(["revenue"], rep.scope, start=cfg.today.replace(day=1), end=cfg.today).total("revenue")
    assert 0 < own < everyone
    at = _app("rep").run()
    shown = {m.label: m.value for m in at.metric}
    assert shown["销售额"] == format_value(own, "money", lang="zh")


# ---- what reaches the browser: only rows of the user's scope -----------------------------------------------


def _elements(node):
    """Every element of an AppTest run (the tree the browser would draw)."""
    proto = getattr(node, "proto", None)
    if proto is not None and hasattr(proto, "SerializeToString"):
        yield node
    for child in (getattr(node, "children", None) or {}).values():
        yield from _elements(child)


def sent_to_browser(at: AppTest) -> str:
    """Everything the server sent in this run, as searchable text.

    Each element's protobuf as it goes over the wire, plus what it carries in other encodings: Arrow tables of
    dataframes and chart datasets decoded to CSV, and chart specs with their JSON escapes (\\u6708) undone.
    """
    parts = []
    for node in _elements(at._tree):
        proto = node.proto
        parts.append(proto.SerializeToString().decode("utf-8", "replace"))
        kind = getattr(node, "type", None)
        if kind == "dataframe":
            parts.append(node.value.to_csv())
        elif kind == "vega_lite_chart":
            parts.append(json.dumps(json.loads(proto.spec), ensure_ascii=False))
            for dataset in proto.datasets:
                parts.append(convert_arrow_bytes_to_pandas_df(dataset.data.data).to_csv())
    return "\n".join(parts)


def chart_data(at: AppTest, key: str) -> pd.DataFrame:
    """The rows a chart (by its key) sends to the browser."""
    for chart in at.get("vega_lite_chart"):
        if chart.proto.id.endswith(key) or f"-{key}" in chart.proto.id:
            frames = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
            return max(frames, key=len)
    raise AssertionError(f"no chart {key!r}")


def _layer_encodings(at: AppTest, key: str) -> list[dict]:
    """The encodings of a layered chart's layers (by the chart's key) that have a colour channel."""
    for chart in at.get("vega_lite_chart"):
        if chart.proto.id.endswith(key) or f"-{key}" in chart.proto.id:
            spec = json.loads(chart.proto.spec)
            return [lay["encoding"] for lay in spec.get("layer", [spec]) if "color" in lay.get("encoding", {})]
    raise AssertionError(f"no chart {key!r}")


@pytest.fixture(scope="module")
def roster(demo_data_dir) -> pd.DataFrame:
    """Every (region, team, rep id, rep name, customer) on a row of the demo snapshot, read straight from it."""
    snapshot = current_snapshot(demo_data_dir)
    cur = snapshot.cursor()
    try:
        return cur.execute(
            """
            SELECT DISTINCT region, team, rep_id, rep, customer FROM (
                SELECT region, team, rep_id, rep, customer FROM orders
                UNION ALL SELECT region, team, rep_id, rep, customer FROM opportunities
                UNION ALL SELECT region, team, rep_id, rep, NULL FROM targets WHERE is_leaf
            ) WHERE rep_id IS NOT NULL
            """
        ).df()
    finally:
        cur.close()


def forbidden_members(roster: pd.DataFrame, scope) -> set[str]:  # noqa: ANN001 - metrics.scope.Scope
    """Regions, teams, rep ids, rep names and customers that no row of `scope` carries (empty for `all`)."""
    if scope.everything:
        return set()
    inside = roster["region"].isin(scope.regions) | roster["team"].isin(scope.teams) | roster["rep_id"].isin(scope.reps)
    seen, unseen = roster[inside], roster[~inside]
    out = set()
    for column in ("region", "team", "rep_id", "rep", "customer"):
        out |= set(unseen[column].dropna()) - set(seen[column].dropna())
    return out


SCOPED_USERS = [u for u in ROLE_USERS if u in ("regional", "manager", "rep")]


def test_restricted_demo_users_have_members_to_hide(demo_env, roster):
    # Guards the test below against passing vacuously: each restricted user has out-of-scope members.
    users = load_users(settings())
    hidden = {u: forbidden_members(roster, users.get(u).scope) for u in SCOPED_USERS}
    assert {"华北", "华南", "西南", "华北一组", "西南一组"} <= hidden["regional"]
    assert "华东二组" in hidden["manager"] and "华东" not in hidden["manager"]
    assert "S002" in hidden["rep"] and "周婷" in hidden["rep"] and "华东一组" not in hidden["rep"]
    assert "S004" not in hidden["manager"]  # S004 was in 华东一组 until 2025-06-30: his rows there are in scope


@pytest.mark.parametrize("user", ROLE_USERS)
def test_no_row_outside_the_scope_reaches_the_browser(user, demo_env, roster):
    cfg = settings()
    account = load_users(cfg).get(user)
    hidden = forbidden_members(roster, account.scope)
    at = _app(user).run()
    for page in pages_for(account.roles):
        at.switch_page(f"pages/{page.key}.py").run()
        assert not at.exception, (user, page.key, at.exception)
        for period in ("mtd", "ytd") if page.key == "overview" else ("mtd",):
            if page.key == "overview":
                at.button_group(key="period").set_value(period).run()
                assert at.caption[1].value.startswith(f"{cfg.today.year}-01-01" if period == "ytd" else "2026-11-01")
            sent = sent_to_browser(at)
            leaked = sorted(m for m in hidden if m in sent)
            assert not leaked, (user, page.key, period, leaked)


@pytest.mark.parametrize("user", ROLE_USERS)
def test_overview_charts_and_team_table_carry_the_metric_layers_numbers(user, demo_env):
    cfg = settings()
    scope = load_users(cfg).get(user).scope
    at = _app(user).run()
    assert not at.exception
    today = cfg.today
    start = today.replace(day=1)
    level = "rep" if user in ("rep", "manager") else "team"  # one team's manager sees its reps; a rep, their own
    teams = query(["revenue", "revenue_target", "target_attainment"], scope, by=[level], start=start, end=today)
    expected = teams.frame.dropna(subset=[level]).set_index(level).sort_index()
    shown = at.dataframe[0].value.set_index(level).sort_index()
    assert list(shown.index) == list(expected.index)
    for column in ("revenue", "revenue_target", "target_attainment"):
        assert shown[column].tolist() == pytest.approx(expected[column].tolist(), rel=1e-12), (user, column)
    bars = chart_data(at, "attainment").set_index(level).sort_index()
    assert bars["target_attainment"].tolist() == pytest.approx(expected["target_attainment"].tolist(), rel=1e-12)
    # The bar colours are named in a legend, in words, and follow the 100% line.
    assert list(bars["color"]) == ["已达成（≥100%）" if v >= 1 else "未达成" for v in bars["target_attainment"]]
    assert any(
        c["color"].get("legend", {}) is not None and c["color"]["field"] == "color"
        for c in _layer_encodings(at, "attainment")
    )
    trend_start = (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
    months = query(["revenue", "revenue_target"], scope, grain="month", start=trend_start, end=today).frame
    trend = chart_data(at, "trend")
    assert trend["period_label"].tolist() == months["period_label"].tolist()
    assert trend["revenue"].tolist() == pytest.approx(months["revenue"].tolist(), rel=1e-12)


KPI_NAMES = (
    "revenue",
    "gross_margin",
    "gross_margin_rate",
    "orders",
    "new_customers",
    "win_rate",
    "deal_cycle_days",
    "target_attainment",
)


@pytest.mark.parametrize("user", ROLE_USERS)
def test_metrics_cli_as_user_gives_the_numbers_the_overview_shows(user, demo_env):
    """`python -m metrics query --as-user NAME` (a separate process) and the page agree for every demo user."""
    cfg = settings()
    start, end = cfg.today.replace(day=1).isoformat(), cfg.today.isoformat()
    proc = run_cli(
        "metrics",
        "query",
        ",".join(KPI_NAMES),
        "--from",
        start,
        "--to",
        end,
        "--as-user",
        user,
        "--format",
        "json",
        env={"COCKPIT_CONFIG": os.environ["COCKPIT_CONFIG"], "COCKPIT_DATA_DIR": os.environ["COCKPIT_DATA_DIR"]},
    )
    out = json.loads(proc.stdout)
    assert out["scope"] == load_users(cfg).get(user).scope.label
    formats = {c["name"]: c["format"] for c in out["columns"]}
    at = _app(user).run()
    shown = {m.label: m.value for m in at.metric}
    catalog = load_catalog()
    for name in KPI_NAMES:
        label = catalog.metric(name).label.zh
        assert shown[label] == format_value(out["rows"][0][name], formats[name], lang="zh"), (user, name)
    level = "rep" if user in ("rep", "manager") else "team"
    proc = run_cli(
        "metrics",
        "query",
        "revenue,target_attainment",
        "--by",
        level,
        "--from",
        start,
        "--to",
        end,
        "--as-user",
        user,
        "--format",
        "json",
        env={"COCKPIT_CONFIG": os.environ["COCKPIT_CONFIG"], "COCKPIT_DATA_DIR": os.environ["COCKPIT_DATA_DIR"]},
    )
    cli_teams = {r[level]: r["revenue"] for r in json.loads(proc.stdout)["rows"] if r[level] is not None}
    page_teams = dict(zip(at.dataframe[0].value[level], at.dataframe[0].value["revenue"], strict=True))
    assert page_teams == pytest.approx(cli_teams, rel=1e-12)


def test_cached_numbers_are_never_served_to_another_scope(demo_env):
    """Streamlit's data cache is shared by every user: a result must be keyed by the whole scope.

    A region and a team spelled alike are different scopes; so are a user's union and one of its parts.
    """
    from cockpit_ui.data import metric_answer
    from metrics.scope import Scope

    cfg = settings()
    snapshot = current_snapshot(cfg.data_dir)
    day = {"start": cfg.today.replace(day=1), "end": cfg.today}
    region = metric_answer(("revenue",), Scope.of(regions=["华东"]), snapshot, **day).frame.iloc[0]["revenue"]
    team = metric_answer(("revenue",), Scope.of(teams=["华东"]), snapshot, **day).frame.iloc[0]["revenue"]
    both = metric_answer(("revenue",), Scope.of(regions=["华东"], reps=["S011"]), snapshot, **day)
    assert region > 0 and team == 0  # no team is called 华东
    assert region == query(["revenue"], Scope.of(regions=["华东"]), **day).total("revenue")
    assert both.frame.iloc[0]["revenue"] == query(["revenue"], Scope.of(regions=["华东"], reps=["S011"]), **day).total(
        "revenue"
    )
    assert both.frame.iloc[0]["revenue"] > region  # S011 works outside 华东
    everyone = metric_answer(("revenue",), Scope.all(), snapshot, **day).frame.iloc[0]["revenue"]
    assert everyone == query(["revenue"], Scope.all(), **day).total("revenue") > both.frame.iloc[0]["revenue"]


def test_overview_ytd_compares_with_the_same_span_last_year_not_the_period_before(demo_env):
    """The YTD cards said 较上期 and compared with the days just before 1 January; a to-date period is 同比."""
    cfg = settings()
    today = cfg.today
    start = dt.date(today.year, 1, 1)
    at = _app("director").run()
    at.button_group(key="period").set_value("ytd").run()
    assert not at.exception
    assert at.caption[1].value.endswith("较去年同期")
    answer = query(
        ["revenue", "gross_margin_rate"],
        load_users(cfg).get("director").scope,
        start=start,
        end=today,
        compare=("last_year",),
    ).frame.iloc[0]
    # Worked from the two spans' own totals: revenue in percent of last year's, margin rate in points.
    revenue_change = answer["revenue"] / answer["revenue__last_year"] - 1
    points = answer["gross_margin_rate"] - answer["gross_margin_rate__last_year"]
    deltas = {m.label: m.delta for m in at.metric}
    assert deltas["销售额"] == format_delta_pct(revenue_change)
    assert deltas["毛利率"] == format_change(points, "percent")
    assert at.caption[1].value.startswith(start.isoformat())


def test_rep_sees_own_attainment_under_own_name_not_labelled_as_the_team(demo_env):
    """The rep's overview once showed the rep's own revenue and target in a row named 华东一组."""
    cfg = settings()
    rep = load_users(cfg).get("rep")
    own = query(["revenue", "revenue_target"], rep.scope, by=["rep"], start=cfg.today.replace(day=1), end=cfg.today)
    rows = own.frame.dropna(subset=["rep"])
    assert len(rows) == 1
    at = _app("rep").run()
    assert not at.exception
    assert "我的目标达成" in [s.value for s in at.subheader]
    assert "各团队目标达成" not in [s.value for s in at.subheader]
    table = at.dataframe[0].value
    assert list(table.columns[:1]) == ["rep"] and table["rep"].tolist() == rows["rep"].tolist()
    assert "华东一组" not in table.to_string()
    assert table["revenue_target"].tolist() == pytest.approx(rows["revenue_target"].tolist())


def test_definitions_page_shows_a_chosen_metrics_whole_definition(demo_env):
    """The 口径 column cut long definitions off; choosing a row shows the whole text."""
    catalog = load_catalog()
    at = _app("analyst").run()
    at.switch_page("pages/definitions.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert sorted(table["metric"]) == sorted(catalog.metrics)
    longest = max(catalog.metrics.values(), key=lambda m: len(m.description.zh))
    row = table["metric"].tolist().index(longest.name)
    at.session_state["definitions_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    whole = longest.description.zh
    assert len(whole) > 60 and whole in [x.value for x in at.text]


def test_overview_names_the_stale_export_day_of_the_demo_ground_truth(demo_env, demo_data_dir):
    """The ERP export's missing day (ground truth `erp-stale-day`) was nowhere on the page or on data health."""
    truth = json.loads((demo_data_dir / "demo-exports" / "ground_truth.json").read_text(encoding="utf-8"))
    stale = next(a for a in truth["anomalies"] if a["kind"] == "stale_source")
    expected = f"{stale['source']} {stale['start']}"
    at = _app("director").run()
    assert not at.exception
    warnings = [w.value for w in at.warning if "没有任何记录" in w.value]
    assert len(warnings) == 1
    # Exactly that day: the other anomalies are real business moves, not missing data.
    listed = warnings[0].replace("\\", "").split(": ", 1)[1].split("; ")
    assert listed == [expected]
    at.button_group(key="period").set_value("last_month").run()  # October: that day is not in view
    assert not [w for w in at.warning if "没有任何记录" in w.value]
    at.switch_page("pages/data_health.py").run()
    assert any(stale["start"] in w.value and stale["source"] in w.value.replace("\\", "") for w in at.warning)


def test_team_manager_sees_the_reps_of_the_team_not_one_team_row(demo_env):
    """A team manager's overview showed 各团队目标达成 with a single row, their own team."""
    cfg = settings()
    manager = load_users(cfg).get("manager")
    reps = query(["revenue"], manager.scope, by=["rep"], start=cfg.today.replace(day=1), end=cfg.today).frame
    at = _app("manager").run()
    assert not at.exception
    assert "各业务员目标达成" in [s.value for s in at.subheader]
    table = at.dataframe[0].value
    assert sorted(table["rep"]) == sorted(reps["rep"].dropna()) and len(table) > 1
    assert sum(table["revenue"]) == pytest.approx(
        query(["revenue"], manager.scope, start=cfg.today.replace(day=1), end=cfg.today).total("revenue")
    )
    sidebar = [c.value for c in at.sidebar.caption]
    assert any("团队 华东一组" in c for c in sidebar)  # the scope in words, not teams=华东一组


@pytest.mark.parametrize("members", [1, 7, 20])
def test_attainment_chart_leaves_every_member_a_labelled_bar(members):
    """The chart's height once counted bars only, while Streamlit fits legend and axes inside it too: 7 teams
    got 16 px bars and Vega dropped 3 of the 7 team names."""
    from cockpit_ui.charts import attainment_bars

    frame = pd.DataFrame(
        {
            "team": [f"团队{i}" for i in range(members)],
            "revenue": [1.0] * members,
            "revenue_target": [2.0] * members,
            "target_attainment": [0.5] * members,
        }
    )
    spec = attainment_bars(
        frame,
        dim="team",
        dim_title="团队",
        value_title="达成率",
        revenue_title="销售额",
        target_title="目标",
        ahead_title="已达成",
        behind_title="未达成",
        lang="zh",
        currency="CNY",
    ).to_dict()
    chrome = 125  # legend on top, x axis and its title (measured in Chromium, desktop and phone widths)
    assert (spec["height"] - chrome) / members >= 24
