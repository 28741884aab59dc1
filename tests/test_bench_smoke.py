"""The import benchmark runs end to end on a small file (its figures are printed, never asserted)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_import_benchmark_completes_and_prints_its_ratios():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "import_csv.py"), "--rows", "20000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ratio read+type/baseline:" in proc.stdout
    assert "warning" not in proc.stdout  # every generated row loaded, none rejected, in UTF-8 and in GBK
