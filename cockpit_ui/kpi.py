"""KPI cards: value, change against a comparison period, sparkline and the 口径 on hover."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from metrics.formatting import format_change, format_delta_pct, format_value
from metrics.spec import MetricSpec


def _finite(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def kpi_card(
    metric: MetricSpec,
    totals: pd.Series,
    series: pd.Series | None,
    *,
    lang: str,
    currency: str,
    comparison: str = "previous",
    compared_with: str | None = None,
) -> None:
    """One bordered KPI card; `totals` holds the metric and its comparison columns (`__previous` and
    `__delta_pct`, or `__last_year` and `__delta_pct_last_year`, as `metrics.compare` names them);
    `compared_with` says beside the change what it is against (较去年同期)."""
    label, description = metric.text(lang)
    suffix = "" if comparison == "previous" else f"_{comparison}"
    value = _finite(totals.get(metric.name))
    previous = _finite(totals.get(f"{metric.name}__{comparison}"))
    delta_pct = _finite(totals.get(f"{metric.name}__delta_pct{suffix}"))
    if metric.format == "percent" and value is not None and previous is not None:
        # Ratios move in percentage points, not percent of themselves.
        delta = format_change(value - previous, "percent")
    else:
        delta = format_delta_pct(delta_pct) if delta_pct is not None else None
    chart = None
    if series is not None and len(series.dropna()) > 1:
        chart = [float(v) for v in series.fillna(0)]
    # A change that rounds to nothing (no sign) is grey and has no arrow: it is neither good nor bad.
    flat = delta is not None and not delta.startswith(("+", "-"))
    st.metric(
        label,
        format_value(value, metric.format, lang=lang, currency=currency),
        delta=delta,
        delta_color="off" if flat else "normal" if metric.direction == "up" else "inverse",
        delta_arrow="off" if flat else "auto",
        delta_description=compared_with,
        help=description,
        border=True,
        chart_data=chart,
        chart_type="area" if metric.format in ("money", "count") else "line",
    )
