"""The business calendar: periods, their labels, comparisons and working days, from one configuration.

Every query and every page asks this module which period a date belongs to, how a period is labelled
("2019-04", "2019-W14", "FY2020 Q1") and which period it is compared with. Grains: day, week, month,
quarter, year, fiscal_quarter, fiscal_year.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GRAINS = ("day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year")
_WEEKDAY = {"monday": 0, "sunday": 6, "saturday": 5}
log = logging.getLogger(__name__)


class CalendarCoverageWarning(UserWarning):
    """A period lies outside the years the holiday calendar knows; weekends-only rules were used."""


@dataclass(frozen=True)
class BusinessCalendar:
    """Week start, fiscal year and holidays of one business."""

    week_start: str = "monday"
    fiscal_year_start: int = 1
    fiscal_year_label: str = "end"
    holidays: str = "none"
    holidays_file: Path | None = None

    @classmethod
    def from_settings(cls, business) -> BusinessCalendar:  # noqa: ANN001 - core.config.Business
        return cls(
            week_start=business.week_start,
            fiscal_year_start=business.fiscal_year_start,
            fiscal_year_label=business.fiscal_year_label,
            holidays=business.holidays,
            holidays_file=business.holidays_file,
        )

    # ---- periods -------------------------------------------------------------------------------------
    def period_start(self, day: dt.date, grain: str) -> dt.date:
        """First day of the period of `grain` that contains `day`."""
        if grain == "day":
            return day
        if grain == "week":
            offset = (day.weekday() - _WEEKDAY[self.week_start]) % 7
            return day - dt.timedelta(days=offset)
        if grain == "month":
            return day.replace(day=1)
        if grain == "quarter":
            return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        if grain == "year":
            return dt.date(day.year, 1, 1)
        if grain in ("fiscal_quarter", "fiscal_year"):
            months_in = (day.month - self.fiscal_year_start) % 12
            if grain == "fiscal_year":
                return _add_months(day.replace(day=1), -months_in)
            return _add_months(day.replace(day=1), -(months_in % 3))
        raise ValueError(f"unknown grain {grain!r}; grains are: {', '.join(GRAINS)}")

    def period_end(self, start: dt.date, grain: str) -> dt.date:
        """Last day of the period of `grain` starting at `start`."""
        return self.next_period(start, grain) - dt.timedelta(days=1)

    def next_period(self, start: dt.date, grain: str) -> dt.date:
        if grain == "day":
            return start + dt.timedelta(days=1)
        if grain == "week":
            return start + dt.timedelta(days=7)
        months = {"month": 1, "quarter": 3, "fiscal_quarter": 3, "year": 12, "fiscal_year": 12}[grain]
        return _add_months(start, months)

    def fiscal_year(self, day: dt.date) -> int:
        """The fiscal year number of `day` under the configured label rule."""
        start = self.period_start(day, "fiscal_year")
        if self.fiscal_year_start == 1:
            return start.year
        return start.year + 1 if self.fiscal_year_label == "end" else start.year

    def period_label(self, start: dt.date, grain: str) -> str:
        """How a period is written everywhere: 2019-04-03, 2019-W14, 2019-04, 2019-Q2, 2019, FY2020 Q1, FY2020."""
        if grain == "day":
            return start.isoformat()
        if grain == "week":
            if self.week_start == "monday":
                iso = start.isocalendar()
                return f"{iso.year}-W{iso.week:02d}"
            # Weeks not starting on Monday: numbered from the week holding January 1st.
            first = self.period_start(dt.date(start.year, 1, 1), "week")
            return f"{start.year}-W{(start - first).days // 7 + 1:02d}"
        if grain == "month":
            return f"{start.year}-{start.month:02d}"
        if grain == "quarter":
            return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        if grain == "year":
            return str(start.year)
        if grain == "fiscal_year":
            return f"FY{self.fiscal_year(start)}"
        if grain == "fiscal_quarter":
            quarter = ((start.month - self.fiscal_year_start) % 12) // 3 + 1
            return f"FY{self.fiscal_year(start)} Q{quarter}"
        raise ValueError(f"unknown grain {grain!r}")

    # ---- comparisons ---------------------------------------------------------------------------------
    def previous_range(self, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
        """The period a range is compared with as 'previous'.

        A range made of whole months (or quarters, years) is compared with the same number of whole months
        just before it; any other range with the same number of days just before it.
        """
        if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
            months = (end.year - start.year) * 12 + end.month - start.month + 1
            prev_start = _add_months(start, -months)
            return prev_start, start - dt.timedelta(days=1)
        length = (end - start).days + 1
        return start - dt.timedelta(days=length), start - dt.timedelta(days=1)

    def last_year_range(self, start: dt.date, end: dt.date, grain: str | None = None) -> tuple[dt.date, dt.date]:
        """Same period last year. Day and week grains align on weekdays (364 days back); others by calendar."""
        if grain in ("day", "week"):
            return start - dt.timedelta(days=364), end - dt.timedelta(days=364)
        return _shift_years(start, -1), _shift_years(end, -1)

    # ---- working days --------------------------------------------------------------------------------
    def is_workday(self, day: dt.date) -> bool:
        """Chinese working days with 调休 when `holidays: cn`, else Monday to Friday; the holidays file adds days off."""
        extra = _holidays_file(str(self.holidays_file)) if self.holidays_file else {}
        if day in extra:
            return extra[day]
        if self.holidays == "cn":
            import chinese_calendar

            try:
                return chinese_calendar.is_workday(day)
            except NotImplementedError:
                warnings.warn(
                    f"the Chinese holiday calendar does not cover {day.year}; add the year to the holidays file "
                    "(business.holidays_file). Weekends only are used meanwhile.",
                    CalendarCoverageWarning,
                    stacklevel=2,
                )
        return day.weekday() < 5

    def workdays(self, start: dt.date, end: dt.date) -> int:
        """Number of working days from start to end inclusive."""
        count, day = 0, start
        while day <= end:
            count += self.is_workday(day)
            day += dt.timedelta(days=1)
        return count


@lru_cache(maxsize=4)
def _holidays_file(path: str) -> dict[dt.date, bool]:
    """A YAML file `{YYYY-MM-DD: off|work}` the admin maintains for years the package does not know."""
    import yaml

    file = Path(path)
    if not file.exists():
        log.warning("holidays file %s does not exist", file)
        return {}
    raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    out: dict[dt.date, bool] = {}
    for key, value in raw.items():
        day = key if isinstance(key, dt.date) else dt.date.fromisoformat(str(key))
        out[day] = str(value).lower() in ("work", "workday", "班")
    return out


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]
    return dt.date(year, month + 1, min(day.day, last))


def _shift_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
