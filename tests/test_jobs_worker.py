"""The worker process: runs each source's sync on its schedule, publishes, reports status; one per data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import yaml

from tests.conftest import ROOT, run_cli


def test_worker_syncs_on_schedule_and_a_second_worker_refuses(tmp_path):
    export = tmp_path / "orders.csv"
    export.write_text("order id,order date,amount\nA1,2024-01-01,10\nA2,2024-01-02,20\n", encoding="utf-8")
    config = tmp_path / "worker.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "business": {"timezone": "Asia/Shanghai"},
                "sources": [{"name": "shop", "entity": "orders", "path": str(export), "schedule": "every 10s"}],
            }
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "COCKPIT_CONFIG": str(config), "COCKPIT_DATA_DIR": str(tmp_path / "data")}
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobs", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (tmp_path / "data" / "CURRENT").exists():
            time.sleep(0.5)
        assert (tmp_path / "data" / "CURRENT").exists(), "the worker did not publish within 60 s"
        status = {}
        while time.time() < deadline:
            status = json.loads(run_cli("jobs", "status", "--format", "json", env=env).stdout)
            if any(j["id"] == "sync:every-10s" and j["last_status"] for j in status["jobs"]):
                break
            time.sleep(0.5)
        assert {j["id"] for j in status["jobs"]} == {"sync:every-10s", "inbox"}  # the inbox job loads uploads
        job = next(j for j in status["jobs"] if j["id"] == "sync:every-10s")
        assert job["id"] == "sync:every-10s"
        assert job["last_status"] == "ok" and job["last_run"] and job["next_run"]

        second = run_cli("jobs", "worker", env=env, check=False)
        assert second.returncode == 1 and "already runs" in second.stderr

        out = json.loads(run_cli("metrics", "query", "revenue,orders", "--format", "json", env=env).stdout)
        assert out["rows"] == [{"revenue": 30.0, "orders": 2}]
    finally:
        worker.terminate()
        worker.wait(timeout=20)
