"""Table columns for metric values: the number rule of README "Number formats", kept sortable.

Cards and messages scale money (`¥3,746.72万`); a table keeps the full amount so its column sorts and adds up
by eye: money `¥37,025,612.35`, counts `4,238`, days `47.6`, ratios in percent with up to two decimals
(`63.15%`, `50%`). A negative amount reads `¥-1,234.00` here (Streamlit's number format).
"""

from __future__ import annotations

import streamlit as st

from metrics.formatting import symbol
from metrics.spec import MetricSpec


def metric_column(metric: MetricSpec, label: str, *, lang: str, currency: str) -> st.column_config.NumberColumn:
    """The `column_config` entry showing `metric`'s values under `label`, its 口径 on the header's hover."""
    return st.column_config.NumberColumn(
        label, format=column_format(metric.format, currency), help=metric.text(lang)[1]
    )


def column_format(fmt: str, currency: str) -> str:
    """The Streamlit number format for a metric format (printf-style, `,` for thousands)."""
    if fmt == "money":
        return symbol(currency).replace("%", "%%") + "%,.2f"
    if fmt == "count":
        return "%,d"
    if fmt == "percent":
        return "percent"
    if fmt == "days":
        return "%,.1f"
    return "%,.2f"
