"""`python -m metrics diff`: a change of 口径 is seen, month by month, before it ships."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import pytest

from core.warehouse import current_snapshot
from metrics.catalog import DEFINITIONS_DIR, MODELS_DIR, load_catalog
from metrics.diff import run_diff
from tests.conftest import run_cli
from tests.metrics_company import synced_company


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    cfg, _ = synced_company(tmp_path_factory.mktemp("diff-company"))
    return cfg


def _git(repo, *args):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env={**env, "PATH": "/usr/bin:/bin"}
    )


@pytest.fixture
def repo(tmp_path):
    """A git repository holding today's definitions in its last commit (the project's own git is untouched)."""
    root = tmp_path / "repo"
    shutil.copytree(MODELS_DIR, root / "metrics" / "models")
    shutil.copytree(DEFINITIONS_DIR, root / "metrics" / "definitions")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "definitions")
    return root


def _diff(repo, company, rev="HEAD"):
    out = io.StringIO()
    current = load_catalog(repo / "metrics" / "models", repo / "metrics" / "definitions")
    code = run_diff(
        rev, "json", root=repo, current=current, cfg=company, snapshot=current_snapshot(company.data_dir), out=out
    )
    return code, json.loads(out.getvalue())


def test_a_changed_definition_shows_the_months_it_moves(repo, company):
    defs = repo / "metrics" / "definitions"
    revenue = defs / "revenue.yml"
    # The new 口径 also leaves out return lines: only February 2026 (the −1000 return of R01) moves.
    revenue.write_text(
        revenue.read_text(encoding="utf-8").replace(
            "  - {field: is_cancelled, op: eq, value: false}\n",
            "  - {field: is_cancelled, op: eq, value: false}\n  - {field: is_return, op: eq, value: false}\n",
        ),
        encoding="utf-8",
    )
    (defs / "unit_sales.yml").unlink()
    shutil.copy(defs / "orders.yml", defs / "orders_copy.yml")
    (defs / "orders_copy.yml").write_text(
        (defs / "orders_copy.yml").read_text(encoding="utf-8").replace("name: orders", "name: orders_copy"),
        encoding="utf-8",
    )
    code, body = _diff(repo, company)
    assert code == 0
    metrics = {m["name"]: m for m in body["metrics"]}
    assert metrics["revenue"]["status"] == "changed" and metrics["revenue"]["definition_changed"]
    assert metrics["revenue"]["periods"] == [
        {
            "period": "2026-02-01",
            "period_label": "2026-02",
            "before": pytest.approx(5170),
            "after": pytest.approx(6170),
            "delta": pytest.approx(1000),
            "delta_pct": pytest.approx(1000 / 5170),
        }
    ]
    # revenue_ytd has its own definition: untouched. Derived metrics built on revenue move with it.
    assert metrics["revenue_ytd"]["status"] == "unchanged"
    assert metrics["average_order_value"]["status"] == "changed"
    assert metrics["unit_sales"]["status"] == "removed"
    assert metrics["orders_copy"]["status"] == "added"
    assert metrics["orders"]["status"] == "unchanged" and not metrics["orders"]["definition_changed"]


def test_a_definition_that_no_longer_loads_is_reported_not_fatal(repo, company):
    (repo / "metrics" / "definitions" / "win_rate.yml").write_text("name: win_rate\ntype: ratio\n", encoding="utf-8")
    _git(repo, "commit", "-q", "-am", "broken win_rate")
    (repo / "metrics" / "definitions" / "win_rate.yml").write_text(
        (DEFINITIONS_DIR / "win_rate.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    code, body = _diff(repo, company)
    assert code == 0
    win_rate = next(m for m in body["metrics"] if m["name"] == "win_rate")
    assert win_rate["status"] == "error" and "win_rate.yml" in win_rate["error"]


def test_cli_exits_0_and_fails_only_when_it_cannot_run(company):
    env = {"COCKPIT_CONFIG": str(company.config_path), "COCKPIT_DATA_DIR": str(company.data_dir)}
    ok = run_cli("metrics", "diff", "--format", "table", env=env)
    assert "metric definitions at HEAD" in ok.stdout
    bad = run_cli("metrics", "diff", "no-such-revision", env=env, check=False)
    assert bad.returncode == 1 and "no-such-revision" in bad.stderr
