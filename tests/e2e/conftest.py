"""One real `streamlit run` server per test session, and Playwright on Debian's Chromium (no browser download)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not chromium:
        pytest.fail("Debian's chromium is not installed (scripts/system-packages.sh installs it)")
    return {
        **browser_type_launch_args,
        "executable_path": chromium,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def app_server(demo_data_dir):
    """The cockpit on the demo company, served on loopback; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "COCKPIT_CONFIG": str(ROOT / "examples" / "demo.yml"), "COCKPIT_DATA_DIR": str(demo_data_dir)}
    env.pop("COCKPIT_TODAY", None)
    log = open(demo_data_dir / "streamlit.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"streamlit did not start; see {demo_data_dir / 'streamlit.log'}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def login(page, base_url: str, user: str, password: str | None = None) -> None:
    """Sign in through the real form, as a person would."""
    page.goto(base_url)
    username = page.get_by_label("用户名")
    username.wait_for(state="visible", timeout=60_000)
    page.wait_for_load_state("networkidle")
    username.fill(user)
    page.get_by_label("密码").fill(password or f"demo-{user}")
    page.get_by_role("button", name="登录").click()


@contextlib.contextmanager
def serve_app(env: dict, log_path: Path, *, extra_args: tuple[str, ...] = (), port: int | None = None) -> Iterator[str]:
    """A fresh `streamlit run app.py` on a free loopback port with `env` (the whole environment); yields its URL.

    For tests that need their own server: a fresh one (no session has run st.navigation yet), another
    configuration, or secrets of their own (`--secrets.files=...` in `extra_args`).
    """
    port = port or _free_port()
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--browser.gatherUsageStats=false",
            *extra_args,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not start; see {log_path}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def demo_env(data_dir: Path, **extra: str) -> dict:
    """The environment of a server on the demo company in `data_dir`."""
    env = {**os.environ, "COCKPIT_CONFIG": str(ROOT / "examples" / "demo.yml"), "COCKPIT_DATA_DIR": str(data_dir)}
    env.pop("COCKPIT_TODAY", None)
    env.update(extra)
    return env


def settled(page) -> None:
    """Wait until the app's current script run is over (all of its elements and frames have arrived)."""
    from playwright.sync_api import expect

    expect(page.locator('[data-test-script-state="notRunning"]')).to_have_count(1, timeout=60_000)


def sign_in(page, base_url: str, user: str, password: str | None = None) -> None:
    """Sign in through the real form, waiting out the reruns that follow a page load first.

    A load is followed by reruns (the cookie component reports, a deep link falls back to the login page);
    while one runs, the old and the new form can both be on the page for a moment.
    """
    from playwright.sync_api import expect

    page.goto(base_url)
    username = page.get_by_label("用户名")
    expect(username).to_have_count(1, timeout=60_000)
    page.wait_for_load_state("networkidle")
    settled(page)
    expect(username).to_have_count(1, timeout=60_000)
    username.fill(user)
    page.get_by_label("密码").fill(password or f"demo-{user}")
    page.get_by_role("button", name="登录").click()
