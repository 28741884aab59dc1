"""The tiny fixture company of tests/fixtures/metrics/company, synced through the real pipeline.

Every number the metric tests assert on it is worked out by hand from those CSV files (see the comments at
each assertion). `synced_company` writes a copy of its configuration with changes (another calendar, another
new-customer rule), syncs it with `python -m sources sync` into its own data directory and returns the
settings to query it with.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml

from core.config import Settings, load_settings
from tests.conftest import FIXTURES, run_cli

COMPANY = FIXTURES / "metrics" / "company"
Q1 = {"start": dt.date(2026, 1, 1), "end": dt.date(2026, 3, 31)}


def _merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        out[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return out


def synced_company(folder: Path, changes: dict[str, Any] | None = None) -> tuple[Settings, dict]:
    """Sync the company (with configuration `changes`) into `folder`; returns its settings and the sync JSON."""
    config = _merge(yaml.safe_load((COMPANY / "company.yml").read_text(encoding="utf-8")), changes or {})
    for source in config["sources"]:
        source["path"] = str(COMPANY / source["path"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "company.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    data_dir = folder / "data"
    env = {"COCKPIT_CONFIG": str(path), "COCKPIT_DATA_DIR": str(data_dir), "COCKPIT_TODAY": ""}
    report = json.loads(run_cli("sources", "sync", "--format", "json", env=env).stdout)
    return load_settings(path).model_copy(update={"data_dir": data_dir}), report


def with_business(cfg: Settings, **changes: Any) -> Settings:
    """The same company read under another business calendar (applied at query time, no new sync)."""
    return cfg.model_copy(update={"business": cfg.business.model_copy(update=changes)})
