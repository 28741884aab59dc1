from cockpit_ui.guard import require

principal = require("overview")

# 经营总览 Overview — the director's one screen.
# A row of KPI cards for the chosen period (value; change against the same span last year for a to-date
# period, else against the period before; sparkline; 口径 on hover), the revenue trend of the last twelve
# months against target, and target attainment by team with the team table and its CSV/Excel export, and the
# ten largest customers — every number from the metric layer, for the signed-in user's scope only.

import datetime as dt

import streamlit as st

from cockpit_ui.charts import attainment_bars, revenue_trend
from cockpit_ui.columns import metric_column
from cockpit_ui.data import app_settings, live_snapshot, metric_answer
from cockpit_ui.export import export_buttons
from cockpit_ui.i18n import lang, t
from cockpit_ui.kpi import kpi_card
from cockpit_ui.layout import as_of_stamp, day_gap_notice
from cockpit_ui.periods import period_picker
from metrics.query import grain_allowed
from metrics.spec import load_catalog

KPIS = (
    "revenue",
    "gross_margin",
    "gross_margin_rate",
    "orders",
    "new_customers",
    "win_rate",
    "deal_cycle_days",
    "target_attainment",
)

cfg = app_settings()
money = cfg.business.currency
catalog = load_catalog()
st.title("经营总览" if lang() == "zh" else "Overview")
snapshot = live_snapshot(cfg)
if snapshot is None:
    st.info(t("no_data"))
    st.stop()
as_of_stamp(cfg, snapshot)
period = period_picker(cfg.today)
day_gap_notice(cfg, snapshot, period.start, period.end)
st.caption(f"{period.start.isoformat()} — {period.end.isoformat()} · {t('vs_' + period.comparison)}")

totals = metric_answer(
    KPIS, principal.scope, snapshot, start=period.start, end=period.end, compare=(period.comparison,)
)
# Sparklines for the KPIs that have a value per day or week (a monthly target does not).
trended = tuple(name for name in KPIS if grain_allowed(catalog, name, period.trend_grain))
series = metric_answer(trended, principal.scope, snapshot, start=period.start, end=period.end, grain=period.trend_grain)
row = totals.frame.iloc[0]
with st.container(horizontal=True, key="kpi_row"):
    for name in KPIS:
        kpi_card(
            catalog.metric(name),
            row,
            series.frame[name] if name in trended and not series.frame.empty else None,
            lang=lang(),
            currency=cfg.business.currency,
            comparison=period.comparison,
            compared_with=t("vs_" + period.comparison),
        )

left, right = st.columns([3, 2])
with left:
    st.subheader(t("revenue_trend"))
    trend_start = (period.end.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
    trend = metric_answer(
        ("revenue", "revenue_target"), principal.scope, snapshot, start=trend_start, end=period.end, grain="month"
    )
    if trend.frame.empty:
        st.info(t("no_rows"))
    else:
        label = catalog.metric("revenue").text(lang())[0]
        st.altair_chart(
            revenue_trend(
                trend.frame,
                value_title=label,
                target_title=t("target"),
                month_title=t("month"),
                lang=lang(),
                currency=money,
            ),
            key="trend",
            on_select="rerun",
        )
# Attainment per team; a team manager sees their team's reps; a rep sees their own line under their own name.
level = principal.scope.breakdown
own = level == "rep" and principal.rep_id is not None and principal.scope.reps == {principal.rep_id}
heading = "own" if own else level
with right:
    st.subheader(t(f"attainment_by_{heading}"))
    teams = metric_answer(
        ("revenue", "revenue_target", "target_attainment"),
        principal.scope,
        snapshot,
        by=(level,),
        start=period.start,
        end=period.end,
    )
    frame = teams.frame.dropna(subset=[level])
    if frame.empty or frame["target_attainment"].isna().all():
        st.info(t("no_rows"))
    else:
        st.altair_chart(
            attainment_bars(
                frame,
                dim=level,
                dim_title=t(level),
                value_title=catalog.metric("target_attainment").text(lang())[0],
                revenue_title=t("revenue"),
                target_title=t("target"),
                ahead_title=t("on_target"),
                behind_title=t("below_target"),
                lang=lang(),
                currency=money,
            ),
            key="attainment",
            on_select="rerun",
        )

team_rows = frame[[level, "revenue", "revenue_target", "target_attainment"]].reset_index(drop=True)
team_labels = (("revenue", t("revenue")), ("revenue_target", t("target")), ("target_attainment", t("attainment")))
if not team_rows.empty:
    st.subheader(t(f"{heading}_table"))
    st.dataframe(
        team_rows,
        hide_index=True,
        width="stretch",
        key="team_table",
        column_config={
            level: st.column_config.TextColumn(t(level)),
            **{
                name: metric_column(catalog.metric(name), label, lang=lang(), currency=money)
                for name, label in team_labels
            },
        },
    )
    export_buttons(team_rows, what=f"overview_{level}s", principal=principal, cfg=cfg, key="team_table")

customers = metric_answer(("revenue",), principal.scope, snapshot, by=("customer",), start=period.start, end=period.end)
top = customers.frame.dropna(subset=["customer"]).nlargest(10, "revenue")[["customer", "revenue"]]
if not top.empty:
    st.subheader(t("top_customers"))
    st.dataframe(
        top.reset_index(drop=True),
        hide_index=True,
        width="stretch",
        key="top_customers",
        column_config={
            "customer": st.column_config.TextColumn(t("customer")),
            "revenue": metric_column(catalog.metric("revenue"), t("revenue"), lang=lang(), currency=money),
        },
    )
