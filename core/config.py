"""The one configuration file: loaded, variables expanded, validated with errors a user can act on.

`COCKPIT_CONFIG` names the file; the default is the shipped demo configuration (`examples/demo.yml`).
Relative paths inside it resolve against the file's own folder. `${NAME}` expands environment variables and
three built-ins: `${COCKPIT_DATA_DIR}`, `${COCKPIT_SHARED}` (default: `../shared` beside the project) and
`${CONFIG_DIR}`. Secrets never come from this file (see `core.secrets`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = PROJECT_ROOT / "examples" / "demo.yml"
ENTITIES = (
    "orders",
    "customers",
    "products",
    "reps",
    "opportunities",
    "opportunity_stages",
    "targets",
    "campaigns",
    "campaign_spend",
    "leads",
    "touchpoints",
    "activities",
    "invoices",
    "payments",
    "inventory",
    "fx_rates",
)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Business(_Strict):
    """The business calendar and reporting currency every query uses."""

    timezone: str = "Asia/Shanghai"
    week_start: Literal["monday", "sunday", "saturday"] = "monday"
    fiscal_year_start: int = Field(1, ge=1, le=12)
    fiscal_year_label: Literal["end", "start"] = "end"
    currency: str = "CNY"
    holidays: Literal["cn", "none"] = "none"
    holidays_file: Path | None = None
    today: dt.date | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from exc
        return value

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(f"currency must be a three-letter ISO code such as CNY, got {value!r}")
        return value


class Source(_Strict):
    """One configured source: where its data is, which entity it feeds and how its columns map."""

    name: str
    kind: Literal["file", "sql", "rest"] = "file"
    entity: str
    path: Path | None = None
    url: str | None = None
    table: str | None = None
    sheet: str | None = None
    mapping: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    schedule: str = "every 1h"
    reject_threshold: float = Field(0.05, ge=0, le=1)
    allow_empty: bool = False  # an empty load may replace rows (otherwise blocked: a header-only export)
    timezone: str | None = None
    currency: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", value):
            raise ValueError(f"source name {value!r} must be lower-case letters, digits and _ (start with a letter)")
        return value

    @field_validator("entity")
    @classmethod
    def _entity(cls, value: str) -> str:
        if value not in ENTITIES:
            raise ValueError(f"unknown entity {value!r}; entities are: {', '.join(ENTITIES)}")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        from core.schedule import parse_schedule

        parse_schedule(value)
        return value

    @model_validator(mode="after")
    def _location(self) -> Source:
        if self.kind == "file" and self.path is None:
            raise ValueError(f"source {self.name!r}: a file source needs `path`")
        if self.kind in ("sql", "rest") and not self.url:
            raise ValueError(f"source {self.name!r}: a {self.kind} source needs `url`")
        return self


class Stages(_Strict):
    """How deal stages map onto won / lost, and their order for the funnel."""

    order: list[str] = Field(default_factory=list)
    won: list[str] = Field(default_factory=lambda: ["Won", "Closed Won", "赢单", "成交"])
    lost: list[str] = Field(default_factory=lambda: ["Lost", "Closed Lost", "输单", "丢单"])


class Auth(_Strict):
    """How people sign in (README "Sign-in"): users-file passwords, or OpenID Connect through `st.login`.

    Roles and scopes always come from the users file; with `oidc` the provider only proves who someone is.
    """

    method: Literal["password", "oidc"] = "password"
    provider: str | None = None  # oidc: the [auth.<provider>] block of secrets.toml; None = the [auth] block
    provider_label: str | None = None  # oidc: the button reads "Sign in with <label>"
    match: Literal["email", "sub"] = "email"  # oidc: the claim that finds the user (users' email or oidc_sub)


class Settings(_Strict):
    """The validated configuration."""

    demo: bool = False
    title: str = "销售驾驶舱 Sales Cockpit"
    business: Business = Field(default_factory=Business)
    users_file: Path | None = None
    sources: list[Source] = Field(default_factory=list)
    stages: Stages = Field(default_factory=Stages)
    new_customer_rule: Literal["first_order", "first_won_deal"] = "first_order"
    alerts: dict[str, Any] = Field(default_factory=dict)
    auth: Auth = Field(default_factory=Auth)
    # Filled in by the loader, not by the user:
    config_path: Path = DEMO_CONFIG
    data_dir: Path = PROJECT_ROOT / "data"

    @model_validator(mode="after")
    def _unique_sources(self) -> Settings:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
        return self

    def source(self, name: str) -> Source:
        for src in self.sources:
            if src.name == name:
                return src
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"no source named {name!r} in {self.config_path} (configured: {known})")

    @property
    def today(self) -> dt.date:
        """The business date: COCKPIT_TODAY, else `business.today`, else the current date in the business zone."""
        override = os.environ.get("COCKPIT_TODAY")
        if override:
            return dt.date.fromisoformat(override)
        if self.business.today:
            return self.business.today
        return dt.datetime.now(ZoneInfo(self.business.timezone)).date()


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def config_path() -> Path:
    """The configuration file in force: `COCKPIT_CONFIG` or the shipped demo configuration."""
    raw = os.environ.get("COCKPIT_CONFIG")
    return Path(raw).expanduser().resolve() if raw else DEMO_CONFIG


def data_dir_for(path: Path) -> Path:
    """`COCKPIT_DATA_DIR`, else `data/` for the demo configuration and `data/<stem>/` for any other."""
    raw = os.environ.get("COCKPIT_DATA_DIR")
    if raw:
        return Path(raw).expanduser().resolve()
    if path.resolve() == DEMO_CONFIG.resolve():
        return PROJECT_ROOT / "data"
    return PROJECT_ROOT / "data" / path.stem


def _expand(value: Any, variables: dict[str, str], where: str) -> Any:
    if isinstance(value, str):

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return variables[name]
            if name in os.environ:
                return os.environ[name]
            raise ConfigError(f"{where}: variable ${{{name}}} is not set")

        return _VAR.sub(repl, value)
    if isinstance(value, dict):
        return {k: _expand(v, variables, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, variables, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _resolve(path: Path | None, base: Path) -> Path | None:
    if path is None:
        return None
    return path if path.is_absolute() else (base / path).resolve()


def load_settings(path: Path | None = None) -> Settings:
    """Read, expand and validate a configuration file. Raises ConfigError naming the file and the field."""
    path = (path or config_path()).resolve()
    if not path.exists():
        raise ConfigError(f"configuration file not found: {path} (set COCKPIT_CONFIG)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    data_dir = data_dir_for(path)
    shared = os.environ.get("COCKPIT_SHARED", str((PROJECT_ROOT.parent / "shared").resolve()))
    variables = {"COCKPIT_DATA_DIR": str(data_dir), "COCKPIT_SHARED": shared, "CONFIG_DIR": str(path.parent)}
    expanded = _expand(raw, variables, path.name)
    for key in ("config_path", "data_dir"):
        if key in expanded:
            raise ConfigError(f"{path}: `{key}` is set by the loader, not in the file")
    try:
        settings = Settings(**expanded, config_path=path, data_dir=data_dir)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
    base = path.parent
    sources = [
        src.model_copy(update={"path": _resolve(src.path, base)}) if src.path is not None else src
        for src in settings.sources
    ]
    business = settings.business.model_copy(update={"holidays_file": _resolve(settings.business.holidays_file, base)})
    return settings.model_copy(
        update={"sources": sources, "business": business, "users_file": _resolve(settings.users_file, base)}
    )


@lru_cache(maxsize=8)
def _cached(path: str, mtime: float, env_key: tuple[str | None, ...]) -> Settings:
    return load_settings(Path(path))


def settings() -> Settings:
    """The configuration in force, re-read when the file or the relevant environment changes."""
    path = config_path()
    mtime = path.stat().st_mtime if path.exists() else 0.0
    env_key = tuple(os.environ.get(k) for k in ("COCKPIT_DATA_DIR", "COCKPIT_SHARED", "COCKPIT_TODAY"))
    return _cached(str(path), mtime, env_key)
