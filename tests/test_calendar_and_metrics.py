"""Business calendar, metric definitions and the query API on the demo company."""

from __future__ import annotations

import datetime as dt

import pytest

from core.calendar import BusinessCalendar
from metrics.compiler import QueryError
from metrics.formatting import format_change, format_delta_pct, format_value
from metrics.query import query
from metrics.scope import Scope
from metrics.spec import SpecError, load_catalog

D = dt.date


def test_period_labels_of_contracts():
    cal = BusinessCalendar()
    assert cal.period_label(D(2019, 4, 1), "month") == "2019-04"
    assert cal.period_label(cal.period_start(D(2019, 4, 3), "week"), "week") == "2019-W14"
    assert cal.period_start(D(2019, 4, 7), "week") == D(2019, 4, 1)  # Sunday belongs to the Monday week
    july = BusinessCalendar(fiscal_year_start=7)
    assert july.period_label(july.period_start(D(2010, 7, 15), "fiscal_year"), "fiscal_year") == "FY2011"
    assert july.period_label(july.period_start(D(2019, 9, 30), "fiscal_quarter"), "fiscal_quarter") == "FY2020 Q1"
    april = BusinessCalendar(fiscal_year_start=4)
    assert april.period_label(april.period_start(D(2019, 2, 1), "fiscal_quarter"), "fiscal_quarter") == "FY2019 Q4"


def test_previous_and_last_year_ranges():
    cal = BusinessCalendar()
    assert cal.previous_range(D(2026, 11, 1), D(2026, 11, 30)) == (D(2026, 10, 1), D(2026, 10, 31))
    assert cal.previous_range(D(2026, 11, 10), D(2026, 11, 16)) == (D(2026, 11, 3), D(2026, 11, 9))
    assert cal.last_year_range(D(2024, 2, 29), D(2024, 2, 29), "month") == (D(2023, 2, 28), D(2023, 2, 28))
    # day grain aligns weekdays: 364 days back
    assert cal.last_year_range(D(2026, 11, 30), D(2026, 11, 30), "day")[0].weekday() == D(2026, 11, 30).weekday()


def test_chinese_working_days_with_makeup_saturday():
    cal = BusinessCalendar(holidays="cn")
    assert cal.is_workday(D(2026, 2, 14))  # a Saturday worked before the Spring Festival (调休)
    assert not cal.is_workday(D(2026, 2, 17))  # Spring Festival
    with pytest.warns(UserWarning, match="does not cover 2030"):
        assert cal.is_workday(D(2030, 1, 2))


def test_formatting_rule():
    assert format_value(37_467_189.67, "money") == "¥3,746.72万"
    assert format_value(123_456_789.0, "money") == "¥1.23亿"
    assert format_value(1234.5, "money") == "¥1,234.50"
    assert format_value(-52_000.0, "money") == "-¥5.20万"
    assert format_value(2_500_000.0, "money", lang="en") == "¥2.50M"
    assert format_value(0.63150052, "percent") == "63.2%"
    assert format_value(4238, "count") == "4,238"
    assert format_value(None, "percent") == "—"


def test_changes_carry_their_sign_and_ratios_move_in_points():
    """The CLI table once printed a money rise as `¥3.20万` (no sign) and a ratio change as `0.3%`."""
    assert format_change(32_000.0, "money") == "+¥3.20万"
    assert format_change(-1234.5, "money") == "-¥1,234.50"
    assert format_change(12, "count") == "+12"
    assert format_change(0.0, "count") == "0"
    assert format_change(0.003, "percent") == "+0.3 pp"
    assert format_change(-0.0125, "percent") == "-1.3 pp"  # half away from zero
    assert format_change(None, "money") == "—"
    # A change that rounds to nothing has no sign, never `-0.0 pp` or `-¥0.00` with a red arrow.
    assert format_change(-0.0004, "percent") == "0.0 pp"
    assert format_change(0.004, "money") == "¥0.00" and format_change(-0.004, "money") == "¥0.00"
    assert format_change(-0.4, "count") == "0" and format_change(0.4, "count") == "0"
    assert format_change(-0.04, "days") == "0.0 天"
    assert format_delta_pct(-0.0004) == "0.0%" and format_delta_pct(0.123) == "+12.3%"


def test_every_shipped_metric_is_portable_and_documented():
    catalog = load_catalog()
    for name, metric in catalog.metrics.items():
        assert metric.portable and metric.sql is None, name
        assert metric.label.zh and metric.label.en and metric.description.zh and metric.description.en, name
    required = {
        "revenue",
        "orders",
        "gross_margin",
        "gross_margin_rate",
        "won_deals",
        "won_amount",
        "win_rate",
        "deal_cycle_days",
        "new_customers",
        "target_attainment",
    }
    assert required <= set(catalog.metrics)


def test_invalid_definition_names_file_and_field(tmp_path):
    models = tmp_path / "models"
    defs = tmp_path / "definitions"
    models.mkdir()
    defs.mkdir()
    (models / "orders.yml").write_text(
        "name: orders\ntable: orders\ntime: order_day\ndimensions: {region: {column: region}}\n"
    )
    (defs / "bad.yml").write_text(
        "name: bad\nlabel: {zh: 坏, en: Bad}\ndescription: {zh: x, en: x}\nowner: me\ntype: ratio\nmodel: orders\n"
        "numerator: {agg: summ, column: amount}\ndenominator: {agg: sum, column: amount}\nformat: percent\n"
    )
    with pytest.raises(SpecError) as err:
        load_catalog(models, defs)
    assert "bad.yml" in str(err.value) and "numerator.agg" in str(err.value)


def test_query_requires_a_scope(demo_env):
    with pytest.raises(TypeError, match="Scope"):
        query(["revenue"], None)  # type: ignore[arg-type]


def test_empty_scope_sees_nothing_and_ratios_are_null(demo_env):
    result = query(
        ["revenue", "orders", "win_rate", "target_attainment"], Scope.of(), start=D(2026, 11, 1), end=D(2026, 11, 30)
    )
    row = result.records()[0]
    assert row["revenue"] == 0 and row["orders"] == 0
    assert row["win_rate"] is None and row["target_attainment"] is None  # zero denominators: no value


def test_scopes_of_teams_add_up_to_the_company(demo_env):
    everyone = query(["revenue"], Scope.all(), by=["team"], start=D(2026, 1, 1), end=D(2026, 11, 30))
    teams = [r["team"] for r in everyone.records() if r["team"]]
    total = query(["revenue"], Scope.all(), start=D(2026, 1, 1), end=D(2026, 11, 30)).total("revenue")
    parts = sum(
        query(["revenue"], Scope.of(teams=[t]), start=D(2026, 1, 1), end=D(2026, 11, 30)).total("revenue")
        for t in teams
    )
    unassigned = sum(r["revenue"] for r in everyone.records() if r["team"] is None)
    assert parts + unassigned == pytest.approx(total, rel=1e-9)


def test_rep_team_move_splits_revenue_by_date(demo_env):
    # S004 moved from 华东一组 to 华东二组 on 2025-07-01: June counts for the first team, July for the second.
    june = query(["revenue"], Scope.of(reps=["S004"]), by=["team"], start=D(2025, 6, 1), end=D(2025, 6, 30))
    july = query(["revenue"], Scope.of(reps=["S004"]), by=["team"], start=D(2025, 7, 1), end=D(2025, 7, 31))
    assert [r["team"] for r in june.records()] == ["华东一组"]
    assert [r["team"] for r in july.records()] == ["华东二组"]


def test_team_targets_are_not_double_counted(demo_env):
    result = query(["revenue_target"], Scope.all(), by=["team"], start=D(2026, 11, 1), end=D(2026, 11, 30))
    total = query(["revenue_target"], Scope.all(), start=D(2026, 11, 1), end=D(2026, 11, 30)).total("revenue_target")
    assert sum(r["revenue_target"] for r in result.records()) == pytest.approx(total)


def test_dimension_not_allowed_lists_allowed(demo_env):
    with pytest.raises(QueryError, match="allowed: region"):
        query(["win_rate"], Scope.all(), by=["subcategory"])


def test_metrics_csv_keeps_formula_like_labels_as_text(tmp_path, cockpit_env, capsys):
    # Regression: `metrics query --format csv` wrote a customer named "=HYPERLINK(...)" as a live formula.
    from metrics.__main__ import main as metrics_main
    from sources.__main__ import main as sources_main

    export = tmp_path / "orders.csv"
    export.write_text(
        'order id,order date,customer name,amount\nA1,2024-01-01,"=HYPERLINK(""http://x"")",10\n'
        "A2,2024-01-02,Plain Ltd,5\n",
        encoding="utf-8",
    )
    cockpit_env({"sources": [{"name": "shop", "entity": "orders", "path": str(export), "schedule": "manual"}]})
    assert sources_main(["sync", "--format", "json"]) == 0
    capsys.readouterr()
    assert metrics_main(["query", "revenue", "--by", "customer", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("customer,")
    assert "'=HYPERLINK" in "\n".join(lines[1:]) and "Plain Ltd" in "\n".join(lines[1:])
