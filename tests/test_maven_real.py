"""The real Maven CRM export through examples/maven-crm.yml and the CLI, against its SOURCE.md reference totals."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, real_dataset, run_cli

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def maven_env(tmp_path_factory):
    real_dataset("maven-crm-sales-opportunities")
    data_dir = tmp_path_factory.mktemp("maven")
    env = {"COCKPIT_CONFIG": str(ROOT / "examples" / "maven-crm.yml"), "COCKPIT_DATA_DIR": str(data_dir)}
    sync = json.loads(run_cli("sources", "sync", "--format", "json", env=env).stdout)
    return env, sync


def test_won_deals_amount_and_win_rate_match_source_md(maven_env):
    env, _ = maven_env
    out = json.loads(run_cli("metrics", "query", "won_deals,won_amount,win_rate", "--format", "json", env=env).stdout)
    row = out["rows"][0]
    assert row["won_deals"] == 4238
    assert row["won_amount"] == 10_005_534
    assert round(row["win_rate"], 4) == 0.6315  # 4238 / 6711
    assert out["scope"] == "all"
    assert {c["name"]: c["format"] for c in out["columns"]} == {
        "won_deals": "count",
        "won_amount": "money",
        "win_rate": "percent",
    }


def test_gtxpro_deals_matched_by_key_normalisation_and_reported(maven_env):
    _, sync = maven_env
    pipeline = next(s for s in sync["sources"] if s["name"] == "maven_pipeline")
    assert pipeline["rows_read"] == 8800 and pipeline["rows_loaded"] == 8800
    normalised = [i for i in pipeline["issues"] if i["kind"] == "key_normalised"]
    assert normalised == [
        {"kind": "key_normalised", "detail": "opportunities.product: GTXPro → GTX Pro (1,480 rows)", "count": 1480}
    ]
    assert not [i for i in pipeline["issues"] if i["kind"] in ("key_unmatched", "key_ambiguous")]


def test_won_amount_by_product_keeps_the_gtxpro_deals(maven_env):
    env, _ = maven_env
    out = json.loads(run_cli("metrics", "query", "won_amount", "--by", "product", "--format", "json", env=env).stdout)
    by_product = {r["product"]: r["won_amount"] for r in out["rows"]}
    assert "GTXPro" not in by_product
    assert sum(by_product.values()) == 10_005_534  # nothing dropped by the join


def test_win_rate_by_region_uses_the_reps_regional_office(maven_env):
    env, _ = maven_env
    out = json.loads(
        run_cli("metrics", "query", "won_deals,win_rate", "--by", "region", "--format", "json", env=env).stdout
    )
    rows = {r["region"]: r for r in out["rows"]}
    assert set(rows) == {"Central", "East", "West"}
    assert sum(r["won_deals"] for r in rows.values()) == 4238


def test_unknown_dimension_is_a_usage_error_listing_the_allowed(maven_env):
    env, _ = maven_env
    proc = run_cli("metrics", "query", "win_rate", "--by", "subcategory", env=env, check=False)
    assert proc.returncode == 2
    assert "allowed:" in proc.stderr and "region" in proc.stderr
