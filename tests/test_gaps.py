"""Days a daily feed has no rows (`sources.gaps`), on small snapshots written here by hand."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from core.calendar import BusinessCalendar
from sources.gaps import Gap, missing_days

D = dt.date
END = D(2026, 11, 30)


def _days(start: dt.date, end: dt.date, skip=lambda d: False) -> list[dt.date]:  # noqa: ANN001
    out, day = [], start
    while day <= end:
        if not skip(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE TABLE orders (source VARCHAR, order_day DATE, amount DOUBLE)")
    con.execute("CREATE TABLE payments (source VARCHAR, payment_date TIMESTAMP)")
    # erp: every day from 1 October, two rows a day, except Thursday 12 November (its export did not run) and
    # Thursday 1 October (国庆, a public holiday on a weekday).
    for day in _days(D(2026, 10, 1), END, skip=lambda d: d in (D(2026, 11, 12), D(2026, 10, 1))):
        con.executemany("INSERT INTO orders VALUES ('erp', ?, 1)", [[day], [day]])
    # shop: stops on 20 November — late, not a gap — and never missed a day before.
    for day in _days(D(2026, 10, 1), D(2026, 11, 20)):
        con.execute("INSERT INTO orders VALUES ('shop', ?, 1)", [day])
    # bank: no payments on Sundays, ever; Tuesday 3 November is missing.
    for day in _days(D(2026, 10, 1), END, skip=lambda d: d.weekday() == 6 or d == D(2026, 11, 3)):
        con.execute("INSERT INTO payments VALUES ('bank', ?)", [dt.datetime.combine(day, dt.time(10))])
    return con


def test_a_day_a_daily_feed_has_no_rows_is_a_gap_holidays_sundays_and_lateness_are_not(con):
    gaps = missing_days(con, BusinessCalendar(holidays="cn"), END)
    assert gaps == [Gap("bank", "payments", D(2026, 11, 3)), Gap("erp", "orders", D(2026, 11, 12))]


def test_without_the_holiday_calendar_the_holiday_is_a_gap_too(con):
    gaps = missing_days(con, BusinessCalendar(holidays="none"), END)
    assert Gap("erp", "orders", D(2026, 10, 1)) not in gaps  # before the feed's first row: outside its span
    con.execute("INSERT INTO orders VALUES ('erp', DATE '2026-09-30', 1)")
    gaps = missing_days(con, BusinessCalendar(holidays="none"), END)
    assert Gap("erp", "orders", D(2026, 10, 1)) in gaps
    assert Gap("erp", "orders", D(2026, 10, 1)) not in missing_days(con, BusinessCalendar(holidays="cn"), END)


def test_a_feed_of_less_than_four_weeks_is_not_judged(con):
    con.execute("DELETE FROM payments")
    for day in _days(D(2026, 11, 5), END, skip=lambda d: d == D(2026, 11, 25)):
        con.execute("INSERT INTO payments VALUES ('bank', ?)", [dt.datetime.combine(day, dt.time(10))])
    assert [g for g in missing_days(con, BusinessCalendar(), END) if g.source == "bank"] == []
