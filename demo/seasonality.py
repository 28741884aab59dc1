"""Calendar effects on order volume and the USD→CNY rate table.

`order_intensity` gives the expected number of orders per day and sales channel: a weekly pattern (B2B weak
on weekends, 电商 strong), a month-end push for 直销/经销商, stronger quarter-end months, the Spring Festival
standstill with its recovery, and ~12% year-over-year growth.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from demo.company import CHANNELS, SPRING_FESTIVALS, START_DATE

#: Orders per day and channel at the start of 2024 on an average weekday mix.
BASE_ORDERS_PER_DAY: dict[str, float] = {"直销": 11.0, "经销商": 6.5, "电商": 28.0, "电话销售": 10.0}
YEARLY_GROWTH = 0.12
_WEEKLY = {  # Monday .. Sunday, normalised to mean 1 below
    "直销": (1.15, 1.20, 1.20, 1.15, 1.10, 0.22, 0.10),
    "经销商": (1.15, 1.20, 1.20, 1.15, 1.10, 0.25, 0.12),
    "电商": (0.90, 0.85, 0.85, 0.90, 1.00, 1.40, 1.35),
    "电话销售": (1.15, 1.20, 1.20, 1.15, 1.10, 0.30, 0.08),
}
_FESTIVAL_LEVEL = {"直销": 0.03, "经销商": 0.03, "电商": 0.5, "电话销售": 0.05}
_MONTH_END_CHANNELS = ("直销", "经销商")
_QUARTER_END_LIFT = {"直销": 1.12, "经销商": 1.12, "电商": 1.0, "电话销售": 1.05}


def day_range(first: dt.date, last: dt.date) -> np.ndarray:
    """Every calendar day from `first` to `last` inclusive, as datetime64[D]."""
    return np.arange(np.datetime64(first), np.datetime64(last) + np.timedelta64(1, "D"), dtype="datetime64[D]")


def order_intensity(days: np.ndarray, month_end_push: np.ndarray) -> np.ndarray:
    """Expected orders per day (rows) and channel (columns, in CHANNELS order) before scaling.

    `month_end_push` holds one lift (e.g. 1.3–1.5) per calendar month since START_DATE, applied to the last
    three days of that month for 直销 and 经销商.
    """
    n = len(days)
    weekday = (days.astype("int64") - 4) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    months = days.astype("datetime64[M]")
    month_no = (months.astype("int64") % 12) + 1
    month_idx = (months - np.datetime64(START_DATE, "M")).astype("int64")
    days_to_month_end = ((months + 1).astype("datetime64[D]") - days).astype("int64")  # 1 on the last day
    years = (days - np.datetime64(START_DATE)).astype("int64") / 365.25
    growth = (1.0 + YEARLY_GROWTH) ** years
    festival = np.ones((n, len(CHANNELS)))
    offsets = np.full(n, 10_000)
    for fest in SPRING_FESTIVALS:
        off = (days - np.datetime64(fest)).astype("int64")
        closer = np.abs(off) < np.abs(offsets)
        offsets = np.where(closer, off, offsets)
    for c, channel in enumerate(CHANNELS):
        level = _FESTIVAL_LEVEL[channel]
        dip = (offsets >= -3) & (offsets <= 6)
        recovery = (offsets >= 7) & (offsets <= 13)
        first_day_back = 0.5 if level < 0.1 else 0.75  # B2B restarts at half speed, 电商 at three quarters
        ramp = first_day_back + (1.0 - first_day_back) * (offsets - 7) / 7.0
        festival[:, c] = np.where(dip, level, np.where(recovery, ramp, 1.0))
    out = np.empty((n, len(CHANNELS)))
    for c, channel in enumerate(CHANNELS):
        weekly = np.asarray(_WEEKLY[channel])
        weekly = weekly / weekly.mean()
        lam = BASE_ORDERS_PER_DAY[channel] * growth * weekly[weekday] * festival[:, c]
        if channel in _MONTH_END_CHANNELS:
            lam = lam * np.where(days_to_month_end <= 3, month_end_push[month_idx], 1.0)
        lam = lam * np.where(month_no % 3 == 0, _QUARTER_END_LIFT[channel], 1.0)
        out[:, c] = lam
    return out


def usd_rates(rng: np.random.Generator, n_days: int) -> np.ndarray:
    """A smooth daily USD→CNY random walk between about 7.10 and 7.30, rounded to 4 decimals."""
    steps = rng.normal(0.0, 1.0, n_days)
    drift = np.zeros(n_days)
    for i in range(1, n_days):  # mean-reverting walk (AR(1) on the level)
        drift[i] = 0.995 * drift[i - 1] + steps[i]
    kernel = np.ones(9) / 9.0
    smooth = np.convolve(np.pad(drift, 4, mode="edge"), kernel, mode="valid")
    low, high = smooth.min(), smooth.max()
    return np.round(7.11 + 0.18 * (smooth - low) / (high - low), 4)
