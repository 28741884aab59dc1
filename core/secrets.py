"""Secrets by name, from the environment first, then `.streamlit/secrets.toml`; never from the YAML file.

The worker, the CLI and the app read the same names (COCKPIT_COOKIE_KEY, COCKPIT_SMTP_PASSWORD, ...).
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path

from core.config import PROJECT_ROOT


@lru_cache(maxsize=1)
def _secrets_file() -> dict:
    path = Path(os.environ.get("COCKPIT_SECRETS_FILE", PROJECT_ROOT / ".streamlit" / "secrets.toml"))
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def secret(name: str) -> str | None:
    """The secret called `name` (e.g. COCKPIT_COOKIE_KEY), or None when it is set nowhere."""
    value = os.environ.get(name)
    if value:
        return value
    found = _secrets_file().get(name)
    return str(found) if found is not None else None
