"""The logged-in user as every page sees them: who, which roles, which pages, which rows."""

from __future__ import annotations

from dataclasses import dataclass

from auth.roles import PageInfo, can_open, pages_for
from auth.users import User
from metrics.scope import Scope


@dataclass(frozen=True)
class Principal:
    username: str
    name: str
    roles: tuple[str, ...]
    scope: Scope
    rep_id: str | None = None

    @classmethod
    def from_user(cls, user: User) -> Principal:
        return cls(user.username, user.name, user.roles, user.scope, user.rep_id)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def pages(self) -> list[PageInfo]:
        return pages_for(self.roles)

    def can_open(self, page_key: str) -> bool:
        return can_open(self.roles, page_key)
