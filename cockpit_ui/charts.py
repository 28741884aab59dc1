"""Altair charts of the pages, with named selections on fields (never positions) for drill-down."""

from __future__ import annotations

import altair as alt
import pandas as pd

from metrics.formatting import format_value, symbol


def money_axis(lang: str, currency: str) -> alt.Axis:
    """A money axis under the number rule: `¥5,000万` and `¥1.2亿` in Chinese, `¥50M` and `¥1.2B` in English,
    the minus sign before the currency symbol."""
    sign = symbol(currency).replace("'", "")
    steps = ((1e8, "亿"), (1e4, "万")) if lang == "zh" else ((1e9, "B"), (1e6, "M"), (1e3, "K"))
    expr = f"'{sign}' + format(abs(datum.value), ',')"
    for size, unit in reversed(steps):
        expr = f"abs(datum.value) >= {size:g} ? '{sign}' + format(abs(datum.value) / {size:g}, ',.4~f') + '{unit}' : {expr}"
    expr = f"(datum.value < 0 ? '-' : '') + ({expr})"
    return alt.Axis(labelExpr=expr)


def _money_text(values: pd.Series, lang: str, currency: str) -> list[str]:
    return [format_value(None if pd.isna(v) else float(v), "money", lang=lang, currency=currency) for v in values]


def revenue_trend(
    frame: pd.DataFrame, *, value_title: str, target_title: str, month_title: str, lang: str, currency: str
) -> alt.Chart:
    """Monthly revenue bars with the revenue target as a line, a legend naming both, tooltips under the number
    rule; clicking a month selects its `period_label`."""
    data = frame.assign(
        period=pd.to_datetime(frame["period"]),
        revenue_text=_money_text(frame["revenue"], lang, currency),
        target_text=_money_text(frame["revenue_target"], lang, currency),
        bar_series=value_title,
        line_series=target_title,
    )
    pick = alt.selection_point(name="month", fields=["period_label"], on="click", clear="dblclick")
    legend = alt.Scale(domain=[value_title, target_title], range=["#2563eb", "#f59e0b"])
    tooltip = [
        alt.Tooltip("period_label:N", title=month_title),
        alt.Tooltip("revenue_text:N", title=value_title),
        alt.Tooltip("target_text:N", title=target_title),
    ]
    bars = (
        alt.Chart(data)
        .mark_bar(cornerRadiusTopLeft=3, cornerRadiusTopRight=3)
        .encode(
            x=alt.X("period_label:O", title=month_title, sort=None),
            y=alt.Y("revenue:Q", title=value_title, axis=money_axis(lang, currency)),
            color=alt.Color("bar_series:N", scale=legend, legend=alt.Legend(title=None, orient="top")),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)),
            tooltip=tooltip,
        )
        .add_params(pick)
    )
    line = (
        alt.Chart(data)
        .mark_line(point=True, strokeDash=[4, 3])
        .encode(
            x=alt.X("period_label:O", sort=None),
            y=alt.Y("revenue_target:Q"),
            color=alt.Color("line_series:N", scale=legend),
            tooltip=tooltip,
        )
    )
    return (bars + line).properties(height=280)


def attainment_bars(
    frame: pd.DataFrame,
    *,
    dim: str,
    dim_title: str,
    value_title: str,
    revenue_title: str,
    target_title: str,
    ahead_title: str,
    behind_title: str,
    lang: str,
    currency: str,
) -> alt.Chart:
    """Horizontal bars of target attainment per member of `dim`, with a 100% rule and a legend naming the two
    colours (`ahead_title` at 100% or more, `behind_title` below); click selects the member."""
    data = frame.dropna(subset=["target_attainment"]).copy()
    data["revenue_text"] = _money_text(data["revenue"], lang, currency)
    data["target_text"] = _money_text(data["revenue_target"], lang, currency)
    data["color"] = data["target_attainment"].map(lambda v: ahead_title if v >= 1 else behind_title)
    pick = alt.selection_point(name="member", fields=[dim], on="click", clear="dblclick")
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(f"{dim}:N", title=dim_title, sort="-x"),
            x=alt.X("target_attainment:Q", title=value_title, axis=alt.Axis(format="%")),
            color=alt.Color(
                "color:N",
                scale=alt.Scale(domain=[ahead_title, behind_title], range=["#16a34a", "#dc2626"]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.5)),
            tooltip=[
                alt.Tooltip(f"{dim}:N", title=dim_title),
                alt.Tooltip("target_attainment:Q", title=value_title, format=".1%"),
                alt.Tooltip("revenue_text:N", title=revenue_title),
                alt.Tooltip("target_text:N", title=target_title),
            ],
        )
        .add_params(pick)
    )
    rule = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#64748b", strokeDash=[3, 3]).encode(x="x:Q")
    # The height is the whole chart's (Streamlit fits it): the legend, the axis and its title take about 125 px, and
    # each member keeps a bar tall enough for its label, so no label is dropped for lack of room.
    return (bars + rule).properties(height=130 + 28 * max(3, len(data)))
