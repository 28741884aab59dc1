"""Each fact row takes the rep's team, manager and region as of its own day (conform's as-of roster join)."""

from __future__ import annotations

import duckdb

from core.config import settings
from core.warehouse import current_snapshot
from sources.__main__ import main as sources_main

ROSTER = """rep_id,rep_name,manager,team,region,valid_from
S1,Ann,Mia,North,N,2025-01-01
S1,Ann,Max,South,S,2025-07-01
S2,Bob,Mia,East,E,2025-03-01
"""

ORDERS = """order id,order date,rep,amount
A1,2024-12-15,Ann,10
A2,2025-06-30,Ann,20
A3,2025-07-01 00:30:00,Ann,40
A4,2025-07-02,Bob,80
A5,2025-02-01,Bob,160
A6,2025-07-03,Nobody,320
A7,2025-09-30,Ann,640
"""


def test_rows_take_the_roster_as_of_their_day_even_before_the_first_assignment(tmp_path, cockpit_env):
    """Regression for the as-of join moved onto distinct (rep, day) pairs: same answer as a per-row as-of join.

    Worked out by hand: Ann is in North from 2025-01-01 and in South from 2025-07-01; Bob is in East from
    2025-03-01. A row dated before a rep's first assignment takes that first assignment (A1, A5); a rep not in
    the roster has no team (A6).
    """
    (tmp_path / "reps.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    cockpit_env(
        {
            "business": {"timezone": "Asia/Shanghai", "currency": "CNY"},
            "sources": [
                {"name": "roster", "entity": "reps", "path": str(tmp_path / "reps.csv"), "schedule": "manual"},
                {"name": "orders", "entity": "orders", "path": str(tmp_path / "orders.csv"), "schedule": "manual"},
            ],
        }
    )
    assert sources_main(["sync", "--format", "json"]) == 0
    with duckdb.connect(str(current_snapshot(settings().data_dir).path), read_only=True) as con:
        rows = con.execute("SELECT order_id, rep_id, team, manager, region, amount FROM orders ORDER BY 1").fetchall()
    assert rows == [
        ("A1", "S1", "North", "Mia", "N", 10.0),
        ("A2", "S1", "North", "Mia", "N", 20.0),
        ("A3", "S1", "South", "Max", "S", 40.0),
        ("A4", "S2", "East", "Mia", "E", 80.0),
        ("A5", "S2", "East", "Mia", "E", 160.0),
        ("A6", None, None, None, None, 320.0),
        ("A7", "S1", "South", "Max", "S", 640.0),
    ]
