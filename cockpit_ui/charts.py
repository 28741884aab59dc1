"""Altair charts of the pages, with named selections on fields (never positions) for drill-down."""

from __future__ import annotations

import altair as alt
import pandas as pd


def revenue_trend(frame: pd.DataFrame, *, value_title: str, target_title: str, month_title: str) -> alt.Chart:
    """Monthly revenue bars with the revenue target as a line; clicking a month selects its `period`."""
    data = frame.assign(period=pd.to_datetime(frame["period"]))
    pick = alt.selection_point(name="month", fields=["period_label"], on="click", clear="dblclick")
    bars = (
        alt.Chart(data)
        .mark_bar(color="#2563eb", cornerRadiusTopLeft=3, cornerRadiusTopRight=3)
        .encode(
            x=alt.X("period_label:O", title=month_title, sort=None),
            y=alt.Y("revenue:Q", title=value_title),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)),
            tooltip=[
                alt.Tooltip("period_label:N", title=month_title),
                alt.Tooltip("revenue:Q", title=value_title, format=",.0f"),
                alt.Tooltip("revenue_target:Q", title=target_title, format=",.0f"),
            ],
        )
        .add_params(pick)
    )
    line = (
        alt.Chart(data)
        .mark_line(color="#f59e0b", point=True, strokeDash=[4, 3])
        .encode(x=alt.X("period_label:O", sort=None), y=alt.Y("revenue_target:Q"))
    )
    return (bars + line).properties(height=280)


def attainment_bars(frame: pd.DataFrame, *, dim: str, dim_title: str, value_title: str) -> alt.Chart:
    """Horizontal bars of target attainment per member of `dim`, with a 100% rule; click selects the member."""
    data = frame.dropna(subset=["target_attainment"]).copy()
    data["color"] = data["target_attainment"].map(lambda v: "ahead" if v >= 1 else "behind")
    pick = alt.selection_point(name="member", fields=[dim], on="click", clear="dblclick")
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(f"{dim}:N", title=dim_title, sort="-x"),
            x=alt.X("target_attainment:Q", title=value_title, axis=alt.Axis(format="%")),
            color=alt.Color(
                "color:N", scale=alt.Scale(domain=["ahead", "behind"], range=["#16a34a", "#dc2626"]), legend=None
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.5)),
            tooltip=[
                alt.Tooltip(f"{dim}:N", title=dim_title),
                alt.Tooltip("target_attainment:Q", title=value_title, format=".1%"),
                alt.Tooltip("revenue:Q", format=",.0f"),
                alt.Tooltip("revenue_target:Q", format=",.0f"),
            ],
        )
        .add_params(pick)
    )
    rule = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#64748b", strokeDash=[3, 3]).encode(x="x:Q")
    return (bars + rule).properties(height=max(160, 34 * len(data)))
