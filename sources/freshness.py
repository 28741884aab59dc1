"""Is a source late? Its last successful sync against its schedule, by the business clock (CONTRACTS.md).

The business clock: "today" is `COCKPIT_TODAY`, else `business.today`, else the current date, in the business
time zone. With a pinned date, "now" is that date at the current time of day — so the shipped demo, pinned to
its last day of data, is judged on that day and never turns late on its own.

A source is due again one schedule step after its last success (the interval, or the cron line's next firing
after it). It is late when the business clock is past that moment plus a grace period (a quarter of the step,
at least five minutes: a sync takes time, and the scheduler coalesces misfires). Manual sources are never late.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from core.config import Settings
from core.schedule import parse_schedule

MIN_GRACE = dt.timedelta(minutes=5)
GRACE_SHARE = 0.25


@dataclass(frozen=True)
class Freshness:
    """How current one source is: when it last succeeded, how long ago, when it was due again, and if late."""

    schedule: str
    last_success: dt.datetime | None  # aware, business time zone
    lag: dt.timedelta | None  # business now − last success (never negative)
    due: dt.datetime | None  # when the next successful sync was expected
    late: bool

    @property
    def manual(self) -> bool:
        return parse_schedule(self.schedule).manual


def business_now(settings: Settings, *, wall: dt.datetime | None = None) -> dt.datetime:
    """The business clock's "now" (aware, business time zone); `wall` stands in for the current time in tests."""
    tz = ZoneInfo(settings.business.timezone)
    now = (wall or dt.datetime.now(dt.UTC)).astimezone(tz)
    pinned = os.environ.get("COCKPIT_TODAY") or settings.business.today
    if pinned:
        return dt.datetime.combine(settings.today, now.timetz())
    return now


def freshness(
    schedule: str, last_success_utc: dt.datetime | None, settings: Settings, *, wall: dt.datetime | None = None
) -> Freshness:
    """Judge one source. `last_success_utc` is the app state's naive UTC time of its last successful run."""
    tz = ZoneInfo(settings.business.timezone)
    now = business_now(settings, wall=wall)
    parsed = parse_schedule(schedule)
    if last_success_utc is None:
        return Freshness(schedule, None, None, None, late=not parsed.manual)
    last = last_success_utc.replace(tzinfo=dt.UTC).astimezone(tz)
    lag = max(now - last, dt.timedelta(0))
    if parsed.manual:
        return Freshness(schedule, last, lag, None, late=False)
    if parsed.interval_seconds:
        step = dt.timedelta(seconds=parsed.interval_seconds)
        due = last + step
    else:
        from apscheduler.triggers.cron import CronTrigger

        trigger = CronTrigger.from_crontab(parsed.cron, timezone=tz)
        due = trigger.get_next_fire_time(None, last + dt.timedelta(seconds=1))
        following = trigger.get_next_fire_time(due, due + dt.timedelta(seconds=1))
        step = (following - due) if following else dt.timedelta(days=1)
    grace = max(MIN_GRACE, step * GRACE_SHARE)
    return Freshness(schedule, last, lag, due, late=now > due + grace)


def format_lag(lag: dt.timedelta | None, lang: str = "zh") -> str:
    """`2天3小时`, `1h 20m`, `—` for never."""
    if lag is None:
        return "—"
    minutes = int(lag.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if lang == "zh":
        parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "", f"{mins}分钟" if not days else ""]
        return "".join(parts) or "0分钟"
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if not days else ""]
    return " ".join(p for p in parts if p) or "0m"
