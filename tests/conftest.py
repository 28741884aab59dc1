"""Shared fixtures: configurations in temporary data directories, the demo company, the real datasets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("COCKPIT_SHARED", ROOT.parent / "shared"))
REAL = SHARED / "data" / "real"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def real_dataset(name: str) -> Path:
    """A folder of ../shared/data/real; skips with a message when absent, fails in CI (COCKPIT_REQUIRE_SHARED=1)."""
    path = REAL / name
    if not path.exists():
        message = f"real dataset {name} not found at {path} (clone the project beside ../shared to run this test)"
        if os.environ.get("COCKPIT_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def cockpit_env(tmp_path, monkeypatch):
    """Point the cockpit at a configuration written by the test, with its own data directory."""

    def make(config: dict, *, name: str = "test") -> Path:
        cfg_path = tmp_path / f"{name}.yml"
        cfg_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        data_dir = tmp_path / f"data-{name}"
        monkeypatch.setenv("COCKPIT_CONFIG", str(cfg_path))
        monkeypatch.setenv("COCKPIT_DATA_DIR", str(data_dir))
        return cfg_path

    return make


def run_cli(module: str, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run `python -m module args...` as a user would, in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"python -m {module} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}\n{proc.stdout}"
        )
    return proc


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory) -> Path:
    """The demo company generated and synced once per test session, in its own data directory."""
    data_dir = tmp_path_factory.mktemp("demo-data")
    env = {"COCKPIT_CONFIG": str(ROOT / "examples" / "demo.yml"), "COCKPIT_DATA_DIR": str(data_dir)}
    cached = os.environ.get("COCKPIT_TEST_DEMO_EXPORTS")  # optional: reuse exports generated earlier
    if cached and Path(cached).exists():
        shutil.copytree(cached, data_dir / "demo-exports")
    run_cli("demo", "generate", env=env)
    run_cli("sources", "sync", env=env)
    return data_dir


@pytest.fixture
def demo_env(demo_data_dir, monkeypatch) -> Path:
    monkeypatch.setenv("COCKPIT_CONFIG", str(ROOT / "examples" / "demo.yml"))
    monkeypatch.setenv("COCKPIT_DATA_DIR", str(demo_data_dir))
    monkeypatch.delenv("COCKPIT_TODAY", raising=False)
    return demo_data_dir
