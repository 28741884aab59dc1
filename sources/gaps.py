"""Days a daily feed has no rows at all — an export job that did not run — found in a published snapshot.

A source "feeds daily" when, over the window, it has rows on most days of a weekday: a missing day of such a
weekday is a gap. So a feed without Sunday rows is not flagged every Sunday, and a weekday public holiday
(the business calendar's, 调休 included) is never a gap. Days after the feed's last row are not gaps: that is
lateness, which `sources.freshness` judges against the schedule.

The check reads only which days have rows, over all rows of the snapshot: it reveals a date and a source name,
never a value.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import duckdb

from core.calendar import BusinessCalendar

# Fact tables with one row per event on a day, and their day column.
DAILY_FACTS = {
    "orders": "order_day",
    "payments": "payment_date",
    "invoices": "invoice_date",
    "campaign_spend": "spend_date",
    "inventory": "snapshot_date",
}
WINDOW_DAYS = 90
WEEKDAY_COVERAGE = 0.75  # a weekday counts as a feed day when it has rows on this share of its dates
MIN_SPAN_DAYS = 28  # a shorter feed does not show its rhythm yet


@dataclass(frozen=True)
class Gap:
    """A day on which one source's table has no rows although the source feeds that weekday."""

    source: str
    entity: str
    day: dt.date


def missing_days(
    cur: duckdb.DuckDBPyConnection, calendar: BusinessCalendar, end: dt.date, window_days: int = WINDOW_DAYS
) -> list[Gap]:
    """Gaps of every daily fact source in the `window_days` up to `end`, oldest first."""
    start = end - dt.timedelta(days=window_days - 1)
    tables = {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    gaps: list[Gap] = []
    for entity, day_col in DAILY_FACTS.items():
        if entity not in tables:
            continue
        rows = cur.execute(
            f'SELECT source, CAST("{day_col}" AS DATE) AS d FROM "{entity}" '  # noqa: S608 - names from DAILY_FACTS
            f'WHERE CAST("{day_col}" AS DATE) BETWEEN ? AND ? GROUP BY ALL',
            [start, end],
        ).fetchall()
        days: dict[str, set[dt.date]] = defaultdict(set)
        for source, day in rows:
            days[source].add(day)
        for source, seen in sorted(days.items()):
            gaps += [Gap(source, entity, d) for d in _gaps_of(seen, calendar)]
    return sorted(gaps, key=lambda g: (g.day, g.source))


def _gaps_of(seen: set[dt.date], calendar: BusinessCalendar) -> list[dt.date]:
    first, last = min(seen), max(seen)
    span = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    if len(span) < MIN_SPAN_DAYS:
        return []
    holiday = {d for d in span if d.weekday() < 5 and not calendar.is_workday(d)}
    dates, hits = defaultdict(int), defaultdict(int)
    for d in span:
        if d not in holiday:
            dates[d.weekday()] += 1
            hits[d.weekday()] += d in seen
    feeds = {w for w in dates if hits[w] >= WEEKDAY_COVERAGE * dates[w]}
    return [d for d in span if d not in seen and d not in holiday and d.weekday() in feeds]
