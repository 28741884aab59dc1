"""Join keys that differ in spelling are matched by one general normalisation; ambiguity is never guessed."""

from __future__ import annotations

import json

import duckdb

from core.config import settings
from core.warehouse import current_snapshot
from sources.__main__ import main as sources_main
from sources.keys import KeyIndex, normalise_key


def test_normalise_key_folds_case_space_punctuation_and_width():
    assert normalise_key("GTX Pro") == normalise_key("GTXPro") == normalise_key("gtx-pro") == "gtxpro"
    assert normalise_key("ＧＴＸ　Ｐｒｏ") == "gtxpro"  # full-width letters and space
    assert normalise_key("华东 一组") == "华东一组"


def test_ambiguous_normalised_key_stays_unmatched():
    index = KeyIndex([("P1", "GTX Pro"), ("P2", "GTX-Pro"), ("P3", "MG Special")])
    assert index.match("GTXPro").method == "ambiguous"
    assert index.match("GTXPro").member_id is None
    assert index.match("MGSpecial").member_id == "P3"
    assert index.match("P2").method == "id"
    assert index.match("Nope").method == "unmatched"


def test_ambiguous_product_rows_stay_unmatched_and_are_reported(tmp_path, cockpit_env, capsys):
    products = tmp_path / "products.csv"
    products.write_text("product id,product name,category\nP1,GTX Pro,A\nP2,GTX-Pro,B\nP3,MG Special,C\n")
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "opportunity id,product,stage,amount,close date\nD1,GTXPro,Won,10,2024-01-02\nD2,MGSpecial,Won,5,2024-01-03\n"
    )
    cockpit_env(
        {
            "sources": [
                {"name": "products", "entity": "products", "path": str(products), "schedule": "manual"},
                {
                    "name": "deals",
                    "entity": "opportunities",
                    "path": str(deals),
                    "schedule": "manual",
                    "mapping": {"product_name": "product"},
                },
            ]
        }
    )
    assert sources_main(["sync", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    deals_report = next(s for s in report["sources"] if s["name"] == "deals")
    kinds = {i["kind"]: i for i in deals_report["issues"]}
    assert kinds["key_ambiguous"]["count"] == 1 and "GTX Pro" in kinds["key_ambiguous"]["detail"]
    assert kinds["key_normalised"]["count"] == 1 and "MGSpecial → MG Special" in kinds["key_normalised"]["detail"]
    con = duckdb.connect(str(current_snapshot(settings().data_dir).path), read_only=True)
    rows = dict(con.execute("SELECT opportunity_id, category FROM opportunities").fetchall())
    con.close()
    assert rows == {"D1": None, "D2": "C"}  # the ambiguous deal is kept, unmatched; never assigned to A or B
