"""What must hold before the cockpit serves anyone; `check_startup` raises AuthConfigError saying what to fix.

- Password sign-in: the login cookie is a JWT signed with COCKPIT_COOKIE_KEY. Outside demo mode the key must be
  set, must not be streamlit-authenticator's default (or a documented placeholder) and must be at least 32
  bytes: with a known key anyone can forge a login as anyone. Demo mode generates a key once per data
  directory.
- OpenID Connect: the `[auth]` block of `.streamlit/secrets.toml` must name the redirect URI, a strong
  `cookie_secret` (same rule) and the provider's client id, secret and metadata URL.
- The users file must parse; outside demo mode no user may keep the demo password.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from auth.users import Users, UsersFileError, demo_passwords_in_use, load_users
from core.config import Settings
from core.secrets import secret

LIBRARY_DEFAULT_KEY = "some_key"
# The library's default, its README's example and our own secrets.toml.example placeholder.
KNOWN_KEYS = frozenset({LIBRARY_DEFAULT_KEY, "some_signature_key", "replace-with-64-hex-characters"})
MIN_KEY_BYTES = 32
OIDC_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


class AuthConfigError(RuntimeError):
    """The app must not start as configured; the message says what to set."""


def _strong(value: str | None, name: str, where: str) -> str:
    if not value:
        raise AuthConfigError(
            f"{name} is not set. Set it (at least {MIN_KEY_BYTES} random bytes, e.g. "
            f'`python -c "import secrets; print(secrets.token_hex(32))"`) in {where}; the app will not start '
            "without it."
        )
    if value in KNOWN_KEYS:
        raise AuthConfigError(
            f"{name} is a published example or library default; anyone could forge a login. "
            f"Set a random key of at least {MIN_KEY_BYTES} bytes."
        )
    size = len(value.encode())
    if size < MIN_KEY_BYTES:
        raise AuthConfigError(f"{name} is {size} bytes; use at least {MIN_KEY_BYTES} random bytes.")
    return value


def cookie_key(settings: Settings) -> str:
    """The login cookie's signing key: COCKPIT_COOKIE_KEY (env or secrets.toml); generated once in demo mode."""
    key = secret("COCKPIT_COOKIE_KEY")
    if key is None and settings.demo:
        path = Path(settings.data_dir) / "demo_cookie_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()
    return _strong(key, "COCKPIT_COOKIE_KEY", "the environment or .streamlit/secrets.toml")


def oidc_section() -> dict[str, Any]:
    """The `[auth]` block of Streamlit's secrets (what `st.login` reads), or {} when there is none."""
    import streamlit as st

    try:
        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 - no secrets.toml at all raises; that is "no [auth] block"
        return {}
    return section.to_dict() if hasattr(section, "to_dict") else dict(section or {})


def check_oidc(settings: Settings) -> None:
    """Refuse an OpenID Connect setup `st.login` could not use, or one signed with a weak cookie secret."""
    section = oidc_section()
    where = "the [auth] block of .streamlit/secrets.toml"
    if not section:
        raise AuthConfigError(f"auth.method is oidc but {where} is missing (see README, Sign-in).")
    if not str(section.get("redirect_uri", "")).startswith(("http://", "https://")):
        raise AuthConfigError(f"{where} needs redirect_uri, the app's absolute URL ending in /oauth2callback.")
    _strong(section.get("cookie_secret"), "auth.cookie_secret", where)
    provider = settings.auth.provider
    if provider is not None and "_" in provider:
        raise AuthConfigError(f"auth.provider {provider!r}: Streamlit does not allow _ in a provider name.")
    block = section.get(provider) if provider else section
    label = f"[auth.{provider}]" if provider else "[auth]"
    if not isinstance(block, dict):
        raise AuthConfigError(f"auth.provider is {provider!r} but secrets.toml has no {label} block.")
    missing = [k for k in OIDC_PROVIDER_KEYS if not block.get(k)]
    if missing:
        raise AuthConfigError(f"{label} in .streamlit/secrets.toml is missing {', '.join(missing)}.")


def check_startup(settings: Settings) -> Users:
    """Everything that must hold before the app serves anyone; raises AuthConfigError with what to fix."""
    if settings.auth.method == "oidc":
        check_oidc(settings)
    else:
        cookie_key(settings)
    try:
        users = load_users(settings)
    except UsersFileError as exc:
        raise AuthConfigError(str(exc)) from exc
    if not settings.demo:
        path = Path(users.path)
        stale = demo_passwords_in_use(str(path), path.stat().st_mtime)
        if stale:
            raise AuthConfigError(
                f"users with the demo password outside demo mode: {', '.join(stale)}. Give them real passwords "
                "(`python -m auth hash`) in the users file."
            )
    if settings.auth.method == "oidc" and settings.auth.match == "email":
        emails = [u.email.casefold() for u in users.users.values() if u.email]
        shared = sorted({e for e in emails if emails.count(e) > 1})
        if shared:
            raise AuthConfigError(f"{users.path}: several users share the email {', '.join(shared)}.")
    return users
