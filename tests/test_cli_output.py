"""What the `python -m metrics` table says to a person at a terminal, and how it ends inside a pipe."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from core.config import settings
from metrics.formatting import format_change
from tests.conftest import ROOT, run_cli


def _env() -> dict[str, str]:
    return {"COCKPIT_CONFIG": os.environ["COCKPIT_CONFIG"], "COCKPIT_DATA_DIR": os.environ["COCKPIT_DATA_DIR"]}


def test_cli_table_signs_changes_and_moves_ratios_in_points(demo_env):
    cfg = settings()
    span = ["--from", cfg.today.replace(day=1).isoformat(), "--to", cfg.today.isoformat(), "--compare", "previous"]
    ask = ["metrics", "query", "revenue,gross_margin_rate", *span]
    row = json.loads(run_cli(*ask, "--format", "json", env=_env()).stdout)["rows"][0]
    lines = run_cli(*ask, env=_env()).stdout.splitlines()
    header, cells = (re.split(r"\s{2,}", line.strip()) for line in (lines[1], lines[3]))
    table = dict(zip(header, cells, strict=True))
    # The sign follows the JSON's unrounded change; a ratio's change is in points, not percent.
    assert table["revenue__delta"] == format_change(row["revenue__delta"], "money")
    assert table["revenue__delta"][0] in "+-" and (table["revenue__delta"][0] == "+") == (row["revenue__delta"] > 0)
    assert table["gross_margin_rate__delta"] == format_change(row["gross_margin_rate__delta"], "percent")
    assert table["gross_margin_rate__delta"].endswith(" pp")


def test_output_piped_into_head_ends_quietly_without_a_traceback(demo_env):
    """`python -m metrics query … | head` once ended in a BrokenPipeError traceback and an 'error:' line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "metrics", "query", "revenue", "--by", "customer", "--grain", "day", "--format", "csv"],
        cwd=ROOT,
        env={**os.environ, **_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline().startswith(b"period,period_label,customer")
    proc.stdout.close()  # the reader stops, as `head -1` does, long before the rows are written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "error" not in err, err


def test_cli_table_says_the_sync_time_on_the_business_clock_not_utc(demo_env):
    """The table's first line once read 'as of … UTC' while every page shows the business clock."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    cfg = settings()
    as_of = dt.datetime.fromisoformat(
        json.loads(run_cli("metrics", "query", "orders", "--format", "json", env=_env()).stdout)["as_of"]
    )
    first = run_cli("metrics", "query", "orders", env=_env()).stdout.splitlines()[0]
    local = as_of.astimezone(ZoneInfo(cfg.business.timezone))
    assert first.startswith(f"as of {local:%Y-%m-%d %H:%M} {cfg.business.timezone} · snapshot "), first
    assert "UTC" not in first


def test_a_broken_pipe_that_is_not_stdouts_is_an_error_not_a_quiet_exit_141():
    """run_main once took any BrokenPipeError (a dropped database socket too) for `| head` and exited 141."""
    import pytest

    from core.cli import run_main

    def drops_a_connection() -> int:
        print("partial output")
        raise BrokenPipeError("the SMTP server went away")

    with pytest.raises(BrokenPipeError, match="SMTP"):
        run_main(drops_a_connection)


def test_a_reader_that_stops_early_still_ends_quietly_with_141():
    code = "from core.cli import run_main\ndef main():\n    for i in range(200000):\n        print(i)\n    return 0\nrun_main(main)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"0\n"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert "Traceback" not in err, err
