"""The users file: username → name, e-mail, bcrypt hash, roles, scope and (for a rep) the rep id.

```yaml
users:
  director: {name: 周敏, email: d@x.cn, password: "$2b$12$...", roles: [director], scope: all}
  regional: {name: ..., password: ..., roles: [regional_manager], scope: {regions: [华东]}}
  rep:      {name: ..., password: ..., roles: [rep], rep_id: S001}      # scope defaults to reps: [S001]
  wang:     {name: 王芳, email: wang@acme.cn, roles: [analyst], oidc_sub: "00u1ab"}   # OpenID Connect only
```
Admin and analyst have `all` unless a scope restricts them. Passwords are stored as bcrypt hashes only
(`python -m auth hash` prints one); a user without one can sign in only through OpenID Connect, found by the
`email` or `oidc_sub` the provider vouches for. Usernames are lower-case (the login form lower-cases what is
typed). Outside demo mode, a user whose password is still the demo password is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from auth.roles import ROLES
from metrics.scope import Scope

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class UsersFileError(Exception):
    """The users file cannot be used; the message names the file, the user and the field."""


class UnknownUserError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str
    password_hash: str | None
    roles: tuple[str, ...]
    scope: Scope
    rep_id: str | None = None
    oidc_sub: str | None = None


@dataclass(frozen=True)
class Users:
    path: Path
    users: dict[str, User]

    def get(self, username: str) -> User:
        if username not in self.users:
            raise UnknownUserError(f"no user {username!r} in {self.path}; users: {', '.join(sorted(self.users))}")
        return self.users[username]

    def credentials(self) -> dict[str, Any]:
        """The dict streamlit-authenticator takes (pre-hashed; passed as a dict so it never rewrites a file)."""
        return {
            "usernames": {
                u.username: {
                    "email": u.email,
                    "first_name": u.name,
                    "last_name": "",
                    "password": u.password_hash,
                    "roles": list(u.roles),
                }
                for u in self.users.values()
                if u.password_hash  # OIDC-only users have no password to check
            }
        }

    def by_identity(self, claim: str, value: str | None) -> User | None:
        """The user an OpenID Connect identity names: `email` (case-insensitive) or `sub` (the user's oidc_sub)."""
        if not value:
            return None
        if claim == "email":
            found = [u for u in self.users.values() if u.email and u.email.casefold() == value.casefold()]
        else:
            found = [u for u in self.users.values() if u.oidc_sub and u.oidc_sub == value]
        return found[0] if len(found) == 1 else None


def _scope(raw: Any, roles: tuple[str, ...], rep_id: str | None, where: str) -> Scope:
    if raw in (None, ""):
        if {"admin", "analyst", "director"} & set(roles):
            return Scope.all()
        if rep_id:
            return Scope.of(reps=[rep_id])
        raise UsersFileError(f"{where}: scope is required for roles {', '.join(roles)} (all, or regions/teams/reps)")
    if raw == "all":
        return Scope.all()
    if not isinstance(raw, dict) or not set(raw) <= {"regions", "teams", "reps"}:
        raise UsersFileError(f"{where}: scope must be `all` or a mapping of regions, teams and reps lists")
    for key, values in raw.items():
        if not isinstance(values, list) or not all(isinstance(v, (str, int)) for v in values):
            raise UsersFileError(f"{where}.{key}: expected a list of values")
    return Scope.of(regions=raw.get("regions", []), teams=raw.get("teams", []), reps=raw.get("reps", []))


def parse_users(path: Path) -> Users:
    """Read and validate a users file."""
    if not path.exists():
        raise UsersFileError(f"users file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UsersFileError(f"{path}: not valid YAML: {exc}") from exc
    entries = raw.get("users")
    if not isinstance(entries, dict) or not entries:
        raise UsersFileError(f"{path}: expected a `users:` mapping with at least one user")
    users = {}
    for username, spec in entries.items():
        where = f"{path}: users.{username}"
        if not isinstance(spec, dict):
            raise UsersFileError(f"{where}: expected a mapping")
        unknown = set(spec) - {"name", "email", "password", "roles", "scope", "rep_id", "oidc_sub"}
        if unknown:
            raise UsersFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if not _USERNAME.fullmatch(str(username)):
            raise UsersFileError(
                f"{where}: a username is lower-case letters, digits and . _ - (the login form lower-cases input)"
            )
        password = spec.get("password")
        if password is not None:
            password = str(password)
            if not password.startswith(("$2a$", "$2b$", "$2y$")) or len(password) != 60:
                raise UsersFileError(f"{where}.password: must be a bcrypt hash (make one with `python -m auth hash`)")
        elif not spec.get("email") and not spec.get("oidc_sub"):
            raise UsersFileError(
                f"{where}.password: a user without a password signs in through OpenID Connect and needs an email "
                "or oidc_sub"
            )
        roles = tuple(spec.get("roles") or ())
        bad = [r for r in roles if r not in ROLES]
        if not roles or bad:
            raise UsersFileError(f"{where}.roles: {', '.join(bad) or 'none given'}; roles are {', '.join(ROLES)}")
        rep_id = str(spec["rep_id"]) if spec.get("rep_id") is not None else None
        if "rep" in roles and not rep_id:
            raise UsersFileError(f"{where}.rep_id: a rep must say which rep id they are")
        users[str(username)] = User(
            username=str(username),
            name=str(spec.get("name") or username),
            email=str(spec.get("email") or ""),
            password_hash=password,
            roles=roles,
            scope=_scope(spec.get("scope"), roles, rep_id, where + ".scope"),
            rep_id=rep_id,
            oidc_sub=str(spec["oidc_sub"]) if spec.get("oidc_sub") is not None else None,
        )
    return Users(path, users)


@lru_cache(maxsize=8)
def _cached(path: str, mtime: float) -> Users:
    return parse_users(Path(path))


def load_users(settings) -> Users:  # noqa: ANN001 - core.config.Settings
    """The users of a configuration (re-read when the file changes)."""
    if settings.users_file is None:
        raise UsersFileError(f"{settings.config_path}: `users_file` is not set")
    path = Path(settings.users_file)
    return _cached(str(path), path.stat().st_mtime if path.exists() else 0.0)


def hash_password(password: str) -> str:
    """A bcrypt hash (cost 12) for the users file."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(12)).decode()


def check_password(password: str, password_hash: str) -> bool:
    return bcrypt.checkpw(password.encode(), password_hash.encode())


@lru_cache(maxsize=8)
def demo_passwords_in_use(path: str, mtime: float) -> tuple[str, ...]:
    """Users whose password is still `demo-<username>` (refused outside demo mode)."""
    users = parse_users(Path(path))
    return tuple(
        u.username
        for u in users.users.values()
        if u.password_hash and check_password(f"demo-{u.username}", u.password_hash)
    )
