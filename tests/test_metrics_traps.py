"""Regression tests for the traps of DESIGN §11 on the metric side, each on the fixture company by hand.

Time zone day boundary, week start, fiscal year, zero denominators, duplicate dimension keys, currencies,
snapshot counters, the person id of repeat rate and the monotonic funnel.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import pytest

from core.warehouse import Snapshot, current_snapshot
from metrics.query import query
from metrics.scope import Scope
from tests.conftest import run_cli
from tests.metrics_company import Q1, synced_company, with_business

D = dt.date


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    return synced_company(tmp_path_factory.mktemp("traps"))


@pytest.fixture(scope="module")
def company(synced):
    return synced[0]


def _by(cfg, name, **kw):
    rows = query([name], Scope.all(), settings=cfg, **kw).records()
    key = "period_label" if kw.get("grain") else kw["by"][0]
    return {r[key]: r[name] for r in rows}


def test_order_at_half_past_midnight_local_time_belongs_to_that_local_day(company):
    # O09 is 2026-02-28 16:30 in a UTC export = 03-01 00:30 in Shanghai; O10 03-01 15:59 UTC = 23:59 local;
    # O11 is 00:30 on 03-02 in a Shanghai export.
    days = _by(company, "revenue", grain="day", start=D(2026, 2, 28), end=D(2026, 3, 2))
    assert days == {"2026-03-01": pytest.approx(2000 + 800), "2026-03-02": pytest.approx(400)}
    cur = current_snapshot(company.data_dir).cursor()
    try:
        stored = cur.execute("SELECT order_date, order_day FROM orders WHERE order_id = 'O09'").fetchone()
    finally:
        cur.close()
    assert stored == (dt.datetime(2026, 3, 1, 0, 30), D(2026, 3, 1))


def test_weeks_start_on_monday_unless_the_business_says_otherwise(company):
    span = {"start": D(2026, 2, 23), "end": D(2026, 3, 8)}
    # Sunday 03-01 closes the Monday week of 02-23; Monday 03-02 opens the next.
    assert _by(company, "revenue", grain="week", **span) == {"2026-W09": pytest.approx(2800), "2026-W10": 400}
    sunday = with_business(company, week_start="sunday")
    rows = query(["revenue"], Scope.all(), grain="week", settings=sunday, **span).records()
    assert [(r["period"], r["revenue"]) for r in rows] == [("2026-03-01", pytest.approx(3200))]


def test_fiscal_quarters_and_years_of_an_april_year_carry_their_labels(company):
    april = with_business(company, fiscal_year_start=4)
    span = {"start": D(2025, 1, 1), "end": D(2026, 3, 31)}
    # Jan–Mar 2025 closes the year that began 2024-04 (FY2025); Jan–Mar 2026 closes FY2026. The only
    # line of Oct–Dec 2025 is in USD before any rate, so that quarter is there with 0.
    assert _by(april, "revenue", grain="fiscal_quarter", **span) == {
        "FY2025 Q4": pytest.approx(13000),
        "FY2026 Q3": 0,
        "FY2026 Q4": pytest.approx(16370),
    }
    assert _by(april, "revenue", grain="fiscal_year", **span) == {"FY2025": 13000, "FY2026": pytest.approx(16370)}
    start_label = with_business(company, fiscal_year_start=4, fiscal_year_label="start")
    assert set(_by(start_label, "revenue", grain="fiscal_year", **span)) == {"FY2024", "FY2025"}


def test_zero_denominators_give_no_value_never_inf_nan_or_zero(company, synced):
    names = [
        "average_order_value",
        "win_rate",
        "gross_margin_rate",
        "returns_rate",
        "repeat_rate",
        "target_attainment",
        "stage_conversion",
    ]
    row = query(names, Scope.all(), start=D(2025, 6, 1), end=D(2025, 6, 30), settings=company).records()[0]
    assert row == dict.fromkeys(names)
    env = {"COCKPIT_CONFIG": str(company.config_path), "COCKPIT_DATA_DIR": str(company.data_dir)}
    out = run_cli(
        "metrics", "query", ",".join(names), "--from", "2025-06-01", "--to", "2025-06-30", "--format", "json", env=env
    )
    assert "NaN" not in out.stdout and "Infinity" not in out.stdout
    assert json.loads(out.stdout)["rows"] == [dict.fromkeys(names)]


def test_duplicate_customer_keys_never_multiply_revenue(company, synced, tmp_path):
    _, report = synced
    customers = next(s for s in report["sources"] if s["name"] == "customers")
    assert {"kind": "superseded", "detail": "rows replaced by a later row with the same customer_id", "count": 1} in (
        customers["issues"]
    )
    by_industry = _by(company, "revenue", by=["industry"], **Q1)
    assert by_industry == {"制造业": 6000, "金融": pytest.approx(8170), "教育": 1000, None: 1200}  # C3: later row
    # A snapshot whose customer table repeats C2 (as a raw dimension export could): the declared join keeps one
    # row per key by its stated rule (greatest created date), so C2's revenue is neither doubled nor moved.
    live = current_snapshot(company.data_dir)
    copy = tmp_path / "dup.duckdb"
    shutil.copy(live.path, copy)
    con = duckdb.connect(str(copy))
    con.execute(
        "INSERT INTO customers SELECT customer_id, customer, person_id, segment, '零售', country, province, city, "
        "region, owner, channel, DATE '2023-01-01' FROM customers WHERE customer_id = 'C2'"
    )
    assert con.execute("SELECT count(*) FROM customers WHERE customer_id = 'C2'").fetchone() == (2,)
    con.close()
    dup = Snapshot("dup", copy, live.published_at)
    rows = query(["revenue"], Scope.all(), by=["industry"], snapshot=dup, settings=company, **Q1).records()
    assert {r["industry"]: r["revenue"] for r in rows} == by_industry
    total = query(["revenue"], Scope.all(), snapshot=dup, settings=company, **Q1).total("revenue")
    assert sum(by_industry.values()) == pytest.approx(total) == pytest.approx(16370)


def test_currencies_are_converted_at_the_rate_of_their_day_never_summed_raw(company, synced):
    days = _by(company, "revenue", grain="day", start=D(2026, 2, 3), end=D(2026, 2, 8))
    # 500 USD on 02-03 at that day's 7.1 (not 02-02's 7.0); 200 USD on Sunday 02-08 at the last rate, 7.1.
    assert days == {"2026-02-03": pytest.approx(3550), "2026-02-08": pytest.approx(1420)}
    # 100 USD on 2025-12-31 precede every rate: left out of every total and reported, never added as 100.
    assert _by(company, "revenue", grain="month", start=D(2025, 12, 1), end=D(2025, 12, 31)) == {"2025-12": 0}
    orders = next(s for s in synced[1]["sources"] if s["name"] == "orders")
    assert [i["count"] for i in orders["issues"] if i["kind"] == "fx_missing"] == [1]


def test_stock_levels_are_read_on_the_last_day_never_summed_over_days(company):
    # January: 01-31 holds 8 + 4 (01-30's 10 + 5 is not added); February: 02-28 holds 7 + 3.
    assert _by(company, "stock_on_hand", grain="month", start=D(2026, 1, 1), end=D(2026, 2, 28)) == {
        "2026-01": 12,
        "2026-02": 10,
    }
    total = query(["stock_on_hand"], Scope.all(), start=D(2026, 1, 1), end=D(2026, 2, 28), settings=company)
    assert total.total("stock_on_hand") == 10  # the level on the range's last day, not 52
    # Stock has no owner: a restricted scope sees none of it (CONTRACTS.md `unassigned`).
    assert query(["stock_on_hand"], Scope.of(regions=["华东"]), settings=company).total("stock_on_hand") == 0


def test_repeat_rate_counts_persons_not_per_order_customer_ids(company):
    # C1 and C4 are two customer ids of one person M1, one order each in Q1: by customer id neither repeats
    # (only C2 does: 1 of 4); by person M1 and M2 repeat: 2 of 3.
    row = query(["repeat_rate"], Scope.all(), settings=company, **Q1).records()[0]
    assert row["repeat_rate"] == pytest.approx(2 / 3)


def test_funnel_is_monotonic_along_the_stage_order(company):
    order = list(company.stages.order)
    for span in (Q1, {"start": D(2025, 11, 1), "end": D(2026, 3, 31)}):
        counts = _by(company, "funnel_deals", by=["stage"], **span)
        values = [counts.get(stage, 0) for stage in order]
        assert values == sorted(values, reverse=True), (span, values)
        rates = [
            query(["stage_conversion"], Scope.all(), params={"to_stage": s}, settings=company, **span).total(
                "stage_conversion"
            )
            for s in order
        ]
        assert rates[0] == 1 and rates == sorted(rates, reverse=True), (span, rates)


def test_snapshot_levels_have_no_previous_value(company):
    row = query(["pipeline_value"], Scope.all(), compare=("previous",), settings=company, **Q1).records()[0]
    assert row["pipeline_value"] == 40000
    assert row["pipeline_value__previous"] is None and row["pipeline_value__delta"] is None
