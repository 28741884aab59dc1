"""The one clock sign-in reads: lockout windows, session lifetimes and logout times.

It is the system clock. Tests move it forward (`advance`) to see a lockout end without sleeping; nothing in
the app moves it.
"""

from __future__ import annotations

import datetime as dt
import time

_offset = 0.0


def now() -> float:
    """Seconds since the epoch."""
    return time.time() + _offset


def utcnow() -> dt.datetime:
    """Naive UTC time, as the app-state database stores it."""
    return dt.datetime.fromtimestamp(now(), dt.UTC).replace(tzinfo=None)


def advance(seconds: float) -> None:
    """Move the clock forward (tests only)."""
    global _offset
    _offset += seconds


def reset() -> None:
    """Back to the system clock (tests only)."""
    global _offset
    _offset = 0.0
