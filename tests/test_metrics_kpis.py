"""Every KPI of issue 5 on the fixture company, against values worked out by hand from its CSV files.

Q1 2026 sale lines (reporting currency CNY; USD at the rate of the line's day or the last one before):
  O03 5000 + 2000 (C1, S1) · O04 1000 (C3, S2) · O05 500 USD × 7.1 = 3550 (C2, S2, 02-03 rate)
  O12 200 USD × 7.1 = 1420 (02-08 is a Sunday: the 02-03 rate) · O06 1200 (C4, S3)
  O09 2000 (UTC 02-28 16:30 = 03-01 00:30 local) · O10 800 (C2, S1) · O11 400 (C2, S2)
  R01 −1000 returns one unit of L04 (C1, S1) · O07 6000 is cancelled.
"""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.compiler import QueryError
from metrics.query import query
from metrics.scope import Scope
from tests.metrics_company import Q1, synced_company, with_business

D = dt.date


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    cfg, _ = synced_company(tmp_path_factory.mktemp("company"))
    return cfg


@pytest.fixture(scope="module")
def won_deal_company(tmp_path_factory):
    cfg, _ = synced_company(tmp_path_factory.mktemp("won-deal"), {"new_customer_rule": "first_won_deal"})
    return cfg


def one(cfg, names, **kw):
    return query(names, Scope.all(), settings=cfg, **kw).records()[0]


def test_revenue_net_and_gross_margin_orders_units_aov(company):
    row = one(
        company,
        [
            "revenue",
            "gross_revenue",
            "gross_margin",
            "gross_margin_rate",
            "orders",
            "average_order_value",
            "unit_sales",
        ],
        **Q1,
    )
    # 7000 + 1000 + 3550 + 1420 + 1200 − 1000 + 2000 + 800 + 400
    assert row["revenue"] == pytest.approx(16370)
    assert row["gross_revenue"] == pytest.approx(17370)  # the same without the return
    # cost 5500 + 600 + 400×7.1 + 150×7.1 + 800 − 750 + 1500 + 500 + 300 = 12355
    assert row["gross_margin"] == pytest.approx(16370 - 12355)
    assert row["gross_margin_rate"] == pytest.approx(4015 / 16370)
    assert row["orders"] == 8  # O03 O04 O05 O12 O06 O09 O10 O11 (no return, no cancelled order)
    assert row["average_order_value"] == pytest.approx(16370 / 8)
    assert row["unit_sales"] == 9  # 3 + 1 + 1 + 1 + 1 − 1 + 1 + 1 + 1


def test_returns_rate_is_returned_value_over_gross_revenue(company):
    assert one(company, ["returns_rate"], **Q1)["returns_rate"] == pytest.approx(1000 / 17370)


def test_revenue_by_month_and_year_to_date(company):
    rows = query(["revenue", "revenue_ytd"], Scope.all(), grain="month", settings=company, **Q1).records()
    assert [(r["period_label"], r["revenue"], r["revenue_ytd"]) for r in rows] == [
        ("2026-01", pytest.approx(8000), pytest.approx(8000)),
        ("2026-02", pytest.approx(5170), pytest.approx(13170)),  # 3550 + 1420 + 1200 − 1000
        ("2026-03", pytest.approx(3200), pytest.approx(16370)),
    ]
    # Asked from February, year to date still starts on January 1st; 2025 is not carried into 2026.
    rows = query(
        ["revenue_ytd"], Scope.all(), grain="month", start=D(2025, 12, 1), end=D(2026, 2, 28), settings=company
    )
    assert [(r["period_label"], r["revenue_ytd"]) for r in rows.records()] == [
        ("2025-12", pytest.approx(13000)),  # O01 10000 + O02 3000; the USD line of 12-31 has no rate
        ("2026-01", pytest.approx(8000)),
        ("2026-02", pytest.approx(13170)),
    ]
    # Without a grain: the fiscal year to date at the end of the range.
    assert one(company, ["revenue_ytd"], start=D(2026, 2, 1), end=D(2026, 2, 28))["revenue_ytd"] == pytest.approx(13170)


def test_year_to_date_restarts_at_the_fiscal_year_start(company):
    february = with_business(company, fiscal_year_start=2)
    rows = query(["revenue_ytd"], Scope.all(), grain="month", settings=february, **Q1).records()
    assert [(r["period_label"], r["revenue_ytd"]) for r in rows] == [
        ("2026-01", pytest.approx(3000 + 8000)),  # the fiscal year began 2025-02-01: O02 counts
        ("2026-02", pytest.approx(5170)),  # a new fiscal year
        ("2026-03", pytest.approx(5170 + 3200)),
    ]


def test_deals_created_won_lost_win_rate_and_cycle(company):
    row = one(
        company,
        ["opportunities_created", "won_deals", "lost_deals", "win_rate", "won_amount", "deal_cycle_days"],
        **Q1,
    )
    assert row["opportunities_created"] == 6  # D1 D2 D3 D4 D6 D7 by created date; D5 was created in 2025
    assert (row["won_deals"], row["lost_deals"]) == (3, 2)  # D1 D5 D6 won, D2 D7 lost, by close date
    assert row["win_rate"] == pytest.approx(3 / 5)
    assert row["won_amount"] == pytest.approx(50000 + 40000 + 8000)
    # first recorded stage → close: D1 01-02→02-10 = 39, D5 2025-11-01→01-15 = 75, D6 02-01→03-10 = 37
    assert row["deal_cycle_days"] == pytest.approx((39 + 75 + 37) / 3)


def test_stage_durations_from_the_stage_history(company):
    rows = query(["stage_duration_days"], Scope.all(), by=["stage"], settings=company, **Q1).records()
    by_stage = {r["stage"]: r["stage_duration_days"] for r in rows}
    # 线索: D1 3, D2 5, D3 2.5 (09:00 → 21:00 two days later), D6 1 · 方案: D1 15.5, D2 41, D6 18
    # 谈判: D1 20.5, D5 45 (left 01-15), D6 18 — D5's 线索 stay ended in 2025 and is outside the range.
    assert by_stage == {
        "线索": pytest.approx(11.5 / 4),
        "方案": pytest.approx(74.5 / 3),
        "谈判": pytest.approx(83.5 / 3),
    }


def test_pipeline_value_by_current_stage_is_a_level_of_now(company):
    rows = query(["pipeline_value", "open_deals"], Scope.all(), by=["stage"], settings=company).records()
    assert {r["stage"]: (r["pipeline_value"], r["open_deals"]) for r in rows} == {
        "方案": (30000, 1),
        "线索": (10000, 1),
    }
    # The range does not apply to a level as of the data, and it has no periods.
    assert one(company, ["pipeline_value"], start=D(2020, 1, 1), end=D(2020, 1, 31))["pipeline_value"] == 40000
    with pytest.raises(QueryError, match="snapshot"):
        query(["pipeline_value"], Scope.all(), grain="month", settings=company)


def test_funnel_counts_a_deal_at_every_stage_it_passed(company):
    rows = query(["funnel_deals"], Scope.all(), by=["stage"], settings=company, **Q1).records()
    # Q1 cohort D1 D2 D3 D4 D6 D7. D7 was lost without history: it counts up to the stage before 赢单.
    assert {r["stage"]: r["funnel_deals"] for r in rows} == {"线索": 6, "方案": 5, "谈判": 3, "赢单": 2}


def test_stage_conversion_per_deal_with_parameters_and_window(company):
    assert one(company, ["stage_conversion"], **Q1)["stage_conversion"] == pytest.approx(2 / 6)  # D1, D6 won
    # 方案 in Q1: D1 D2 D3 D6 D7 (D5 reached 方案 in 2025); on to 谈判: D1 D6 D7.
    row = one(company, ["stage_conversion"], params={"from_stage": "方案", "to_stage": "谈判"}, **Q1)
    assert row["stage_conversion"] == pytest.approx(3 / 5)
    # Within 38 days of the first stage: D6 (02-01 → 03-10, 37 days) yes, D1 (01-02 → 02-10, 39 days) no.
    assert one(company, ["stage_conversion"], params={"window_days": "38"}, **Q1)["stage_conversion"] == pytest.approx(
        1 / 6
    )
    result = query(["stage_conversion"], Scope.all(), settings=company, params={"to_stage": "WON"}, **Q1)
    assert result.params == {"from_stage": "线索", "to_stage": "赢单", "window_days": None}
    with pytest.raises(QueryError, match="unknown stage 'closing'; stages: 线索, 方案, 谈判, 赢单"):
        query(["stage_conversion"], Scope.all(), settings=company, params={"to_stage": "closing"})


def test_new_customers_first_order_rule(company):
    rows = query(["new_customers"], Scope.all(), grain="month", settings=company, **Q1).records()
    # C3's first sale is O04 (01-20), C4's O06 (02-10); C1 and C2 first bought in 2025.
    assert [(r["period_label"], r["new_customers"]) for r in rows] == [("2026-01", 1), ("2026-02", 1)]


def test_new_customers_first_won_deal_rule_is_honoured(won_deal_company):
    rows = query(["new_customers"], Scope.all(), grain="month", settings=won_deal_company, **Q1).records()
    # First won deal by close date: C2 → D5 (01-15), C1 → D1 (02-10); D6 is C2's second win.
    assert [(r["period_label"], r["new_customers"]) for r in rows] == [("2026-01", 1), ("2026-02", 1)]
    rows = query(["new_customers"], Scope.all(), by=["rep"], settings=won_deal_company, **Q1).records()
    assert {r["rep_id"]: r["new_customers"] for r in rows} == {"S1": 1, "S2": 1}


def test_repeat_rate_on_the_person_id(company):
    # Persons with sale orders in Q1: M1 (C1: O03, C4: O06) 2 orders, M2 (C2) 5, M3 (C3) 1 → 2 of 3.
    assert one(company, ["repeat_rate"], **Q1)["repeat_rate"] == pytest.approx(2 / 3)


def test_target_attainment_and_pace_on_chinese_working_days(company):
    row = one(company, ["revenue", "target_attainment"], **Q1)
    assert row["target_attainment"] == pytest.approx(16370 / (15000 + 15000 + 18000))
    # February 2026 has 16 Chinese working days (Spring Festival 02-15..23 off, Saturdays 02-14 and 02-28
    # worked); 02-01..02-10 holds 7 of them. Revenue in those days: 3550 + 1420 + 1200.
    feb = {"start": D(2026, 2, 1), "end": D(2026, 2, 10)}
    row = one(company, ["revenue"], compare=("target_pace",), **feb)
    assert row["revenue__target_pace"] == pytest.approx(15000 * 7 / 16)
    assert row["revenue__delta_target_pace"] == pytest.approx(6170 - 15000 * 7 / 16)
    plain = with_business(company, holidays="none")  # Monday to Friday: 20 days in February, 7 by the 10th
    assert one(plain, ["revenue"], compare=("target_pace",), **feb)["revenue__target_pace"] == pytest.approx(5250)
    rows = query(["revenue"], Scope.all(), by=["team"], compare=("target_pace",), settings=company, **feb).records()
    assert {r["team"]: r["revenue__target_pace"] for r in rows} == {
        "华东一组": pytest.approx(10000 * 7 / 16),
        "华北一组": pytest.approx(5000 * 7 / 16),
    }
    with pytest.raises(QueryError, match="target_pace: dimension 'channel' is not allowed for revenue_target"):
        query(["revenue"], Scope.all(), by=["channel"], compare=("target_pace",), settings=company, **feb)


def test_monthly_target_split_into_weeks_is_refused_not_put_in_the_first_week(company):
    """A weekly target_attainment once showed each month's whole target in the week of the 1st (and none after)."""
    months = query(["revenue_target"], Scope.all(), grain="month", settings=company, **Q1).records()
    assert [r["revenue_target"] for r in months] == pytest.approx([15000, 15000, 18000])
    for name, via in (("revenue_target", ""), ("target_attainment", r" \(through revenue_target\)")):
        for grain in ("week", "day"):
            with pytest.raises(QueryError, match=f"{name}{via} is set per month: ask for --grain month or coarser"):
                query([name], Scope.all(), grain=grain, settings=company, **Q1)
    quarter = query(["target_attainment"], Scope.all(), grain="quarter", settings=company, **Q1).records()
    assert quarter[0]["target_attainment"] == pytest.approx(16370 / 48000)


def test_month_and_year_to_date_against_last_year(company):
    row = one(company, ["revenue"], end=D(2026, 2, 28), compare=("mtd_last_year", "ytd_last_year"))
    assert row["revenue__mtd"] == pytest.approx(5170)
    assert row["revenue__mtd_last_year"] == pytest.approx(3000)  # O02, February 2025
    assert row["revenue__delta_pct_mtd_last_year"] == pytest.approx(2170 / 3000)
    assert row["revenue__ytd"] == pytest.approx(13170)
    assert row["revenue__ytd_last_year"] == pytest.approx(13000)
    assert row["revenue__delta_ytd_last_year"] == pytest.approx(170)
    with pytest.raises(QueryError, match="without --grain"):
        query(["revenue"], Scope.all(), grain="month", compare=("ytd_last_year",), settings=company)


def test_scope_of_a_team_sees_its_own_rows(company):
    east = query(["revenue"], Scope.of(teams=["华东一组"]), settings=company, **Q1).total("revenue")
    north = query(["revenue"], Scope.of(regions=["华北"]), settings=company, **Q1).total("revenue")
    assert east == pytest.approx(7000 - 1000 + 1200 + 800)  # S1 and S3
    assert north == pytest.approx(1000 + 3550 + 1420 + 2000 + 400)  # S2
