"""Source schedules as written in the configuration: `every 15m`, `every 1h`, a 5-field cron line, or `manual`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_EVERY = re.compile(r"every\s+(\d+)\s*(s|m|h|d)", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: exactly one of `interval_seconds` or `cron` is set, or neither for manual."""

    text: str
    interval_seconds: int | None = None
    cron: str | None = None

    @property
    def manual(self) -> bool:
        return self.interval_seconds is None and self.cron is None


def parse_schedule(text: str) -> Schedule:
    """Parse a schedule string; raises ValueError with the accepted forms."""
    value = text.strip()
    if value.lower() == "manual":
        return Schedule(value)
    match = _EVERY.fullmatch(value)
    if match:
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        if seconds < 10:
            raise ValueError(f"schedule {text!r} is too frequent (at least every 10s)")
        return Schedule(value, interval_seconds=seconds)
    fields = value.split()
    if len(fields) == 5 and all(re.fullmatch(r"[0-9*/,\-A-Za-z]+", f) for f in fields):
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"schedule {text!r}: {exc}") from exc
        return Schedule(value, cron=value)
    raise ValueError(f"schedule {text!r} not understood; use 'every 15m', 'every 1h', a cron line or 'manual'")
