"""Row scope as properties, over random users and random filters on the demo snapshot (hypothesis):

- a scoped total never exceeds the company total (for measures that cannot be negative);
- sibling scopes are disjoint: the totals of single regions, teams or reps add up to the total of their union;
- every rep's scope plus the `unassigned` rows (no rep) add up to the company.

Users are random users-file entries (role and scope lists drawn from the demo's regions, teams and reps) read
through the real users-file parser; filters are random periods and `where` values. Queries go through
`metrics.query.query`, the API every page, export and CLI call uses.
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth.roles import ROLES
from auth.users import parse_users
from core.config import settings as cockpit_settings
from core.warehouse import current_snapshot
from metrics.query import query
from metrics.scope import Scope

FIRST, LAST = dt.date(2024, 1, 1), dt.date(2026, 11, 30)
NON_NEGATIVE = ("gross_revenue", "won_amount", "revenue_target")
ADDITIVE = ("revenue", "gross_revenue", "won_amount", "revenue_target")
CHANNELS = ("直销", "经销商", "电商", "电话销售")
PROPERTY = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def members(demo_data_dir) -> dict[str, list[str]]:
    """The demo's regions, teams and rep ids, read straight from the snapshot."""
    cur = current_snapshot(demo_data_dir).cursor()
    try:
        out = {}
        for key, column in (("regions", "region"), ("teams", "team"), ("reps", "rep_id")):
            rows = cur.execute(f"SELECT DISTINCT {column} FROM orders WHERE {column} IS NOT NULL ORDER BY 1").fetchall()
            out[key] = [r[0] for r in rows]
        return out
    finally:
        cur.close()


@pytest.fixture
def demo(demo_env, members):
    cfg = cockpit_settings()
    return cfg, current_snapshot(cfg.data_dir), members


@st.composite
def periods(draw) -> tuple[dt.date, dt.date]:
    start = FIRST + dt.timedelta(days=draw(st.integers(0, (LAST - FIRST).days)))
    end = min(LAST, start + dt.timedelta(days=draw(st.integers(0, 400))))
    return start, end


@st.composite
def filters(draw, regions: list[str]) -> dict[str, list[str]]:
    where = {}
    if draw(st.booleans()):
        where["region"] = draw(st.lists(st.sampled_from(regions), min_size=1, max_size=3, unique=True))
    return where


@st.composite
def users_file_entries(draw, members: dict[str, list[str]]) -> dict:
    """One random users-file entry: a role, and either `all` or random lists of regions, teams and reps."""
    role = draw(st.sampled_from(ROLES))
    entry: dict = {"email": "someone@huaxin.example", "roles": [role]}
    if role == "rep":
        entry["rep_id"] = draw(st.sampled_from(members["reps"]))
    if draw(st.integers(0, 4)) == 0:
        entry["scope"] = "all"
    else:
        scope = {}
        for key in ("regions", "teams", "reps"):
            if draw(st.booleans()):
                scope[key] = draw(st.lists(st.sampled_from(members[key]), min_size=1, max_size=4, unique=True))
        entry["scope"] = scope or {"reps": [draw(st.sampled_from(members["reps"]))]}
    return entry


def _scope_of(entry: dict, tmp_path) -> Scope:
    path = tmp_path / "users.yml"
    path.write_text(yaml.safe_dump({"users": {"someone": entry}}, allow_unicode=True), encoding="utf-8")
    return parse_users(path).get("someone").scope


def _totals(cfg, snapshot, metrics, scope: Scope, period, where) -> dict[str, float]:  # noqa: ANN001
    result = query(list(metrics), scope, start=period[0], end=period[1], where=where, settings=cfg, snapshot=snapshot)
    return {m: result.total(m) or 0.0 for m in metrics}


@settings(max_examples=25, **PROPERTY)
@given(data=st.data())
def test_a_scoped_total_never_exceeds_the_company_total(demo, tmp_path, data):
    cfg, snapshot, members = demo
    scope = _scope_of(data.draw(users_file_entries(members)), tmp_path)
    period, where = data.draw(periods()), data.draw(filters(members["regions"]))
    mine = _totals(cfg, snapshot, NON_NEGATIVE, scope, period, where)
    company = _totals(cfg, snapshot, NON_NEGATIVE, Scope.all(), period, where)
    for metric in NON_NEGATIVE:
        assert 0 <= mine[metric] <= company[metric] + 1e-6, (metric, scope, period, where)
    if scope.everything:
        assert mine == company


@settings(max_examples=15, **PROPERTY)
@given(data=st.data())
def test_sibling_scopes_are_disjoint(demo, data):
    cfg, snapshot, members = demo
    level = data.draw(st.sampled_from(("regions", "teams", "reps")))
    siblings = data.draw(st.lists(st.sampled_from(members[level]), min_size=2, max_size=4, unique=True))
    period, where = data.draw(periods()), data.draw(filters(members["regions"]))
    union = _totals(cfg, snapshot, ADDITIVE, Scope.of(**{level: siblings}), period, where)
    parts = [_totals(cfg, snapshot, ADDITIVE, Scope.of(**{level: [one]}), period, where) for one in siblings]
    for metric in ADDITIVE:
        assert sum(p[metric] for p in parts) == pytest.approx(union[metric], rel=1e-9, abs=1e-6), (metric, siblings)


@settings(max_examples=4, **PROPERTY)
@given(data=st.data())
def test_all_reps_plus_unassigned_add_up_to_the_company(demo, data):
    cfg, snapshot, members = demo
    period = data.draw(periods())
    channels = data.draw(st.lists(st.sampled_from(CHANNELS), max_size=2, unique=True))
    where = {"channel": channels} if channels else {}
    metrics = ("revenue", "gross_revenue", "won_amount")
    company = _totals(cfg, snapshot, metrics, Scope.all(), period, where)
    by_rep = query(list(metrics), Scope.all(), by=["rep"], start=period[0], end=period[1], where=where).frame
    unassigned = by_rep[by_rep["rep_id"].isna()]
    reps = [_totals(cfg, snapshot, metrics, Scope.of(reps=[r]), period, where) for r in members["reps"]]
    for metric in metrics:
        rest = float(unassigned[metric].sum()) if not unassigned.empty else 0.0
        total = sum(r[metric] for r in reps) + rest
        assert total == pytest.approx(company[metric], rel=1e-9, abs=1e-6), (metric, period, where)
