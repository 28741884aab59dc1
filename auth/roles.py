"""Roles and the pages each may open (CONTRACTS.md "Pages by role"). Authorization lives here, nowhere else.

A page is identified by a key (its file stem in `pages/`). The router builds the navigation from
`pages_for(roles)`; every page's guard calls `can_open(roles, key)`. A page missing from a role's set is
absent from its navigation and, opened by URL, shows nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "director", "regional_manager", "team_manager", "rep", "analyst")


@dataclass(frozen=True)
class PageInfo:
    key: str
    title_zh: str
    title_en: str
    icon: str
    section: str  # business | pipeline | data | admin
    roles: frozenset[str]

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


_BUSINESS = frozenset({"admin", "director", "analyst", "regional_manager", "team_manager"})
_REP_PAGES = {"overview", "targets", "funnel", "customers", "forecast", "payout"}


def _page(key: str, zh: str, en: str, icon: str, section: str, roles: set[str] | frozenset[str]) -> PageInfo:
    if key in _REP_PAGES:
        roles = set(roles) | {"rep"}
    return PageInfo(key, zh, en, icon, section, frozenset(roles))


# Pages that exist today. Later pages (targets, funnel, customers, forecast, payout, channels, ...) are added
# here with their roles when their files land.
PAGES: dict[str, PageInfo] = {
    p.key: p
    for p in (
        _page("overview", "经营总览", "Overview", ":material/dashboard:", "business", _BUSINESS),
        _page(
            "definitions", "指标口径", "Definitions", ":material/menu_book:", "data", {"admin", "director", "analyst"}
        ),
        _page(
            "data_health",
            "数据健康",
            "Data health",
            ":material/monitor_heart:",
            "data",
            {"admin", "director", "analyst"},
        ),
        _page("audit_log", "审计日志", "Audit log", ":material/policy:", "admin", {"admin"}),
        _page("users", "用户与权限", "Users", ":material/group:", "admin", {"admin"}),
    )
}


def pages_for(roles: tuple[str, ...] | frozenset[str]) -> list[PageInfo]:
    """The pages a user with these roles may open, in navigation order."""
    return [p for p in PAGES.values() if p.roles & set(roles)]


def can_open(roles: tuple[str, ...] | frozenset[str], key: str) -> bool:
    page = PAGES.get(key)
    return page is not None and bool(page.roles & set(roles))
