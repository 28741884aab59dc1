"""zh-CN and English strings of the pages. Chinese is the default; `?lang=en` switches."""

from __future__ import annotations

import streamlit as st

STRINGS: dict[str, tuple[str, str]] = {
    "demo_banner": (
        "演示模式：数据来自内置的演示公司「华信科技」（程序生成），账号见登录页。",
        "Demo mode: the data is the built-in, generated demo company 华信科技; accounts are listed on the login page.",
    ),
    "as_of": ("数据截至", "Data as of"),
    "synced": ("同步于", "synced"),
    "stale": ("数据已过期", "stale"),
    "day_gaps": (
        "以下日期数据源没有任何记录（导出可能未运行，当天数字偏低不代表业务变化）",
        "No rows at all on these days (an export may not have run; low numbers there are not the business)",
    ),
    "stale_sources": (
        "以下数据源同步失败，显示的是上次成功的数据：",
        "These sources failed to sync; their last good data is shown:",
    ),
    "period": ("期间", "Period"),
    "mtd": ("本月至今", "Month to date"),
    "last_month": ("上月", "Last month"),
    "qtd": ("本季至今", "Quarter to date"),
    "ytd": ("本年至今", "Year to date"),
    "last_30": ("近30天", "Last 30 days"),
    "custom": ("自定义", "Custom"),
    "vs_previous": ("较上期", "vs previous period"),
    "vs_last_year": ("较去年同期", "vs same period last year"),
    "revenue_trend": ("销售额趋势（近12个月）", "Revenue trend (last 12 months)"),
    "attainment_by_team": ("各团队目标达成", "Target attainment by team"),
    "attainment_by_own": ("我的目标达成", "My target attainment"),
    "attainment_by_rep": ("各业务员目标达成", "Target attainment by rep"),
    "target": ("目标", "Target"),
    "on_target": ("已达成（≥100%）", "On target (≥100%)"),
    "below_target": ("未达成", "Below target"),
    "actual": ("实际", "Actual"),
    "month": ("月份", "Month"),
    "team": ("团队", "Team"),
    "rep": ("业务员", "Rep"),
    "no_data": (
        "暂无数据。请先运行一次同步（python -m sources sync）。",
        "No data yet. Run a sync first (python -m sources sync).",
    ),
    "no_rows": ("所选期间和范围内没有数据。", "No data for this period and scope."),
    "not_allowed": ("你没有权限查看此页面。", "You are not allowed to open this page."),
    "please_login": ("请先登录。", "Please sign in first."),
    "logout": ("退出登录", "Sign out"),
    "scope": ("数据范围", "Scope"),
    "scope_all": ("全部", "everything"),
    "language": ("Language / 语言", "Language / 语言"),
    "demo_accounts": ("演示账号（密码为 demo-用户名）", "Demo accounts (password: demo-<username>)"),
    "startup_refused": ("驾驶舱无法启动", "The cockpit cannot start"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "export_excel": ("导出 Excel", "Export Excel"),
    "team_table": ("各团队明细", "Teams in detail"),
    "own_table": ("我的明细", "My numbers in detail"),
    "rep_table": ("各业务员明细", "Reps in detail"),
    "top_customers": ("前十大客户", "Top ten customers"),
    "customer": ("客户", "Customer"),
    "revenue": ("销售额", "Revenue"),
    "attainment": ("目标达成率", "Attainment"),
    "audit_action": ("操作", "Action"),
    "audit_user": ("用户", "User"),
    "nothing_recorded": ("暂无记录。", "Nothing recorded yet."),
}


def lang() -> str:
    """The page language: `?lang=en` or `?lang=zh` in the URL, else Chinese."""
    value = st.query_params.get("lang", "zh")
    return "en" if value == "en" else "zh"


def t(key: str) -> str:
    zh, en = STRINGS[key]
    return en if lang() == "en" else zh
