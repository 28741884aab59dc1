"""Metric values on real public datasets, against their SOURCE.md totals and values worked out from the raw files.

The expected values are computed here straight from the raw CSV files with the `csv` module (independently of
the pipeline): Superstore revenue, margin and orders by region; Maven win rate by regional office; the Indian
store's revenue by category and fiscal quarter of an April–March year; AdventureWorks sales quotas by fiscal
quarter and year of a July year, checked against DimDate's own fiscal columns.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from core.calendar import BusinessCalendar
from core.config import Settings, load_settings
from metrics.query import query
from metrics.scope import Scope
from tests.conftest import FIXTURES, ROOT, real_dataset, run_cli

pytestmark = pytest.mark.real_data


def _sync(config: Path, data_dir: Path) -> Settings:
    run_cli("sources", "sync", env={"COCKPIT_CONFIG": str(config), "COCKPIT_DATA_DIR": str(data_dir)})
    return load_settings(config).model_copy(update={"data_dir": data_dir})


def _rows(path: Path, **kw) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, **kw))


def _by(cfg: Settings, names: list[str], **kw) -> dict:
    rows = query(names, Scope.all(), settings=cfg, **kw).records()
    key = "period_label" if kw.get("grain") else None
    return {tuple(r[k] for k in [*([key] if key else []), *kw.get("by", [])]): r for r in rows}


def test_superstore_revenue_margin_and_orders_by_region(tmp_path):
    folder = real_dataset("superstore-2016-2019-csv-utf8bom")
    cfg = _sync(ROOT / "examples" / "real" / "superstore-2016-2019-csv-utf8bom.yml", tmp_path / "data")
    sales, profit, orders = defaultdict(float), defaultdict(float), defaultdict(set)
    for row in _rows(folder / "Sample - Superstore.csv"):
        sales[row["Region"]] += float(row["Sales"])
        profit[row["Region"]] += float(row["Profit"])
        orders[row["Region"]].add(row["Order ID"])
    got = _by(cfg, ["revenue", "gross_margin", "orders"], by=["region"])
    assert set(got) == {(r,) for r in sales} == {("Central",), ("East",), ("South",), ("West",)}
    for region in sales:
        assert got[(region,)]["revenue"] == pytest.approx(sales[region], abs=0.005)
        assert got[(region,)]["gross_margin"] == pytest.approx(profit[region], abs=0.005)  # margin = profit
        assert got[(region,)]["orders"] == len(orders[region])
    # SOURCE.md: SUM(Sales) = 2,297,200.86; 5,009 distinct Order IDs.
    total = query(["revenue", "orders"], Scope.all(), settings=cfg).records()[0]
    assert round(total["revenue"], 2) == 2_297_200.86
    assert total["orders"] == 5009 == sum(r["orders"] for r in got.values())


def test_maven_win_rate_by_regional_office(tmp_path):
    folder = real_dataset("maven-crm-sales-opportunities")
    cfg = _sync(ROOT / "examples" / "maven-crm.yml", tmp_path / "data")
    office = {r["sales_agent"]: r["regional_office"] for r in _rows(folder / "sales_teams.csv")}
    won, closed = defaultdict(int), defaultdict(int)
    for row in _rows(folder / "sales_pipeline.csv"):
        if row["deal_stage"] in ("Won", "Lost"):
            closed[office[row["sales_agent"]]] += 1
            won[office[row["sales_agent"]]] += row["deal_stage"] == "Won"
    got = _by(cfg, ["won_deals", "lost_deals", "win_rate"], by=["region"])
    assert {k[0] for k in got} == set(closed) == {"Central", "East", "West"}
    for region in closed:
        assert got[(region,)]["won_deals"] == won[region]
        assert got[(region,)]["lost_deals"] == closed[region] - won[region]
        assert got[(region,)]["win_rate"] == pytest.approx(won[region] / closed[region])
    # SOURCE.md: 4,238 won of 6,711 closed.
    assert sum(won.values()) == 4238 and sum(closed.values()) == 6711


def _fiscal_quarter_label(day: dt.date, start_month: int) -> str:
    """FY and quarter by hand: the fiscal year is named by the calendar year it ends in (CONTRACTS.md)."""
    months_in = (day.month - start_month) % 12
    year = day.year + (1 if day.month >= start_month else 0)
    return f"FY{year} Q{months_in // 3 + 1}"


def test_india_revenue_by_category_and_fiscal_quarter_of_an_april_year(tmp_path):
    folder = real_dataset("ecommerce-india-orders-targets")
    # examples/real/ecommerce-india-orders-targets.yml joins each order line to its order's date on OrderID.
    cfg = _sync(ROOT / "examples" / "real" / "ecommerce-india-orders-targets.yml", tmp_path / "data")
    header = {r["OrderID"]: r for r in _rows(folder / "List of Orders.csv") if r["OrderID"]}
    lines = _rows(folder / "Order Details.csv")
    expected: dict[tuple[str, str], float] = defaultdict(float)
    for line in lines:
        day = dt.datetime.strptime(header[line["OrderID"]]["OrderDate"], "%d-%m-%Y").date()
        expected[(_fiscal_quarter_label(day, 4), line["Category"])] += float(line["Amount"])
    got = _by(cfg, ["revenue"], grain="fiscal_quarter", by=["category"])
    assert {k: r["revenue"] for k, r in got.items()} == {k: pytest.approx(v) for k, v in expected.items()}
    assert {k[0] for k in got} == {"FY2019 Q1", "FY2019 Q2", "FY2019 Q3", "FY2019 Q4"}  # Apr 2018 – Mar 2019
    year = _by(cfg, ["revenue", "orders"], grain="fiscal_year")
    assert list(year) == [("FY2019",)]
    assert year[("FY2019",)]["revenue"] == pytest.approx(431_502)  # SOURCE.md: SUM(Amount) = 431,502
    assert year[("FY2019",)]["orders"] == 500  # SOURCE.md: 500 real orders (60 blank rows are not orders)


def test_adventureworks_quota_by_fiscal_quarter_and_year_of_a_july_year(tmp_path):
    folder = real_dataset("adventureworks-sales-quota")
    names = ["SalesQuotaKey", "EmployeeKey", "DateKey", "CalendarYear", "CalendarQuarter", "Quota", "Period"]
    facts = _rows(folder / "dw_FactSalesQuota.csv", fieldnames=names, delimiter="|")
    day_names = [
        "DateKey", "FullDate", "DayNumberOfWeek", "EnglishDay", "SpanishDay", "FrenchDay", "DayNumberOfMonth",
        "DayNumberOfYear", "WeekNumberOfYear", "EnglishMonth", "SpanishMonth", "FrenchMonth", "MonthNumberOfYear",
        "CalendarQuarter", "CalendarYear", "CalendarSemester", "FiscalQuarter", "FiscalYear", "FiscalSemester",
    ]  # fmt: skip
    dim_date = {r["DateKey"]: r for r in _rows(folder / "dw_DimDate.csv", fieldnames=day_names, delimiter="|")}
    # tests/fixtures/metrics/real/adventureworks-dw-quota.yml names the headerless file's columns.
    cfg = _sync(FIXTURES / "metrics" / "real" / "adventureworks-dw-quota.yml", tmp_path / "data")
    # Expected, from DimDate's own columns: the quota's fiscal quarter is DimDate's FiscalQuarter; its fiscal
    # year follows SOURCE.md ("FiscalYear = CalendarYear + 1 for Jul-Dec", i.e. named by the year it ends in,
    # CONTRACTS.md's `end` label): FiscalQuarter 1-2 → CalendarYear + 1, 3-4 → CalendarYear.
    by_quarter: dict[str, float] = defaultdict(float)
    by_year: dict[str, float] = defaultdict(float)
    for fact in facts:
        day = dim_date[fact["DateKey"]]
        year = int(day["CalendarYear"]) + (1 if day["FiscalQuarter"] in ("1", "2") else 0)
        by_quarter[f"FY{year} Q{day['FiscalQuarter']}"] += float(fact["Quota"])
        by_year[f"FY{year}"] += float(fact["Quota"])
    quarters = _by(cfg, ["revenue_target"], grain="fiscal_quarter")
    assert {k[0]: r["revenue_target"] for k, r in quarters.items()} == {
        k: pytest.approx(v) for k, v in by_quarter.items()
    }
    years = _by(cfg, ["revenue_target"], grain="fiscal_year")
    assert {k[0]: r["revenue_target"] for k, r in years.items()} == {k: pytest.approx(v) for k, v in by_year.items()}
    assert len(facts) == 163  # SOURCE.md: 163 quota rows
    assert by_year["FY2011"] == pytest.approx(3_886_000 + 5_627_000)  # 2010-12-29 and 2011-03-31 quotas


def test_adventureworks_dimdate_fiscal_columns_against_the_business_calendar():
    """Our July fiscal calendar against every day of DimDate: the quarters agree on all 3,652 days; DimDate's
    FiscalYear agrees up to 2010 and from 2011-01-01 is one year lower (it switches to naming the year by its
    start, so its FY2010 holds both 2009-07..2010-06 and 2011-01..2011-06) — a quirk of the source, which is
    why the quota test names fiscal years by SOURCE.md's rule and not by that column."""
    folder = real_dataset("adventureworks-sales-quota")
    calendar = BusinessCalendar(fiscal_year_start=7, fiscal_year_label="end")
    quarters_agree = years_agree = years_one_lower = 0
    with open(folder / "dw_DimDate.csv", encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh, delimiter="|"):
            day, quarter, year = dt.date.fromisoformat(row[1]), int(row[16]), int(row[17])
            label = calendar.period_label(calendar.period_start(day, "fiscal_quarter"), "fiscal_quarter")
            quarters_agree += label.endswith(f"Q{quarter}")
            if day < dt.date(2011, 1, 1):
                years_agree += calendar.fiscal_year(day) == year
            else:
                years_one_lower += calendar.fiscal_year(day) == year + 1
    assert quarters_agree == 3652
    assert (years_agree, years_one_lower) == (2191, 1461)  # 2005-01-01..2010-12-31 and 2011-01-01..2014-12-31
