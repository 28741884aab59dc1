"""The product's codes in the reader's language: run statuses, entities, schedules, roles.

Codes stay codes in the data, the JSON and the CLI (CONTRACTS.md); pages show these words instead.
"""

from __future__ import annotations

import re

from metrics.scope import Scope

STATUS = {
    "published": ("已发布", "published"),
    "unchanged": ("无变化", "unchanged"),
    "blocked": ("已拦截", "blocked"),
    "failed": ("失败", "failed"),
    "running": ("运行中", "running"),
    "interrupted": ("已中断", "interrupted"),
    "never run": ("从未运行", "never run"),
    "not_synced": ("未同步", "not synced"),
    "queued": ("排队中", "queued"),
    "loading": ("载入中", "loading"),
    "staged": ("待确认", "awaiting confirmation"),
    "discarded": ("已放弃", "discarded"),
}

ENTITY = {
    "orders": ("订单", "orders"),
    "customers": ("客户", "customers"),
    "products": ("产品", "products"),
    "reps": ("业务员", "reps"),
    "opportunities": ("商机", "opportunities"),
    "opportunity_stages": ("商机阶段", "opportunity stages"),
    "targets": ("目标", "targets"),
    "campaigns": ("市场活动", "campaigns"),
    "campaign_spend": ("活动花费", "campaign spend"),
    "leads": ("线索", "leads"),
    "touchpoints": ("触点", "touchpoints"),
    "activities": ("跟进记录", "activities"),
    "invoices": ("发票", "invoices"),
    "payments": ("回款", "payments"),
    "inventory": ("库存", "inventory"),
    "fx_rates": ("汇率", "FX rates"),
}

ROLE = {
    "director": ("销售总监", "director"),
    "regional_manager": ("区域经理", "regional manager"),
    "team_manager": ("团队经理", "team manager"),
    "rep": ("业务员", "rep"),
    "admin": ("管理员", "admin"),
    "analyst": ("分析师", "analyst"),
}

DIMENSION = {
    "region": ("区域", "region"),
    "team": ("团队", "team"),
    "rep": ("业务员", "rep"),
    "manager": ("经理", "manager"),
    "channel": ("渠道", "channel"),
    "customer": ("客户", "customer"),
    "segment": ("客户类型", "segment"),
    "industry": ("行业", "industry"),
    "country": ("国家", "country"),
    "province": ("省份", "province"),
    "city": ("城市", "city"),
    "location": ("地点", "location"),
    "product": ("产品", "product"),
    "category": ("品类", "category"),
    "subcategory": ("子品类", "subcategory"),
    "series": ("产品系列", "series"),
    "stage": ("阶段", "stage"),
    "campaign": ("市场活动", "campaign"),
}

SIGN_IN = {"password": ("密码", "password"), "oidc": ("单点登录", "single sign-on")}

ACTION = {
    "login": ("登录", "sign-in"),
    "login_failed": ("登录失败", "failed sign-in"),
    "login_locked": ("锁定期间尝试登录", "sign-in while locked"),
    "login_refused": ("身份被拒绝", "identity refused"),
    "locked_out": ("账号锁定", "locked out"),
    "logout": ("退出登录", "sign-out"),
    "admin_unlock": ("管理员解锁", "unlocked by an admin"),
    "export": ("导出", "export"),
    "upload": ("上传", "upload"),
    "upload_discarded": ("放弃上传", "upload discarded"),
}

_EVERY = re.compile(r"every\s+(\d+)\s*(s|m|h|d)", re.IGNORECASE)
_UNITS = {"s": ("秒", "s"), "m": ("分钟", "min"), "h": ("小时", "h"), "d": ("天", "d")}


def word(table: dict[str, tuple[str, str]], code: object, lang: str) -> str:
    """`code` in `lang` from one of the tables above; an unknown code is shown as it is."""
    pair = table.get(str(code))
    if pair is None:
        return "" if code is None else str(code)
    return pair[0] if lang == "zh" else pair[1]


def schedule_words(schedule: str, lang: str) -> str:
    """`every 15m` → 每 15 分钟 / every 15 min; `manual` → 手动; a cron line stays a cron line."""
    text = schedule.strip()
    if text.lower() == "manual":
        return "手动" if lang == "zh" else "manual"
    match = _EVERY.fullmatch(text)
    if match:
        count, unit = match.group(1), _UNITS[match.group(2).lower()]
        return f"每 {count} {unit[0]}" if lang == "zh" else f"every {count} {unit[1]}"
    return f"定时 {text}" if lang == "zh" else f"cron {text}"


def scope_words(scope: Scope, lang: str) -> str:
    """A row scope as a reader says it: 全部, or 区域 华东 · 团队 华东一组 · 业务员 S001."""
    if scope.everything:
        return "全部" if lang == "zh" else "everything"
    if scope.is_empty:
        return "无" if lang == "zh" else "nothing"
    names = {"regions": ("区域", "regions"), "teams": ("团队", "teams"), "reps": ("业务员", "reps")}
    parts = [
        f"{names[kind][0 if lang == 'zh' else 1]} {', '.join(sorted(values))}"
        for kind, values in (("regions", scope.regions), ("teams", scope.teams), ("reps", scope.reps))
        if values
    ]
    return " · ".join(parts)
