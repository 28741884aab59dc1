"""Every page through Streamlit's AppTest: signed out (no data, ever) and signed in per role (scoped numbers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from auth.roles import PAGES, pages_for
from auth.users import load_users
from core.config import settings
from metrics.formatting import format_value
from metrics.query import query
from metrics.spec import load_catalog

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


def test_login_form_signs_in_and_shows_the_overview(demo_env):
    at = _app().run()
    at.text_input[0].input("director")
    at.text_input[1].input("demo-director")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["authentication_status"] is True
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
