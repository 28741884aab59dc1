"""The period picker shared by pages, kept in the URL (`?period=mtd`, or `?period=custom&from=…&to=…`).

Periods are judged by the business clock (`business.today`, COCKPIT_TODAY, or the current date in the
business time zone), so the demo's "this month" is deterministic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

from cockpit_ui.i18n import t

CHOICES = ("mtd", "last_month", "qtd", "ytd", "last_30", "custom")


@dataclass(frozen=True)
class Period:
    key: str
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def comparison(self) -> str:
        """What the period's KPIs are compared with: a to-date period with the same span last year (同比),
        any other with the period just before it (环比)."""
        return "last_year" if self.key in ("mtd", "qtd", "ytd") else "previous"

    @property
    def trend_grain(self) -> str:
        """The grain of a sparkline for this period: days up to two months, weeks up to a year, else months."""
        if self.days <= 62:
            return "day"
        if self.days <= 370:
            return "week"
        return "month"


def period_range(key: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """Start and end (inclusive) of a named period ending on the business `today`."""
    if key == "mtd":
        return today.replace(day=1), today
    if key == "last_month":
        end = today.replace(day=1) - dt.timedelta(days=1)
        return end.replace(day=1), end
    if key == "qtd":
        return dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    if key == "ytd":
        return dt.date(today.year, 1, 1), today
    if key == "last_30":
        return today - dt.timedelta(days=29), today
    raise ValueError(f"unknown period {key!r}")


def _date_param(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return None


def _period_to_address() -> None:
    st.query_params["period"] = st.session_state["period"]


def period_picker(today: dt.date) -> Period:
    """Draw the period control and return the chosen period (default: month to date).

    The choice lives in the address (`?period=ytd`), so a bookmark or an alert link opens on it. The control is
    tied to the address by hand, not with `bind="query-params"`: Streamlit drops a bound parameter when the
    signed-in page takes over the sign-in page's address, and the link's period was lost at sign-in.
    """
    wanted = st.query_params.get("period")
    if wanted in CHOICES and st.session_state.get("period") != wanted:
        st.session_state["period"] = wanted
    key = (
        st.segmented_control(
            t("period"),
            CHOICES,
            default=None if "period" in st.session_state else "mtd",
            format_func=t,
            key="period",
            on_change=_period_to_address,
            required=True,
            label_visibility="collapsed",
        )
        or "mtd"
    )
    if key != "custom":
        start, end = period_range(key, today)
        return Period(key, start, end)
    start = _date_param("from") or today.replace(day=1)
    end = _date_param("to") or today
    chosen = st.date_input(t("custom"), (start, end), max_value=today, label_visibility="collapsed")
    if isinstance(chosen, tuple) and len(chosen) == 2:
        start, end = chosen
        st.query_params["from"], st.query_params["to"] = start.isoformat(), end.isoformat()
    return Period("custom", start, end)
