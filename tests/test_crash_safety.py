"""A sync killed with SIGKILL anywhere from start to publish leaves CURRENT on a complete snapshot, and the next
sync recovers without a hand.

The scene: four sources (a GBK order export with three unreadable amounts, two CSV dimension files and a rep
roster in an Excel workbook) synced once (version 1); then every file changes (version 2) and
`python -m sources sync` is killed — at named points of the write path (`COCKPIT_CRASH_AT`, see
`sources.publish.crash_point`) and at times spread across the measured length of an unkilled run. After each
kill, CURRENT must name a snapshot that opens read-only and holds exactly version 1 or exactly version 2 in every
table; then a plain `sources sync` must publish version 2, leave no temporary file, finish or mark interrupted
every run the dead process left 'running', and keep the accounting and rejected rows of the load it published.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import xlsxwriter
import yaml

from core.appstate import AppState
from sources.__main__ import main as sources_main
from sources.sync import writer_lock
from tests.conftest import ROOT

TABLES = ("orders", "products", "customers", "reps")
# Named points, in the order a sync passes them (sources are loaded in configuration order).
CRASH_POINTS = (
    "after_staging_commit:orders",  # one source staged, three not yet
    "before_staging_commit:customers",  # inside the staging transaction
    "sources_loaded",  # everything staged, nothing published
    "snapshot_tables_written",  # the snapshot's .tmp file half-done (not checkpointed)
    "snapshot_tmp_closed",  # the .tmp file complete, not renamed
    "snapshot_renamed",  # the snapshot in place, CURRENT not yet moved
    "current_tmp_written",  # CURRENT.tmp written, not yet moved over CURRENT
    "current_flipped",  # published; run records not yet written
    "runs_recorded",  # run records written; staging still says "publish me"
)
TIME_SAMPLES = 6


# ---- the exports ----------------------------------------------------------------------------------------
def _write_exports(folder: Path, version: int) -> dict:
    """Write the four exports of `version` and return what a complete snapshot of them holds."""
    folder.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(version)
    n_orders, n_products, n_customers, n_reps = (3000, 40, 300, 20) if version == 1 else (3200, 45, 320, 22)
    bad_lines = {101, 1502, 2903} if version == 2 else set()
    reps = [f"S{i:03d}" for i in range(1, n_reps + 1)]
    products = [f"P{i:03d}" for i in range(1, n_products + 1)]
    lines = ["订单编号,订单日期,客户编号,产品编码,业务员,金额,数量"]
    amount_total = 0.0
    for i in range(n_orders):
        amount = rnd.randint(100, 9999) + 0.5
        line = len(lines) + 1
        cell = "abc" if line in bad_lines else f"{amount:.2f}"
        if line not in bad_lines:
            amount_total += amount
        lines.append(
            f"SO{i:06d},2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d},C{rnd.randint(1, n_customers):04d},"
            f"{rnd.choice(products)},{rnd.choice(reps)},{cell},{rnd.randint(1, 5)}"
        )
    (folder / "orders.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    (folder / "products.csv").write_text(
        "product id,product name,category,unit cost\n"
        + "".join(f"{p},Product {p} v{version},Cat{i % 5},{10 + i}\n" for i, p in enumerate(products)),
        encoding="utf-8",
    )
    (folder / "customers.csv").write_text(
        "customer id,customer name,segment\n"
        + "".join(f"C{i:04d},Customer {i},Seg{i % 3}\n" for i in range(1, n_customers + 1)),
        encoding="utf-8",
    )
    workbook = xlsxwriter.Workbook(str(folder / "reps.xlsx"))
    sheet = workbook.add_worksheet("花名册")
    sheet.write_row(0, 0, ["rep id", "rep name", "team", "region"])
    for i, rep in enumerate(reps, start=1):
        sheet.write_row(i, 0, [rep, f"Rep {rep}", f"T{i % 4}", f"R{i % 2}"])
    workbook.close()
    return {
        "orders": n_orders - len(bad_lines),
        "products": n_products,
        "customers": n_customers,
        "reps": n_reps,
        "amount": round(amount_total, 2),
        "rejected": len(bad_lines),
    }


def _config(path: Path) -> Path:
    exports = "${COCKPIT_DATA_DIR}/exports"
    sources = [
        {"name": "orders", "entity": "orders", "path": f"{exports}/orders.csv"},
        {"name": "products", "entity": "products", "path": f"{exports}/products.csv"},
        {"name": "customers", "entity": "customers", "path": f"{exports}/customers.csv"},
        {"name": "roster", "entity": "reps", "path": f"{exports}/reps.xlsx", "sheet": "花名册"},
    ]
    for source in sources:
        source["schedule"] = "manual"
    path.write_text(
        yaml.safe_dump({"business": {"timezone": "Asia/Shanghai"}, "sources": sources}, allow_unicode=True),
        encoding="utf-8",
    )
    return path


def _env(config: Path, data_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_CRASH")}
    return {**env, "COCKPIT_CONFIG": str(config), "COCKPIT_DATA_DIR": str(data_dir), **extra}


def _sync(env: dict, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sources", "sync", "--format", "json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


# ---- what a complete snapshot holds -------------------------------------------------------------------
def _snapshot_contents(data_dir: Path) -> dict:
    current = (data_dir / "CURRENT").read_text(encoding="utf-8").strip()
    con = duckdb.connect(str(data_dir / "snapshots" / f"{current}.duckdb"), read_only=True)
    try:
        found = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}
        found["amount"] = round(con.execute("SELECT sum(amount_local) FROM orders").fetchall()[0][0], 2)
        stale = con.execute("SELECT name FROM _sources WHERE stale").fetchall()
    finally:
        con.close()
    assert stale == [], f"a complete sync marks no source stale: {stale}"
    return found


def _expected(version: dict) -> dict:
    return {k: version[k] for k in (*TABLES, "amount")}


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> dict:
    """Version 1 synced in a template data directory; version 2's exports written beside it."""
    root = tmp_path_factory.mktemp("crash")
    config = _config(root / "crash.yml")
    template = root / "template"
    v1 = _write_exports(template / "exports", 1)
    v2 = _write_exports(root / "exports-v2", 2)
    first = _sync(_env(config, template))
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert _snapshot_contents(template) == _expected(v1)
    return {"root": root, "config": config, "template": template, "v1": v1, "v2": v2, "n": 0}


def _fresh(scene: dict) -> Path:
    """A copy of the version-1 data directory whose exports are already version 2."""
    scene["n"] += 1
    data_dir = scene["root"] / f"run-{scene['n']}"
    shutil.copytree(scene["template"], data_dir)
    shutil.rmtree(data_dir / "exports")
    shutil.copytree(scene["root"] / "exports-v2", data_dir / "exports")
    return data_dir


def _check_after_kill_and_recover(scene: dict, data_dir: Path, where: str, monkeypatch, capsys) -> None:
    v1, v2 = _expected(scene["v1"]), _expected(scene["v2"])
    after_kill = _snapshot_contents(data_dir)
    assert after_kill in (v1, v2), f"killed at {where}: CURRENT holds a partial snapshot {after_kill}"
    named_after_kill = (data_dir / "CURRENT").read_text(encoding="utf-8").strip()
    template_snapshots = {p.name for p in (scene["template"] / "snapshots").glob("*.duckdb")}

    # The next sync, with no hand: it publishes version 2 and cleans up. (It runs the command's own entry point
    # in this process — a new process would only add a second of interpreter start to every sample.)
    monkeypatch.setenv("COCKPIT_CONFIG", str(scene["config"]))
    monkeypatch.setenv("COCKPIT_DATA_DIR", str(data_dir))
    capsys.readouterr()
    code = sources_main(["sync", "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, f"killed at {where}; the next sync failed: {out.err}\n{out.out}"
    assert _snapshot_contents(data_dir) == v2, f"killed at {where}: the next sync did not publish version 2"
    current = (data_dir / "CURRENT").read_text(encoding="utf-8").strip()
    snapshots = data_dir / "snapshots"
    assert not list(snapshots.glob("*.tmp*")) and not (data_dir / "CURRENT.tmp").exists(), where
    left = {p.name for p in snapshots.glob("*.duckdb")}
    assert left <= template_snapshots | {f"{named_after_kill}.duckdb", f"{current}.duckdb"}, (
        f"killed at {where}: a snapshot CURRENT never named was left behind: {left}"
    )

    state = AppState(data_dir)
    runs = state.runs(limit=100)
    assert not [r for r in runs if r["status"] == "running"], f"killed at {where}: runs left 'running'"
    for run in runs:
        if run["status"] == "failed":
            assert run["error"].startswith("interrupted"), run
    # Nothing lost: the load now published has its accounting and its rejected rows.
    for source, table in (
        ("orders", "orders"),
        ("products", "products"),
        ("customers", "customers"),
        ("roster", "reps"),
    ):
        live = state.last_published(source)
        assert live is not None and live["snapshot_id"] == current, (where, source, live)
        assert live["rows_loaded"] == scene["v2"][table], (where, source)
        assert live["rows_read"] == (
            live["rows_loaded"] + live["rows_rejected"] + live["rows_superseded"] + live["rows_skipped"]
        )
    orders_run = state.last_published("orders")
    assert orders_run["rows_rejected"] == scene["v2"]["rejected"] == state.count_rejects(orders_run["id"]), where
    assert sorted(r["line"] for r in state.rejects(orders_run["id"])) == [101, 1502, 2903]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_sync_killed_at_a_named_point_leaves_current_complete_and_the_next_sync_recovers(
    scene, point, monkeypatch, capsys
):
    data_dir = _fresh(scene)
    proc = _sync(_env(scene["config"], data_dir, COCKPIT_CRASH_AT=point))
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, f"the sync never reached {point}"
    _check_after_kill_and_recover(scene, data_dir, point, monkeypatch, capsys)


@pytest.fixture(scope="module")
def timeline(scene) -> float:
    """The measured length of an unkilled version-1 → version-2 sync's write path: from taking the writer lock
    to clearing staging's publish marker (the process then only exits)."""
    data_dir = _fresh(scene)
    trace = data_dir.parent / f"{data_dir.name}.trace"
    proc = _sync(_env(scene["config"], data_dir, COCKPIT_CRASH_TRACE=str(trace)))
    proc.communicate(timeout=120)
    assert proc.returncode == 0
    points = {label: float(t) for t, label in (ln.split(" ", 1) for ln in trace.read_text().splitlines())}
    return points["staging_cleared"] - points["lock_acquired"]


@pytest.mark.parametrize("sample", range(TIME_SAMPLES))
def test_sync_killed_at_a_sampled_time_leaves_current_complete_and_the_next_sync_recovers(
    scene, timeline, sample, monkeypatch, capsys
):
    # Offsets spread evenly over the run, counted from the moment this run takes the writer lock.
    offset = timeline * (sample + 0.5) / TIME_SAMPLES
    data_dir = _fresh(scene)
    trace = data_dir.parent / f"{data_dir.name}.trace"
    proc = _sync(_env(scene["config"], data_dir, COCKPIT_CRASH_TRACE=str(trace)))
    started = None
    while proc.poll() is None and started is None:
        lines = trace.read_text().splitlines() if trace.exists() else []
        started = float(lines[0].split()[0]) if lines else None
        time.sleep(0.005)
    while proc.poll() is None and time.time() < started + offset:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    passed = trace.read_text().splitlines()[-1].split(" ", 1)[1]
    where = f"{offset:.2f}s after the lock (last point passed: {passed}, exit {proc.returncode})"
    with capsys.disabled():
        print(f"\n  killed {where}", end="")
    _check_after_kill_and_recover(scene, data_dir, where, monkeypatch, capsys)


def test_second_sync_waits_for_the_first_and_says_so(scene):
    data_dir = _fresh(scene)
    env = _env(scene["config"], data_dir)
    with writer_lock(data_dir):  # the first writer: holds the lock exactly as a running sync does
        second = _sync(env)
        said = ""
        while "waiting" not in said and second.poll() is None:
            said += second.stderr.readline()
        assert second.poll() is None, "the second sync did not wait for the lock"
        assert f"another sync is writing to {data_dir}" in said and f"pid {os.getpid()}" in said
        assert not list((data_dir / "snapshots").glob("*.tmp*")), "the waiting sync must not write anything yet"
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0
    report = json.loads(out)
    assert {s["name"]: s["status"] for s in report["sources"]} == {
        "orders": "published",
        "products": "published",
        "customers": "published",
        "roster": "published",
    }
    assert _snapshot_contents(data_dir) == _expected(scene["v2"])
