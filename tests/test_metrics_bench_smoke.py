"""The metric overview benchmark runs end to end on a small company (a smoke run: no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_overview_benchmark_completes_and_its_three_sides_agree(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "metrics_overview.py"),
            "--rows",
            "20000",
            "--db",
            str(tmp_path / "o.duckdb"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "overview numbers agree on all three sides" in proc.stdout
    assert "ratio metric layer / hand SQL:" in proc.stdout
