"""Lag against the schedule, judged by the business clock: when is a source late?"""

from __future__ import annotations

import datetime as dt

import pytest

from core.config import Settings
from sources.freshness import business_now, format_lag, freshness

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    """A naive UTC time, as the app state records runs, given in Shanghai wall time."""
    return dt.datetime(y, mo, d, h, mi, tzinfo=SHANGHAI).astimezone(dt.UTC).replace(tzinfo=None)


@pytest.fixture
def cfg(monkeypatch) -> Settings:
    monkeypatch.delenv("COCKPIT_TODAY", raising=False)
    return Settings(business={"timezone": "Asia/Shanghai"})


def test_hourly_source_is_late_only_after_its_step_plus_grace(cfg):
    last = _utc(2026, 3, 10, 9, 0)  # 09:00 in Shanghai; due 10:00; grace 15 minutes
    on_time = freshness("every 1h", last, cfg, wall=dt.datetime(2026, 3, 10, 10, 10, tzinfo=SHANGHAI))
    assert on_time.lag == dt.timedelta(hours=1, minutes=10) and not on_time.late
    assert on_time.due == dt.datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)
    late = freshness("every 1h", last, cfg, wall=dt.datetime(2026, 3, 10, 10, 16, tzinfo=SHANGHAI))
    assert late.late and format_lag(late.lag, "en") == "1h 16m" and format_lag(late.lag) == "1小时16分钟"


def test_cron_source_is_due_at_the_next_firing_in_the_business_time_zone(cfg):
    last = _utc(2026, 3, 9, 6, 5)  # the 06:00 (Shanghai) daily run finished at 06:05
    noon = freshness("0 6 * * *", last, cfg, wall=dt.datetime(2026, 3, 10, 11, 59, tzinfo=SHANGHAI))
    assert noon.due == dt.datetime(2026, 3, 10, 6, 0, tzinfo=SHANGHAI)
    assert not noon.late  # grace is a quarter of a day: late after 12:00
    after = freshness("0 6 * * *", last, cfg, wall=dt.datetime(2026, 3, 10, 12, 1, tzinfo=SHANGHAI))
    assert after.late


def test_manual_source_is_never_late_and_a_never_synced_scheduled_one_is(cfg):
    wall = dt.datetime(2026, 3, 10, 12, 0, tzinfo=SHANGHAI)
    assert not freshness("manual", _utc(2025, 1, 1, 0), cfg, wall=wall).late
    never = freshness("every 15m", None, cfg, wall=wall)
    assert never.late and never.lag is None and format_lag(never.lag) == "—"


def test_pinned_business_date_is_the_clock(monkeypatch, cfg):
    # The demo pins "today" to its last day of data: a sync that ran on that date is not late however long
    # ago the real clock says it was, and a sync from three days before the pinned date is.
    monkeypatch.setenv("COCKPIT_TODAY", "2026-11-30")
    wall = dt.datetime(2027, 5, 1, 8, 30, tzinfo=SHANGHAI)
    assert business_now(cfg, wall=wall) == dt.datetime(2026, 11, 30, 8, 30, tzinfo=SHANGHAI)
    assert not freshness("every 1h", _utc(2026, 11, 30, 8, 0), cfg, wall=wall).late
    stale = freshness("every 1h", _utc(2026, 11, 27, 8, 0), cfg, wall=wall)
    assert stale.late and stale.lag == dt.timedelta(days=3, minutes=30)
    # A sync later than the business clock (real time runs ahead of a pinned date) is simply current.
    ahead = freshness("every 1h", _utc(2026, 12, 3, 9, 0), cfg, wall=wall)
    assert ahead.lag == dt.timedelta(0) and not ahead.late
