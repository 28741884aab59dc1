"""Schema drift: a new column, a missing column, a date column whose format changed and an amount column that
stopped parsing are reported as `schema_drift` issues against the previous successful load."""

from __future__ import annotations

import json

from core.appstate import AppState
from core.config import settings
from sources.__main__ import main as sources_main

FIRST = "order id,order date,amount,channel\nA1,2024-01-05,10,直销\nA2,2024-01-20,20,电商\nA3,2024-02-03,30,直销\n"
# `channel` gone, `region` new, dates now day-first with slashes (20/01/2024 cannot be month-first).
SECOND = "order id,order date,amount,region\nA1,05/01/2024,10,华东\nA2,20/01/2024,20,华北\nA3,03/02/2024,30,华东\n"
# The amount column now holds text: every row is rejected, the load is blocked, and drift says why.
THIRD = "order id,order date,amount,region\nA1,05/01/2024,N/A,华东\nA2,20/01/2024,N/A,华北\nA3,03/02/2024,N/A,华东\n"


def _sync(capsys) -> tuple[int, dict]:
    code = sources_main(["sync", "--format", "json"])
    (source,) = json.loads(capsys.readouterr().out)["sources"]
    return code, source


def _drift(source: dict) -> dict[str, tuple[str, int]]:
    return {
        i["detail"].split(" since")[0]: (i["detail"], i["count"])
        for i in source["issues"]
        if i["kind"] == "schema_drift"
    }


def test_new_missing_and_retyped_columns_are_reported_against_the_last_good_load(cockpit_env, tmp_path, capsys):
    export = tmp_path / "orders.csv"
    export.write_text(FIRST, encoding="utf-8")
    cockpit_env({"sources": [{"name": "shop", "entity": "orders", "path": str(export), "schedule": "manual"}]})
    code, first = _sync(capsys)
    assert code == 0 and _drift(first) == {}  # nothing to compare with yet

    export.write_text(SECOND, encoding="utf-8")
    code, second = _sync(capsys)
    assert code == 0 and second["status"] == "published"
    drift = _drift(second)
    assert drift["new columns"] == ("new columns since the last good load: region", 1)
    assert drift["missing columns"] == ("missing columns since the last good load: channel", 1)
    assert drift["retyped columns"] == (
        "retyped columns since the last good load: "
        "order date (order_date: timestamp %Y-%m-%d → order_date: timestamp %d/%m/%Y)",
        1,
    )
    run = AppState(settings().data_dir).runs("shop", limit=1)[0]
    assert {c["column"]: c["change"] for c in run["details"]["drift"]} == {
        "region": "new",
        "channel": "missing",
        "order date": "retyped",
    }
    assert run["details"]["schema"]["region"] == {"field": "region", "type": "text", "failed": 0}

    export.write_text(THIRD, encoding="utf-8")
    code, third = _sync(capsys)
    assert code == 1 and third["status"] == "blocked" and third["rows_rejected"] == 3
    # Compared with the second load (the last successful one), not the first: only `amount` changed.
    assert _drift(third) == {
        "retyped columns": (
            "retyped columns since the last good load: amount (amount: money → amount: text (does not parse as money))",
            1,
        )
    }
